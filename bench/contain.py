"""Containment (issue 15): what `contain` costs at start and in memory, and
what is left running when the supervisor itself is SIGKILLed.

The orphan workload is three services: a plain one, one with a grandchild
(`sh -c 'sleep & wait'`-style) and one that leaves a double-forked `setsid`
daemon behind. Every process announces its PID on the FIFO, so the harness
knows all of them (a daemon is re-parented away from the supervisor at once
when the supervisor is not a subreaper). After `kill -9` of the supervisor
the harness waits (pidfds, no polling) for every descendant it knew of to
exit: the time the last one went, or "never" when some are still there
after `cap` seconds (checked through /proc when the wait ends).
"""

import os
import signal
import subprocess
import time

import metrics
import procs
from peers import Uaol
from workload import Instance

KINDS = ("svc", "tree", "daemon")
EXTRA = {"tree": "g", "daemon": "d"}  # announced suffix of each kind's extra process


class UaolContain(Uaol):
    """uaol-supervisor with `[supervisor] contain` set explicitly."""

    def __init__(self, mode):
        self.mode = mode

    def prepare(self, wd, services):
        argv, env = super().prepare(wd, services)
        cfg = argv[2]
        with open(cfg) as f:
            text = f.read()
        with open(cfg, "w") as f:
            f.write(text.replace("[supervisor]\n", f'[supervisor]\ncontain = "{self.mode}"\n', 1))
        return argv, env


def check(sup, base):
    """(exit code, what `check` says about containment) for sup's settings."""
    wd = os.path.join(base, f"check-{sup.mode}")
    os.makedirs(wd, exist_ok=True)
    argv, env = sup.prepare(wd, [("s1", ["/bin/true"])])
    out = subprocess.run(argv[:-1] + ["check", "--no-probe"], capture_output=True, text=True,
                         env=dict(os.environ, **(env or {})), cwd=wd, timeout=30)
    text = (out.stdout + out.stderr).splitlines()
    said = [line.strip() for line in text if "contain" in line.lower()]
    return out.returncode, (said or text or [f"check: exit {out.returncode}"])[-1]


def mode_in_force(sup, base):
    return check(sup, base)[1]


def refused(mode, base):
    """Why `up` would refuse contain = mode here (exit 3 from `check`), or None:
    a refused mode is reported at once instead of waiting for the start timeout."""
    code, said = check(UaolContain(mode), base)
    return f"refused: {said}" if code else None


def start_rss(mode, base, n, timeout, settle):
    """metrics.start for uaol-supervisor with contain = mode."""
    why = refused(mode, base)
    if why:
        return {"error": why}
    res, inst = metrics.start(UaolContain(mode), n, base, timeout, settle)
    if inst:
        inst.stop()
    return res


def orphans(sup, base, timeout, cap=2.0, settle=0.3):
    """kill -9 of the supervisor → seconds until its last descendant is gone."""
    inst = Instance(sup, len(KINDS), KINDS, base)
    inst.n = len(KINDS) + len(EXTRA)  # launch() waits for every announcement
    try:
        if inst.launch(timeout) is None:
            return {"error": f"only {inst.started}/{inst.n} processes announced"}
        time.sleep(settle)
        inst.remember()
        root = inst.proc.pid
        tab = procs.table()
        pids = (set(procs.descendants(root, tab)) | set(inst.pids.values())) - {root}
        pids = [p for p in pids if p in tab and tab[p][1] not in ("Z", "X")]
        secs, left = procs.wait_gone(pids, cap, trigger=lambda: os.kill(root, signal.SIGKILL))
        left = [p for p in left if procs.alive(p)]  # /proc has the last word
        if not left:
            return {"orphan_s": secs, "orphan_procs": len(pids)}
        return {"orphan_s": None, "orphan_left": len(left), "orphan_procs": len(pids),
                "error": f"never ({len(left)} of {len(pids)} left after {cap:g} s)"}
    finally:
        inst.stop()
