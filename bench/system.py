"""The phase for issues 13-15, run once per run after the behaviour phase:
followers (latency, relay with a follower, idle followers), reload of one
service out of N, containment on/off and kill -9 of the supervisor itself.
A mixin of bench.Run: it uses its cfg, tools, base, rec() and sweep()."""

import time

import contain
import follow
import reload
from harness import fmt_brief, guarded, log


class SystemPhase:
    def watched_up(self, run, order, n, insts):
        """A second uaol `up` with N services and the three followers of issue 13
        attached (`logs -f`, `events`, `status --watch`), idle in the same window."""
        u = next((s for s in order if s.key == "uaol"), None)
        if u is None:
            return []
        res, inst = self.try_start(u, n)
        if not inst or res.get("start_s") is None:
            self.rec(run, "uaol", "idle_f3", {"error": res.get("error", "did not start")})
            inst.stop() if inst else None
            return []
        insts["uaol+watchers"] = inst
        watchers = follow.attach_watchers(inst)
        time.sleep(self.cfg["settle"])  # connected, first status printed
        return watchers

    def system_phase(self, run, order):
        """Issues 13-15: followers, reload, containment."""
        keys = {s.key: s for s in order}
        if "uaol" in keys:
            self.control_rows(run, keys["uaol"])
            self.reload_rows(run, "uaol", keys["uaol"], reload.UaolEdit)
            self.contain_rows(run)
        if "supervisord" in keys:
            sd = reload.SupervisordCtl()
            ok, why = sd.available()
            if ok:
                self.reload_rows(run, "supervisord", sd, reload.SupervisordEdit)
                self.peer_follow(run, "supervisord", follow.SupervisordFollow())
            else:
                self.rec(run, "supervisord", "reload", {"error": why})
        for s in order:
            if s.key not in ("floor", "uaol", "uaol-old"):
                res = guarded(f"{s.key} orphans", contain.orphans, s, self.base,
                              self.cfg["start_timeout"], self.cfg["orphan_cap"])
                self.rec(run, s, "orphans", res)
                log(f"{s.key} kill -9 of the supervisor: {fmt_brief(res)}")
            self.sweep(f"{s.key} system")

    def peer_follow(self, run, key, sup):
        c = self.cfg
        res = guarded(f"{key} follow", follow.follow_latency, sup, self.base, c["follow_lines"],
                      c["follow_us"], self.tools, c["start_timeout"])
        self.rec(run, key, "follow", res)
        log(f"{key} follow latency: {fmt_brief(res)}")
        self.sweep(f"{key} follow")

    def control_rows(self, run, u):
        c, t, base = self.cfg, self.tools, self.base
        lines, us = c["follow_lines"], c["follow_us"]
        for key, fn, args in (("uaol", follow.follow_latency, (u, base, lines, us, t, c["start_timeout"])),
                              ("tail", follow.tail_latency, (base, lines, us, t)),
                              ("pipe", follow.pipe_latency, (lines, us, t))):
            res = guarded(f"{key} follow", fn, *args)
            self.rec(run, key, "follow", res)
            log(f"{key} follow latency: {fmt_brief(res)}")
        size = c["log_mib"] * 2**20
        for f in ((0, 1) if run % 2 == 0 else (1, 0)):  # alternate which goes first
            res = guarded(f"uaol relay {f}f", follow.relay, u, base, size, c["log_cap"], t,
                          c["start_timeout"], f)
            self.rec(run, "uaol", f"relay_f{f}", res)
            log(f"uaol relay with {f} follower(s): {fmt_brief(res)}")
        self.sweep("follow")

    def reload_rows(self, run, key, sup, editor):
        c = self.cfg
        res = guarded(f"{key} reload", reload.reload_one, sup, editor, self.base, c["ns"][1],
                      c["reload_samples"], c["start_timeout"])
        self.rec(run, key, "reload", res)
        log(f"{key} reload 1 of {c['ns'][1]}: {fmt_brief(res)}")
        self.sweep(f"{key} reload")

    def contain_rows(self, run):
        c, n = self.cfg, self.cfg["ns"][1]
        for mode in ("pidns", "none"):
            res = guarded(f"uaol contain={mode} start", contain.start_rss, mode, self.base, n,
                          c["start_timeout"], c["settle"])
            self.rec(run, "uaol", f"start_{mode}", res)
            log(f"uaol contain={mode} N={n}: {fmt_brief(res)}")
            why = contain.refused(mode, self.base)
            res = {"error": why} if why else guarded(
                f"uaol contain={mode} orphans", contain.orphans, contain.UaolContain(mode),
                self.base, c["start_timeout"], c["orphan_cap"])
            self.rec(run, "uaol", "orphans" if mode == "pidns" else "orphans_none", res)
            log(f"uaol contain={mode} kill -9 of up: {fmt_brief(res)}")
        self.sweep("contain")
