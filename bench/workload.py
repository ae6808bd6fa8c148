"""A running supervisor under test: its work dir, its FIFO, its processes.

Services announce themselves by writing "NAME PID" to the instance's FIFO
(one short write, atomic) and then `exec sleep`, so the announced PID is the
service process itself (as seen from the harness, also from inside a PID
namespace). The harness reads the FIFO with select(): the time
a line arrives is the time the service was running.
"""

import os
import select
import shutil
import subprocess
import tempfile
import time

import procs

# The PID as the harness sees it: `$$` is the PID inside a supervisor's PID
# namespace (uaol-supervisor's `contain`), but /proc/self, opened by the
# shell itself (`read` is a builtin), names the process in /proc's namespace.
ME = 'read -r pid _ < /proc/self/stat\n'
SCRIPTS = {
    "svc": '#!/bin/sh\n' + ME + 'echo "$1 $pid" > "$2"\nexec sleep 2147483647\n',
    "crash": '#!/bin/sh\n' + ME + 'echo "$1 $pid" > "$2"\nexit 1\n',
    "log": '#!/bin/sh\n' + ME + 'echo "$1 $pid" > "$2"\n"$3" "$4"\nexec sleep 2147483647\n',
    # Announces, prints "bench-gate", waits for a line on the gate FIFO ($3), then
    # runs the rest of its arguments: followers are attached before the output starts.
    "gated": '#!/bin/sh\n' + ME + 'echo "$1 $pid" > "$2"\necho bench-gate\nread -r _ < "$3"\n'
             'shift 3\n"$@"\nexec sleep 2147483647\n',
    # A grandchild (`sh -c 'sleep & wait'`): announced as NAMEg.
    "tree": '#!/bin/sh\n' + ME + 'sh -c \'' + ME.strip() + '; echo "$1g $pid" > "$2"; '
            'exec sleep 2147483647\' sh "$1" "$2" &\necho "$1 $pid" > "$2"\nwait\n',
    # A double-forked `setsid` daemon: announced as NAMEd, then the service sleeps.
    "daemon": '#!/bin/sh\n' + ME + '( setsid sh -c \'' + ME.strip() + '; echo "$1d $pid" > "$2"; '
              'exec sleep 2147483647\' sh "$1" "$2" </dev/null >/dev/null 2>&1 & )\n'
              'echo "$1 $pid" > "$2"\nexec sleep 2147483647\n',
}


class Fifo:
    def __init__(self, path):
        os.mkfifo(path)
        self.path = path
        # O_RDWR: never sees EOF when the last writer closes.
        self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        self.buf = b""
        self.events = []  # (monotonic time, name, pid)

    def pump(self, timeout):
        """Read what arrives within timeout; return the new events."""
        new = []
        r, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not r:
            return new
        t = time.monotonic()
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self.buf += chunk
        *lines, self.buf = self.buf.split(b"\n")
        for line in lines:
            parts = line.split()
            if len(parts) == 2:
                new.append((t, parts[0].decode(), int(parts[1])))
        self.events.extend(new)
        return new

    def wait(self, pred, timeout):
        """Pump until pred(new_events) is true; returns True, or False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if pred(self.pump(min(left, 0.5))):
                return True

    def close(self):
        os.close(self.fd)


class Instance:
    """One supervisor process (plus everything it starts) on one workload."""

    def __init__(self, sup, n, kind, base, extra=(), stdout=None):
        """kind: a SCRIPTS key, or a tuple of them given to the services in turn."""
        self.sup, self.n = sup, n
        kinds = kind if isinstance(kind, tuple) else (kind,)
        self.wd = tempfile.mkdtemp(prefix=f"{sup.key}-{'+'.join(kinds)}-{n}-", dir=base)
        scripts = []
        for k in kinds:
            scripts.append(os.path.join(self.wd, f"{k}.sh"))
            with open(scripts[-1], "w") as f:
                f.write(SCRIPTS[k])
            os.chmod(scripts[-1], 0o755)
        self.fifo = Fifo(os.path.join(self.wd, "announce"))
        self.names = [f"s{i}" for i in range(1, n + 1)]
        services = [(nm, [scripts[i % len(scripts)], nm, self.fifo.path, *extra])
                    for i, nm in enumerate(self.names)]
        self.argv, env = sup.prepare(self.wd, services)
        self.env = dict(os.environ, **(env or {}))
        self.stdout = stdout
        self.pids = {}   # name -> latest announced pid
        self.marks = []  # (pid, starttime) of everything ever seen, for cleanup
        self.proc = None

    def launch(self, timeout):
        """Start the supervisor; return seconds until all N announced (or None)."""
        err = open(os.path.join(self.wd, "supervisor.stderr"), "wb")
        out = self.stdout if self.stdout is not None else subprocess.DEVNULL
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=err, env=self.env, cwd=self.wd,
                                     start_new_session=True)
        err.close()
        self.marks += procs.mark([self.proc.pid])
        seen = set()
        self.last_t = t0

        def all_up(new):
            for t, name, pid in new:
                self.pids[name] = pid
                seen.add(name)
                self.last_t = t
            return len(seen) >= self.n

        ok = self.fifo.wait(all_up, timeout)
        self.remember()
        self.started = len(seen)
        return (self.last_t - t0) if ok else None

    def remember(self):
        """Mark every current process of this instance for cleanup."""
        if self.proc is None:
            return
        tab = procs.table()
        self.marks += procs.mark(procs.descendants(self.proc.pid, tab), tab)
        self.marks += procs.mark(self.pids.values(), tab)

    def supervisor_pids(self):
        """The supervisor's own processes: the tree minus the services."""
        if self.proc is None:
            return []
        children = set(self.pids.values())
        return [p for p in procs.descendants(self.proc.pid) if p not in children]

    def memory(self):
        rss, pss, n = procs.memory(self.supervisor_pids())
        return {"rss_mib": rss / 1024, "pss_mib": pss / 1024, "procs": n}

    def children(self):
        return [p for p in self.pids.values() if procs.alive(p)]

    def stop(self):
        """SIGKILL everything this instance ever started; True when none is left."""
        self.remember()
        sessions = {self.proc.pid} if self.proc else set()
        left = procs.kill_all(self.marks, sessions)
        self.fifo.close()
        shutil.rmtree(self.wd, ignore_errors=True)
        return not left
