"""Process accounting from /proc: who belongs to whom, memory, CPU, cleanup.

The harness makes itself a child subreaper, so every process any supervisor
starts (daemonised or orphaned ones included) stays a descendant of the
harness; a sweep of the harness's descendants therefore finds everything.
PIDs are remembered together with their start time, so a recycled PID is
never mistaken for (or killed as) one of ours.
"""

import ctypes
import os
import select
import signal
import time

PR_SET_CHILD_SUBREAPER = 36
CLK_TCK = os.sysconf("SC_CLK_TCK")


def become_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    # Orphans re-parented to us must not linger as zombies.
    signal.signal(signal.SIGCHLD, lambda *_: reap())


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def stat(pid):
    """(ppid, state, starttime, utime+stime ticks, session) of pid, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    rest = raw[raw.rindex(b")") + 2:].split()
    # fields after comm: state(3) ppid(4) pgrp(5) session(6) ... utime(14) stime(15)
    # ... starttime(22)
    return (int(rest[1]), rest[0].decode(), int(rest[19]), int(rest[11]) + int(rest[12]),
            int(rest[3]))


def table():
    """{pid: (ppid, state, starttime, ticks)} for every process."""
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = stat(int(name))
            if st:
                out[int(name)] = st
    return out


def children_map(tab):
    kids = {}
    for pid, st in tab.items():
        kids.setdefault(st[0], []).append(pid)
    return kids


def descendants(root, tab=None, kids=None):
    """PIDs of root and everything below it (root included when alive)."""
    tab = tab if tab is not None else table()
    kids = kids if kids is not None else children_map(tab)
    out, todo = [], [root] if root in tab else []
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def alive(pid, starttime=None):
    st = stat(pid)
    if st is None or st[1] in ("Z", "X"):
        return False
    return starttime is None or st[2] == starttime


def memory(pids):
    """(rss_kib, pss_kib, count) summed from smaps_rollup over pids."""
    rss = pss = n = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                text = f.read()
        except OSError:
            continue
        got = False
        for line in text.splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1])
                got = True
            elif line.startswith("Pss:"):
                pss += int(line.split()[1])
        n += got
    return rss, pss, n


def cpu_ticks(pids):
    """{pid: (starttime, utime+stime ticks)} for the live ones."""
    out = {}
    for pid in pids:
        st = stat(pid)
        if st:
            out[pid] = (st[2], st[3])
    return out


def cpu_delta_ms(before, after):
    """CPU used between two cpu_ticks() snapshots, in ms (new PIDs from 0)."""
    ticks = 0
    for pid, (start, t) in after.items():
        prev = before.get(pid)
        ticks += t - (prev[1] if prev and prev[0] == start else 0)
    return ticks * 1000 / CLK_TCK


def pidfd(pid):
    try:
        return os.pidfd_open(pid)
    except OSError:
        return None


def wait_gone(pids, timeout, root=None, stall=None, trigger=None):
    """Call trigger(), then wait until every pid has exited (event driven, via
    pidfds opened before the trigger, so none can be missed or reaped first).

    Returns (seconds, remaining). With root and stall: give up early once the
    root has exited and nothing else died for `stall` seconds (nobody is left
    to stop the rest: "never")."""
    fds = {}
    for pid in pids:
        fd = pidfd(pid)
        if fd is not None:
            fds[fd] = pid
    root_fd = pidfd(root) if root else None
    t0 = time.monotonic()
    if trigger:
        trigger()
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    if root_fd is not None:
        poller.register(root_fd, select.POLLIN)
    root_gone, last = root is not None and root_fd is None, t0
    try:
        while fds:
            now = time.monotonic()
            if now - t0 > timeout:
                break
            if root_gone and stall and now - last > stall:
                break
            for fd, _ in poller.poll(50):
                poller.unregister(fd)
                if fd == root_fd:
                    root_gone = True
                else:
                    os.close(fd)
                    del fds[fd]
                    last = time.monotonic()
        done = time.monotonic()
        return (last - t0 if not fds else done - t0), sorted(fds.values())
    finally:
        for fd in fds:
            os.close(fd)
        if root_fd is not None:
            os.close(root_fd)


def kill_all(marks, sessions=(), timeout=10.0):
    """SIGKILL every (pid, starttime) still alive, their descendants and every
    member of `sessions` (a supervisor's orphans keep its session); repeat
    until none is left. Returns the PIDs that survived (should be none)."""
    deadline = time.monotonic() + timeout
    while True:
        tab = table()
        kids = children_map(tab)
        victims = {p for p, st in tab.items() if st[4] in sessions}
        for pid, start in set(marks):
            st = tab.get(pid)
            if st and st[2] == start and st[1] not in ("Z", "X") and pid not in victims:
                victims.update(descendants(pid, tab, kids))
        victims = {p for p in victims if tab[p][1] not in ("Z", "X")}
        if not victims or time.monotonic() > deadline:
            return sorted(victims)
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)
        reap()


def sweep(exclude=()):
    """Kill every live descendant of this harness except `exclude`; return
    how many were found (0 means nothing was left running)."""
    me = os.getpid()
    tab = table()
    found = [p for p in descendants(me, tab)
             if p != me and p not in exclude and tab[p][1] not in ("Z", "X")]
    if found:
        kill_all([(p, tab[p][2]) for p in found])
    reap()
    return len(found)


def mark(pids, tab=None):
    tab = tab if tab is not None else table()
    return [(p, tab[p][2]) for p in pids if p in tab]
