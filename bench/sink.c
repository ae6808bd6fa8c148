/* sink.c — log-relay meter: reads stdin, counts newlines between a line
 * containing BENCH-START and one containing BENCH-END, and prints one JSON
 * object to stdout:
 *   {"lines":L,"bytes":B,"seconds":S,"complete":true|false,"total":T,"lagged":G}
 * (T: every byte read, markers and prefixes included; G: how many times
 * "lagged" occurred — a `logs -f` client's lag marker, when it is the meter
 * of a follower's output.) On SIGUSR1 (harness timeout) it prints the
 * partial figures and exits. Keeps draining stdin after END so the writer
 * never blocks on it.
 *
 * Cheap on purpose: it is the far end of both the relay and the `cat`
 * reference, so its own CPU caps both. Newlines are counted 16 bytes at
 * a time, markers found with memchr on a byte the payload
 * never holds ('B', 'l') — not a look at every byte in C. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SIZE (1 << 20)
#define CARRY 16                       /* tail of the previous read, for markers */

static volatile sig_atomic_t stop;
static void on_usr1(int s) { (void)s; stop = 1; }
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Newlines in [p, end): 16 bytes per step (GCC/Clang vector extension:
 * SSE2/NEON compares), byte lanes summed before they can overflow. */
typedef unsigned char v16 __attribute__((vector_size(16)));
static long long newlines(const char *p, const char *end) {
    long long n = 0;
    while (end - p >= 16) {
        v16 acc = {0};
        for (int k = 0; k < 255 && end - p >= 16; k++, p += 16) {
            v16 v;
            memcpy(&v, p, 16);
            acc -= (v16)(v == '\n');  /* a match is all ones: -(-1) = +1 */
        }
        for (int i = 0; i < 16; i++) n += acc[i];
    }
    for (; p < end; p++) n += *p == '\n';
    return n;
}

/* First occurrence of marker in [p, end) (a whole match), found via its first byte. */
static char *find(char *p, char *end, const char *marker) {
    size_t len = strlen(marker);
    while (p < end && (p = memchr(p, marker[0], (size_t)(end - p))) != NULL) {
        if ((size_t)(end - p) >= len && memcmp(p, marker, len) == 0) return p;
        p++;
    }
    return NULL;
}

/* Lag markers ("lagged: N events dropped") that end in the fresh bytes
 * (one cut by a read is found once, in the read that completes it). */
static long long lag_markers(char *buf, char *fresh, char *end) {
    long long n = 0;
    for (char *p = buf; (p = find(p, end, "lagged")) != NULL; p++)
        if (p + 6 > fresh) n++;
    return n;
}

static void report(long long lines, long long bytes, double secs, int complete,
                   long long total, long long lagged) {
    printf("{\"lines\":%lld,\"bytes\":%lld,\"seconds\":%.6f,\"complete\":%s,"
           "\"total\":%lld,\"lagged\":%lld}\n",
           lines, bytes, secs, complete ? "true" : "false", total, lagged);
    fflush(stdout);
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;          /* no SA_RESTART: read() returns EINTR */
    sigaction(SIGUSR1, &sa, NULL);
    static char buf[SIZE + CARRY];
    size_t carry = 0;
    int started = 0, done = 0;
    long long lines = 0, bytes = 0, total = 0, lagged = 0;
    double t0 = 0;
    while (!stop) {
        ssize_t r = read(0, buf + carry, SIZE - carry);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        size_t len = carry + (size_t)r;
        char *fresh = buf + carry, *end = buf + len;
        if (!done) {
            total += r;
            lagged += lag_markers(buf, fresh, end);
        }
        char *from = fresh;            /* counting starts here */
        if (!started) {
            char *m = find(buf, end, "BENCH-START");
            if (m) {
                started = 1;
                t0 = now();
                from = m + 11;
            }
        }
        if (started && !done) {
            /* END may begin in the carry (cut by the previous read): search
             * it too, but never before START. */
            char *m = find(from < fresh ? from : buf, end, "BENCH-END");
            char *stop_at = m ? m : end;
            if (stop_at > from) {
                lines += newlines(from, stop_at);
                bytes += stop_at - from;
            } else {
                bytes -= from - stop_at;  /* counted in the previous read */
            }
            if (m) {
                done = 1;
                report(lines, bytes, now() - t0, 1, total, lagged);
            }
        }
        carry = len < CARRY ? len : CARRY;
        memmove(buf, buf + len - carry, carry);
    }
    if (!done) report(lines, bytes, started ? now() - t0 : 0.0, 0, total, lagged);
    return 0;
}
