"""/proc helpers for the soak: the supervisor's descendants, zombies, RSS,
and killing a process only if it is still one of ours (pidfd + env token),
so a recycled pid can never make the soak kill someone else's process."""

import os
import signal


def _read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return None


def stat(pid):
    """(state, ppid, pgid, starttime) of pid, or None when gone."""
    s = _read(f"/proc/{pid}/stat")
    if s is None:
        return None
    f = s[s.rindex(")") + 2 :].split()
    return f[0], int(f[1]), int(f[2]), int(f[19])


def children(pid):
    """Direct children of every thread of pid."""
    out = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for t in tasks:
        c = _read(f"/proc/{pid}/task/{t}/children")
        if c:
            out += [int(x) for x in c.split()]
    return out


def descendants(root):
    """{pid: (state, ppid, pgid, starttime)} of every descendant of root."""
    out, todo = {}, children(root)
    while todo:
        pid = todo.pop()
        st = stat(pid)
        if st is None or pid in out:
            continue
        out[pid] = st
        todo += children(pid)
    return out


def rss_kib(pid):
    s = _read(f"/proc/{pid}/status")
    for line in (s or "").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def has_token(pid, token):
    env = _read(f"/proc/{pid}/environ", "rb")
    return env is not None and f"SOAK_RUN={token}".encode() in env.split(b"\0")


def ours(token):
    """Every live (non-zombie) process carrying the run's token: a full /proc scan."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit() and has_token(int(d), token):
            st = stat(int(d))
            if st and st[0] != "Z":
                out.append(int(d))
    return out


def kill_ours(pid, token, sig=signal.SIGKILL):
    """SIGKILL pid only if it still carries token. True when signalled."""
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return False
    try:
        if not has_token(pid, token):
            return False
        signal.pidfd_send_signal(fd, sig)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
