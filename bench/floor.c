/* floor.c — the physical limit for a process supervisor on this machine.
 *
 * usage: floor N PROG [ARGS...]   ("{}" in ARGS becomes the service name s1..sN)
 *
 * Starts N children with fork/exec, restarts any child the instant it exits,
 * lets children write straight to the floor's own stdout (no relay, no prefix),
 * and on SIGTERM/SIGINT sends SIGTERM to every child, reaps them all and exits 0.
 * No config, no logging, no backoff, no allocation after start: whatever a real
 * supervisor costs above this is its own overhead. Signals are taken with
 * sigwaitinfo() on a blocked set, so there is no race and no polling.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t *pids;
static char **names;
static int n;
static char **argv_tmpl;
static int argc_tmpl;
static sigset_t blocked, orig;

static void spawn(int i) {
    pid_t pid = fork();
    if (pid < 0) { perror("floor: fork"); pids[i] = 0; return; }
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &orig, NULL);
        char *args[argc_tmpl + 1];
        for (int a = 0; a < argc_tmpl; a++)
            args[a] = strcmp(argv_tmpl[a], "{}") == 0 ? names[i] : argv_tmpl[a];
        args[argc_tmpl] = NULL;
        execvp(args[0], args);
        perror("floor: exec");
        _exit(127);
    }
    pids[i] = pid;
}

static int slot_of(pid_t pid) {
    for (int i = 0; i < n; i++)
        if (pids[i] == pid) return i;
    return -1;
}

static void stop_all(void) {
    int alive = 0;
    for (int i = 0; i < n; i++)
        if (pids[i] > 0 && kill(pids[i], SIGTERM) == 0) alive++;
    while (alive > 0) {
        pid_t pid = waitpid(-1, NULL, 0);
        if (pid < 0) break;
        int i = slot_of(pid);
        if (i >= 0) { pids[i] = 0; alive--; }
    }
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: floor N PROG [ARGS...]\n"); return 2; }
    n = atoi(argv[1]);
    if (n <= 0) { fprintf(stderr, "floor: N must be > 0\n"); return 2; }
    argv_tmpl = argv + 2;
    argc_tmpl = argc - 2;
    pids = calloc(n, sizeof *pids);
    names = calloc(n, sizeof *names);
    if (!pids || !names) return 1;
    for (int i = 0; i < n; i++) {
        names[i] = malloc(16);
        if (!names[i]) return 1;
        snprintf(names[i], 16, "s%d", i + 1);
    }
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGCHLD);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGINT);
    sigprocmask(SIG_BLOCK, &blocked, &orig);
    for (int i = 0; i < n; i++) spawn(i);
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&blocked, &si);
        if (sig == SIGTERM || sig == SIGINT) { stop_all(); return 0; }
        if (sig != SIGCHLD) continue;
        pid_t pid;
        while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
            int i = slot_of(pid);
            if (i >= 0) spawn(i);
        }
    }
}
