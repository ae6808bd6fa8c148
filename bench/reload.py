"""Changing one service of a running system (issue 14): a reload that changes
1 of N services against a plain restart of it, for uaol-supervisor
(`reload` / `restart`) and supervisord (`supervisorctl update` / `restart`).

The change is the same for both: the service's environment gets
BENCH_GEN=<k> in the supervisor's own config file. Times run from the
client's launch to (a) the replacement announcing itself on the FIFO and
(b) the client's exit (its answer); both clocks are read as the events
happen (one poll over the FIFO and the client's pidfd). The other N-1
services must keep their PIDs: no announcement of theirs, same process.
"""

import os
import select
import statistics
import subprocess
import time

import procs
from peers import Supervisord, real_python_script
from workload import Instance

TARGET = "s1"


class UaolEdit:
    """How uaol-supervisor changes and reloads one service."""

    def __init__(self, inst):
        self.inst, self.cfg = inst, os.path.join(inst.wd, "supervisor.toml")
        with open(self.cfg) as f:
            self.text = f.read()

    def change(self, k):
        head = f"[services.{TARGET}]\n"
        with open(self.cfg, "w") as f:
            f.write(self.text.replace(head, f'{head}env = {{ BENCH_GEN = "{k}" }}\n', 1))

    def argv(self, *args):
        return [self.inst.sup.path(), "-c", self.cfg, *args]

    def reload(self):
        return self.argv("reload")

    def restart(self):
        return self.argv("restart", TARGET)


class SupervisordCtl(Supervisord):
    """supervisord with the RPC socket supervisorctl needs (the table's
    supervisord column runs without it)."""

    def available(self):
        if not real_python_script("supervisorctl"):
            return False, "supervisorctl not installed"
        return super().available()

    def prepare(self, wd, services):
        argv, env = super().prepare(wd, services)
        sock = os.path.join(wd, "supervisor.sock")
        with open(argv[-1], "a") as f:
            f.write(f"\n[unix_http_server]\nfile={sock}\n\n[rpcinterface:supervisor]\n"
                    "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
                    f"[supervisorctl]\nserverurl=unix://{sock}\n")
        return argv, env


class SupervisordEdit:
    def __init__(self, inst):
        self.inst, self.conf = inst, os.path.join(inst.wd, "supervisord.conf")
        with open(self.conf) as f:
            self.text = f.read()
        self.ctl = real_python_script("supervisorctl")

    def change(self, k):
        head = f"[program:{TARGET}]\n"
        with open(self.conf, "w") as f:
            f.write(self.text.replace(head, f'{head}environment=BENCH_GEN="{k}"\n', 1))

    def reload(self):
        return [self.ctl, "-c", self.conf, "update"]

    def restart(self):
        return [self.ctl, "-c", self.conf, "restart", TARGET]


def timed(inst, argv, old, cap):
    """Run a client; seconds to TARGET's replacement announced and to the
    client's exit, read as they happen."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=inst.env, cwd=inst.wd)
    pfd = os.pidfd_open(p.pid)
    got = {}
    try:
        while ("run" not in got or "answer" not in got) and time.monotonic() - t0 < cap:
            fds = [inst.fifo.fd] + ([pfd] if "answer" not in got else [])
            r, _, _ = select.select(fds, [], [], 0.5)
            now = time.monotonic()
            if pfd in r:
                got["answer"] = now - t0
            if inst.fifo.fd in r:
                for _, name, pid in inst.fifo.pump(0):
                    inst.pids[name] = pid
                    if name == TARGET and pid != old:
                        got.setdefault("run", now - t0)
    finally:
        os.close(pfd)
        out = p.communicate()[0].decode(errors="replace").strip()
    if p.returncode != 0:
        raise RuntimeError(f"{os.path.basename(argv[0])} {argv[-1]}: exit {p.returncode}: "
                           + (out.splitlines() or ["no output"])[-1])
    if "run" not in got:
        raise RuntimeError(f"no replacement of {TARGET} within {cap:.0f} s")
    return got["run"], got.get("answer")


def kept(inst, since, original, tab):
    """How many of the other services kept their process (same PID, alive, not re-announced)."""
    again = {name for _, name, _ in inst.fifo.events[since:]}
    return sum(1 for name, (pid, start) in original.items()
               if name != TARGET and name not in again
               and tab.get(pid) and tab[pid][2] == start and tab[pid][1] not in ("Z", "X"))


def reload_one(sup, editor, base, n, samples, timeout, settle=0.5, cap=20.0):
    """N services up; `samples` reloads changing TARGET, then `samples` restarts of it."""
    inst = Instance(sup, n, "svc", base)
    try:
        if inst.launch(timeout) is None:
            return {"error": f"only {inst.started}/{n} started"}
        time.sleep(settle)
        inst.fifo.pump(0)
        tab = procs.table()
        original = {name: (pid, tab[pid][2]) for name, pid in inst.pids.items() if pid in tab}
        since = len(inst.fifo.events)
        ed = editor(inst)
        res = {}
        for what, argv in (("reload", ed.reload), ("restart", ed.restart)):
            runs, answers = [], []
            for k in range(samples):
                if what == "reload":
                    ed.change(k + 1)
                run, answer = timed(inst, argv(), inst.pids[TARGET], cap)
                runs.append(run)
                answers.append(answer)
                inst.remember()
                time.sleep(0.3)  # the replacement is past any "started too fast" window
            if what == "reload":
                res["kept"] = kept(inst, since, original, procs.table())
                res["others"] = len(original) - 1
            res[f"{what}_run_s"] = statistics.median(runs)
            res[f"{what}_answer_s"] = statistics.median(answers)
        return res
    finally:
        inst.stop()

