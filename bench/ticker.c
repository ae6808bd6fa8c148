/* ticker.c — follow-latency workload: writes COUNT lines
 * "TICK <seq> <CLOCK_MONOTONIC ns>\n" to stdout, one every INTERVAL_US
 * microseconds, each in one write(2), then "TICK-END\n". The reader subtracts
 * the timestamp from its own CLOCK_MONOTONIC on arrival (one clock for the
 * whole machine, so writer and reader need not be related).
 * usage: ticker COUNT INTERVAL_US */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int put(const char *p, size_t len) {
    while (len > 0) {
        ssize_t w = write(1, p, len);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        p += w; len -= (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    long count = atol(argv[1]);
    long interval_us = atol(argv[2]);
    struct timespec gap = { interval_us / 1000000, (interval_us % 1000000) * 1000 };
    char line[64];
    for (long i = 0; i < count; i++) {
        int len = snprintf(line, sizeof line, "TICK %ld %lld\n", i, now_ns());
        if (put(line, (size_t)len)) return 1;
        while (nanosleep(&gap, &gap) != 0 && errno == EINTR) {}
        gap.tv_sec = interval_us / 1000000;
        gap.tv_nsec = (interval_us % 1000000) * 1000;
    }
    return put("TICK-END\n", 9) ? 1 : 0;
}
