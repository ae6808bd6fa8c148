"""The measurements. Each returns plain numbers (seconds, MiB, ms, MB/s) or
None with a reason, and leaves nothing running: every Instance is stopped
in a finally block."""

import json
import os
import select
import signal
import statistics
import subprocess
import time

import procs
from workload import Instance


def start(sup, n, base, timeout, settle):
    """Launch N services; seconds to all running + supervisor memory.
    Returns (result, instance): the caller stops the instance."""
    inst = Instance(sup, n, "svc", base)
    try:
        secs = inst.launch(timeout)
    except Exception:
        inst.stop()
        raise
    res = {"start_s": secs, "started": inst.started}
    if secs is None:
        res["error"] = f"only {inst.started}/{n} running after {timeout:.0f} s"
        return res, inst
    time.sleep(settle)
    inst.remember()
    res.update(inst.memory())
    return res, inst


def after_restart(inst, settle, cap=5.0):
    """Memory again after one service was killed (SIGKILL) and its replacement
    announced: the supervisor has run its reap → respawn path once, so code it
    dropped after start (uaol-supervisor sheds its start-up pages) and needs
    when running is counted. Keys `*_restart_mib`; `restart_error` when no
    replacement came within cap s."""
    inst.fifo.pump(0)
    name = inst.names[0]
    old = inst.pids[name]
    inst.marks += procs.mark([old])
    os.kill(old, signal.SIGKILL)

    def replaced(new):
        for _, nm, pid in new:
            inst.pids[nm] = pid
        return inst.pids[name] != old

    if not inst.fifo.wait(replaced, cap):
        return {"restart_error": f"no replacement within {cap:.0f} s"}
    time.sleep(settle)
    inst.remember()
    mem = inst.memory()
    return {k.replace("_mib", "_restart_mib"): v for k, v in mem.items() if k.endswith("_mib")}


def idle_cpu(insts, window):
    """utime+stime (ms) of each instance's supervisor processes over window s."""
    before = {k: procs.cpu_ticks(i.supervisor_pids()) for k, i in insts.items()}
    time.sleep(window)
    return {k: procs.cpu_delta_ms(before[k], procs.cpu_ticks(i.supervisor_pids()))
            for k, i in insts.items()}


def sigterm(inst, cap, stall=3.0):
    """SIGTERM to the supervisor → every service process gone (seconds).
    None when some are still alive at the cap, or when the supervisor exited
    and left them running ("never")."""
    kids = inst.children()
    inst.remember()
    secs, left = procs.wait_gone(kids, cap, root=inst.proc.pid, stall=stall,
                                 trigger=lambda: os.kill(inst.proc.pid, signal.SIGTERM))
    if not left:
        return {"sigterm_s": secs}
    root_gone = not procs.alive(inst.proc.pid)
    why = "never (supervisor exited, children left running)" if root_gone else f"> {cap:.0f} s"
    return {"sigterm_s": None, "sigterm_left": len(left), "error": why}


def crash_loop(sup, base, window, timeout):
    """A service that exits 1 at once: median interval between its starts."""
    inst = Instance(sup, 1, "crash", base)
    try:
        if inst.launch(timeout) is None:
            return {"error": "never started"}
        deadline = time.monotonic() + window
        while time.monotonic() < deadline and len(inst.fifo.events) < 300:
            inst.fifo.pump(deadline - time.monotonic())
        ts = [t for t, _, _ in inst.fifo.events]
        gaps = [b - a for a, b in zip(ts, ts[1:])]
        if not gaps:
            return {"error": f"no restart within {window:.0f} s"}
        return {"crash_interval_s": statistics.median(gaps), "restarts": len(gaps)}
    finally:
        inst.stop()


def kill9(sup, base, samples, timeout, settle=1.2, cap=5.0):
    """SIGKILL a service that has been up > 1 s → its replacement announced.
    `samples` services, each killed once, one after the other."""
    inst = Instance(sup, samples, "svc", base)
    try:
        if inst.launch(timeout) is None:
            return {"error": f"only {inst.started}/{samples} started"}
        time.sleep(settle)
        inst.fifo.pump(0)
        times = []
        for name in inst.names:
            old = inst.pids[name]
            inst.marks += procs.mark([old])
            t0 = time.monotonic()
            os.kill(old, signal.SIGKILL)
            got = {}

            def replaced(new):
                for t, nm, pid in new:
                    inst.pids[nm] = pid
                    if nm == name and pid != old:
                        got["t"] = t
                return "t" in got

            if not inst.fifo.wait(replaced, cap):
                return {"error": f"no replacement within {cap:.0f} s", "samples": times}
            times.append(got["t"] - t0)
            inst.remember()
        return {"kill9_s": statistics.median(times), "samples": times}
    finally:
        inst.stop()


def _sink_result(sink, cap):
    r, _, _ = select.select([sink.stdout], [], [], cap)
    if not r:
        sink.send_signal(signal.SIGUSR1)
    line = sink.stdout.readline()
    return json.loads(line) if line else None


def _rate(res, size):
    if not res or res["seconds"] <= 0:
        return {"error": "no output seen"}
    payload = max(0, res["lines"] - 1) * 100
    out = {"relay_mb_s": payload / 1e6 / res["seconds"], "relay_bytes": payload,
           "relay_complete": res["complete"]}
    if not res["complete"]:
        out["note"] = f"partial: {payload / 2**20:.0f} of {size / 2**20:.0f} MiB in {res['seconds']:.0f} s"
    return out


def log_relay(sup, base, size, cap, tools, timeout):
    """One service writes `size` bytes of 100-byte lines; MB/s of payload
    arriving at the far end of the supervisor's stdout pipe."""
    r, w = os.pipe()
    sink = subprocess.Popen([tools["sink"]], stdin=r, stdout=subprocess.PIPE)
    os.close(r)
    inst = Instance(sup, 1, "log", base, extra=(tools["lines"], str(size)), stdout=w)
    try:
        if inst.launch(timeout) is None:
            return {"error": "never started"}
        os.close(w)
        w = None
        out = _rate(_sink_result(sink, cap), size)
        out["mode"] = sup.log_mode
        return out
    finally:
        if w is not None:
            os.close(w)
        inst.stop()
        sink.kill()
        sink.wait()


def cat_relay(size, cap, tools):
    """Reference: the same writer | cat | the same sink."""
    gen = subprocess.Popen([tools["lines"], str(size)], stdout=subprocess.PIPE)
    cat = subprocess.Popen(["cat"], stdin=gen.stdout, stdout=subprocess.PIPE)
    sink = subprocess.Popen([tools["sink"]], stdin=cat.stdout, stdout=subprocess.PIPE)
    gen.stdout.close()
    cat.stdout.close()
    try:
        return _rate(_sink_result(sink, cap), size)
    finally:
        for p in (gen, cat, sink):
            p.kill()
            p.wait()
