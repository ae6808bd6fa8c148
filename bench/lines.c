/* lines.c — log-relay workload: writes "BENCH-START\n", then BYTES of
 * 100-byte lines (99 chars + '\n'), then "BENCH-END\n" to stdout, in 64 KiB
 * writes. usage: lines BYTES */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int put(const char *p, size_t len) {
    while (len > 0) {
        ssize_t w = write(1, p, len);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        p += w; len -= (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    long long total = atoll(argv[1]);
    static char buf[65500];            /* 655 whole lines */
    for (size_t i = 0; i < sizeof buf; i += 100) {
        memset(buf + i, 'x', 99);
        buf[i + 99] = '\n';
    }
    if (put("BENCH-START\n", 12)) return 1;
    while (total > 0) {
        size_t chunk = total < (long long)sizeof buf ? (size_t)total : sizeof buf;
        chunk -= chunk % 100;
        if (chunk == 0) break;
        if (put(buf, chunk)) return 1;
        total -= (long long)chunk;
    }
    return put("BENCH-END\n", 10) ? 1 : 0;
}
