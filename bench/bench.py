#!/usr/bin/env python3
"""uaol-supervisor vs its peers, in one run, on the same workloads.

Run through scripts/bench.sh (which installs the peers and builds the C
tools). Prints a markdown table of medians (min–max) over the runs and
writes the raw figures to bench/results/. See docs/performance.md.
"""

import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import contain  # noqa: E402
import follow  # noqa: E402
import metrics  # noqa: E402
import procs  # noqa: E402
import publish  # noqa: E402
import report  # noqa: E402
import system  # noqa: E402
from harness import fmt_brief, guarded, log  # noqa: E402
from peers import ALL, HERE  # noqa: E402

FULL = dict(runs=3, ns=[10, 200, 1000], idle=30.0, kill9=15, log_mib=200, log_cap=20.0,
            crash_window=4.0, sigterm_cap=30.0, start_timeout=120.0, settle=1.0, budget=1500.0,
            follow_lines=300, follow_us=10000, reload_samples=5, orphan_cap=2.0,
            restart_memory=True)
QUICK = dict(runs=1, ns=[10, 50, 100], idle=5.0, kill9=5, log_mib=20, log_cap=5.0,
             crash_window=2.0, sigterm_cap=10.0, start_timeout=30.0, settle=0.5, budget=600.0,
             follow_lines=100, follow_us=10000, reload_samples=3, orphan_cap=2.0,
             restart_memory=True)


class Run(system.SystemPhase):
    def __init__(self, cfg, sups, tools, base, end):
        self.cfg, self.sups, self.tools, self.base, self.end = cfg, sups, tools, base, end
        self.raw = []      # one dict per (run, sup, metric group)
        self.leftovers = 0

    def rec(self, run, sup, group, res):
        key = sup if isinstance(sup, str) else sup.key
        self.raw.append({"run": run, "sup": key, "group": group, **res})

    def sweep(self, phase):
        n = procs.sweep()
        if n:
            log(f"{phase}: swept {n} leftover process(es)")
        self.leftovers += n

    def try_start(self, s, n):
        try:
            return metrics.start(s, n, self.base, self.cfg["start_timeout"], self.cfg["settle"])
        except Exception as e:
            log(f"{s.key} start {n}: {type(e).__name__}: {e}")
            return {"error": f"{type(e).__name__}: {e}"}, None

    def start_phase(self, run, order, n):
        c = self.cfg
        for s in order:
            res, inst = self.try_start(s, n)
            if inst and s.restarts and n == c["ns"][0] and res.get("start_s") is not None:
                got = guarded(f"{s.key} restart memory", metrics.after_restart, inst, c["settle"])
                if "error" in got:
                    got = {"restart_error": got["error"]}
                res.update(got)
            self.rec(run, s, f"start{n}", res)
            log(f"{s.key} N={n}: {fmt_brief(res)}")
            if inst:
                inst.stop()
        self.sweep(f"start{n}")

    def idle_phase(self, run, order, n):
        """All supervisors up at once with N services: start, memory, a common
        idle window, then SIGTERM each in turn."""
        c, insts, watchers = self.cfg, {}, []
        try:
            for s in order:
                res, inst = self.try_start(s, n)
                self.rec(run, s, f"start{n}", res)
                log(f"{s.key} N={n}: {fmt_brief(res)}")
                if inst and res.get("start_s") is not None:
                    insts[s.key] = inst
                elif inst:
                    inst.stop()
            watchers = self.watched_up(run, order, n, insts)
            log(f"idle window {c['idle']:.0f} s over {len(insts)} supervisors")
            w_before = procs.cpu_ticks([w.pid for w in watchers])
            for k, ms in metrics.idle_cpu(insts, c["idle"]).items():
                if k == "uaol+watchers":
                    ms_w, alive = follow.watchers_cpu_ms(watchers, w_before)
                    self.rec(run, "uaol", "idle_f3", {"idle_cpu_ms": ms, "watchers_cpu_ms": ms_w,
                                                      "watchers_attached": alive})
                    log(f"uaol + 3 followers idle: up {ms:g} ms, followers {ms_w:g} ms, "
                        f"{alive}/3 attached")
                    continue
                self.raw.append({"run": run, "sup": k, "group": "idle", "idle_cpu_ms": ms})
            follow.stop_clients(watchers)
            watchers = []
            if "uaol+watchers" in insts:
                insts.pop("uaol+watchers").stop()
            for s in order:
                if s.key in insts:
                    res = guarded(f"{s.key} sigterm", metrics.sigterm, insts[s.key], c["sigterm_cap"])
                    self.rec(run, s, "sigterm", res)
                    log(f"{s.key} SIGTERM: {fmt_brief(res)}")
                    insts.pop(s.key).stop()
        finally:
            follow.stop_clients(watchers)
            for inst in insts.values():
                inst.stop()
        self.sweep("idle")

    def behaviour_phase(self, run, order):
        c, t = self.cfg, self.tools
        for s in order:
            if s.restarts:
                res = guarded(f"{s.key} crash", metrics.crash_loop, s, self.base,
                              c["crash_window"], c["start_timeout"])
                self.rec(run, s, "crash", res)
                log(f"{s.key} crash loop: {fmt_brief(res)}")
                res = guarded(f"{s.key} kill9", metrics.kill9, s, self.base, c["kill9"],
                              c["start_timeout"])
                self.rec(run, s, "kill9", res)
                log(f"{s.key} kill -9: {fmt_brief(res)}")
            size = c["log_mib"] * 2**20
            res = guarded(f"{s.key} log", metrics.log_relay, s, self.base, size,
                          c["log_cap"], t, c["start_timeout"])
            self.rec(run, s, "log", res)
            log(f"{s.key} log relay: {fmt_brief(res)}")
            self.sweep(f"{s.key} behaviour")
        res = guarded("cat", metrics.cat_relay, c["log_mib"] * 2**20, c["log_cap"], t)
        self.raw.append({"run": run, "sup": "cat", "group": "log", **res})
        log(f"cat: {fmt_brief(res)}")

    def go(self):
        """The runs; a run that would end past the time budget is not begun
        (the issue's whole command must finish within 30 minutes)."""
        ns, t_start = self.cfg["ns"], time.monotonic()
        self.runs_done = 0
        for run in range(self.cfg["runs"]):
            spent = time.monotonic() - t_start
            left = min(self.cfg["budget"] - spent, self.end - time.time())
            if run and spent / run > left:
                log(f"time budget: stopping after {run} run(s) ({spent:.0f} s spent)")
                break
            k = run % len(self.sups)
            order = self.sups[k:] + self.sups[:k]  # rotate: spread drift over peers
            log(f"== run {run + 1}/{self.cfg['runs']}, order: {' '.join(s.key for s in order)}")
            self.start_phase(run, order, ns[0])
            self.idle_phase(run, order, ns[1])
            self.start_phase(run, order, ns[2])
            self.behaviour_phase(run, order)
            self.system_phase(run, order)
            self.runs_done = run + 1


def commit():
    out = subprocess.run(["git", "-C", os.path.dirname(HERE), "describe", "--always", "--dirty"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="1 run, smaller N and sizes")
    ap.add_argument("--runs", type=int, help="override the number of runs")
    ap.add_argument("--only", help="comma-separated supervisor keys (floor,uaol,s6,...)")
    ap.add_argument("--tools", help="dir with the built floor, lines, sink")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--end", type=float,
                    help="wall-clock deadline (epoch s): no run is begun that would end after it")
    ap.add_argument("--probe-md", help="markdown from bench/probe.sh to append")
    ap.add_argument("--render", metavar="JSON", help="only re-render a raw results file")
    ap.add_argument("--write", nargs="?", const=publish.DEFAULT, metavar="FILE",
                    help="replace the block between <!-- bench:table:begin --> and "
                         f"<!-- bench:table:end --> in FILE (default {publish.DEFAULT}) "
                         "with the generated markdown")
    a = ap.parse_args()
    if a.write:
        try:
            publish.check(a.write)  # refuse now, not after the run
        except publish.NoMarkers as e:
            log(f"--write: {e}")
            return 2
    if a.render:
        with open(a.render) as f:
            md = report.render(json.load(f))
        print(md)
        return publish_to(a.write, md)
    cfg = dict(QUICK if a.quick else FULL)
    if a.runs:
        cfg["runs"] = a.runs
    tools = {k: os.path.join(os.path.abspath(a.tools), k)
             for k in ("floor", "lines", "sink", "ticker")}
    wanted = a.only.split(",") if a.only else None
    sups, missing = [], {}
    for s in ALL:
        if wanted and s.key not in wanted:
            continue
        ok, why = s.available()
        (sups.append(s) if ok else missing.__setitem__(s.key, why))
    for k, why in missing.items():
        log(f"{k}: {why}, its column says so")
    procs.become_subreaper()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up on TERM too
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    base = tempfile.mkdtemp(prefix="uaol-bench-", dir=shm)
    t0 = time.monotonic()
    env = report.machine()
    contain_auto = (guarded("contain auto", contain.mode_in_force, contain.UaolContain("auto"), base)
                    if any(s.key == "uaol" for s in sups) else None)
    contain_auto = contain_auto if isinstance(contain_auto, str) else None
    end = a.end if a.end else time.time() + cfg["budget"]
    run = Run(cfg, sups, tools, base, end)
    try:
        run.go()
    finally:
        left = procs.sweep()
        if left:
            log(f"final sweep: {left} process(es) were still running; killed")
        shutil.rmtree(base, ignore_errors=True)
    env["load_after"] = report.loadavg()
    env["duration_s"] = time.monotonic() - t0
    doc = {"when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "mode": "quick" if a.quick else "full", "config": cfg,
           "runs_done": getattr(run, "runs_done", 0), "machine": env,
           "supervisors": [s.key for s in sups], "missing": missing,
           "no_restarts": [s.key for s in sups if not s.restarts],
           "sizes": report.sizes(sups),
           "versions": {s.key: s.version() for s in sups}, "leftovers_swept": run.leftovers,
           "commit": commit(), "contain_auto": contain_auto,
           "left_running_at_end": left, "raw": run.raw}
    if a.probe_md and os.path.exists(a.probe_md):
        with open(a.probe_md) as f:
            doc["probe_md"] = f.read()
    md = report.render(doc)
    os.makedirs(a.out, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for name in (f"bench-{stamp}.json", "latest.json"):
        with open(os.path.join(a.out, name), "w") as f:
            json.dump(doc, f, indent=1)
    with open(os.path.join(a.out, "latest.md"), "w") as f:
        f.write(md)
    print(md)
    log(f"done in {env['duration_s']:.0f} s; raw: {a.out}/bench-{stamp}.json")
    return publish_to(a.write, md) or (1 if left else 0)


def publish_to(path, md):
    if not path:
        return 0
    try:
        publish.write(path, md)
    except (publish.NoMarkers, OSError) as e:
        log(f"--write: {e}")
        return 2
    log(f"--write: the table in {path} is replaced (between the bench:table markers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
