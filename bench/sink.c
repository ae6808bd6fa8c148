/* sink.c — log-relay meter: reads stdin, counts newlines between a line
 * containing BENCH-START and one containing BENCH-END, and prints one JSON
 * object to stdout: {"lines":L,"bytes":B,"seconds":S,"complete":true|false}.
 * On SIGUSR1 (harness timeout) it prints the partial figures and exits.
 * Keeps draining stdin after END so the writer never blocks on it. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_usr1(int s) { (void)s; stop = 1; }
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;          /* no SA_RESTART: read() returns EINTR */
    sigaction(SIGUSR1, &sa, NULL);
    static char buf[1 << 20 | 16];
    size_t carry = 0;                  /* tail of the previous read, for markers */
    int started = 0, done = 0;
    long long lines = 0, bytes = 0;
    double t0 = 0, t1 = 0;
    while (!stop) {
        ssize_t r = read(0, buf + carry, (1 << 20) - carry);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        size_t len = carry + (size_t)r;
        if (!started) {
            char *m = memmem(buf, len, "BENCH-START", 11);
            if (m) {
                started = 1; t0 = now();
                char *rest = m + 11;
                for (char *p = rest; p < buf + len; p++) if (*p == '\n') lines++;
                bytes += buf + len - rest;
            }
        } else if (!done) {
            char *m = memmem(buf, len, "BENCH-END", 9);
            char *end = m ? m : buf + len;
            for (char *p = buf + carry; p < end; p++) if (*p == '\n') lines++;
            bytes += end - (buf + carry);
            if (m) {
                done = 1; t1 = now();
                printf("{\"lines\":%lld,\"bytes\":%lld,\"seconds\":%.6f,\"complete\":true}\n",
                       lines, bytes, t1 - t0);
                fflush(stdout);
            }
        }
        carry = len < 16 ? len : 16;
        memmove(buf, buf + len - carry, carry);
    }
    if (!done) {
        t1 = now();
        printf("{\"lines\":%lld,\"bytes\":%lld,\"seconds\":%.6f,\"complete\":false}\n",
               lines, bytes, started ? t1 - t0 : 0.0);
    }
    return 0;
}
