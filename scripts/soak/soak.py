#!/usr/bin/env python3
"""Chaos soak driver (scripts/soak.sh runs it): `up` with 50 services of mixed
behaviour while random children and grandchildren are SIGKILLed; samples
zombies and the supervisor's RSS; after a settle time checks every service's
state, stops the supervisor with SIGTERM, and checks that no process is left
and that every line a child wrote was printed exactly once. Prints a summary
table; exits 1 on any failed assertion."""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402
import lines  # noqa: E402
import procs  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--seconds", type=float, default=180)
    p.add_argument("--kill-interval", type=float, default=0.1)
    p.add_argument("--settle", type=float, default=8)
    p.add_argument("--rss-slack-kib", type=int, default=4096)
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    return p.parse_args()


class Soak:
    def __init__(self, a):
        self.a = a
        self.dir = tempfile.mkdtemp(prefix="uaol-soak-")
        self.token = f"{os.getpid()}-{random.getrandbits(48):x}"
        self.side = os.path.join(self.dir, "side")
        os.mkdir(self.side)
        self.cfg = os.path.join(self.dir, "supervisor.toml")
        self.sock = os.path.join(self.dir, "ctl.sock")
        with open(self.cfg, "w") as f:
            f.write(gen.config(os.path.join(HERE, "svc.sh"), self.side, self.token, self.sock))
        self.out = os.path.join(self.dir, "out.jsonl")
        self.err = os.path.join(self.dir, "err.txt")
        self.kills = {"leader": 0, "other": 0}
        self.rss = []  # (t, KiB)
        self.zombies_seen = 0
        self.zombies_persistent = []
        self.samples = 0
        self.failures = []
        self.facts = {}

    def fail(self, what):
        self.failures.append(what)

    def start(self):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NO_COLOR": "1", "RUST_LOG": "info"}
        self.proc = subprocess.Popen(
            [self.a.bin, "-c", self.cfg, "up"],
            stdout=open(self.out, "wb"),
            stderr=open(self.err, "wb"),
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        self.t0 = time.monotonic()

    def sample(self, prev_z):
        """Zombies and RSS. A zombie is normal for the moment between a death
        and its parent's wait; one still there in 3 samples (2 s) is a
        violation. Returns {(pid, start): (ppid, times seen)}."""
        self.samples += 1
        d = procs.descendants(self.proc.pid)
        z = {(p, st[3]): (st[1], prev_z.get((p, st[3]), (0, 0))[1] + 1) for p, st in d.items() if st[0] == "Z"}
        self.zombies_seen += sum(1 for _, n in z.values() if n == 1)
        for k, (ppid, n) in z.items():
            if n == 3:
                self.zombies_persistent.append((k[0], ppid))
        r = procs.rss_kib(self.proc.pid)
        if r:
            self.rss.append((time.monotonic() - self.t0, r))
        return z

    def kill_one(self):
        d = procs.descendants(self.proc.pid)
        live = [(p, st) for p, st in d.items() if st[0] != "Z"]
        if not live:
            return
        pid, st = random.choice(live)
        kind = "leader" if st[1] == self.proc.pid and st[2] == pid else "other"
        if procs.kill_ours(pid, self.token):
            self.kills[kind] += 1

    def chaos(self):
        end = self.t0 + max(self.a.seconds - self.a.settle, 1)
        next_sample, z = 0.0, {}
        while time.monotonic() < end and self.proc.poll() is None:
            now = time.monotonic()
            if now >= next_sample:
                z = self.sample(z)
                next_sample = now + 1.0
            if now - self.t0 > 2:  # let everything start once first
                self.kill_one()
            time.sleep(self.a.kill_interval)
        settle_end = self.t0 + self.a.seconds
        while time.monotonic() < settle_end and self.proc.poll() is None:
            z = self.sample(z)
            time.sleep(1.0)

    def status(self):
        """[{name, state, restarts, ...}] from `status --json`, or None."""
        try:
            r = subprocess.run(
                [self.a.bin, "-c", self.cfg, "status", "--json"],
                capture_output=True, timeout=20, env={"PATH": os.environ.get("PATH", "")},
            )
            v = json.loads(r.stdout)
            return v if isinstance(v, list) else None
        except (subprocess.TimeoutExpired, ValueError, OSError):
            return None

    def states(self):
        """{name: state}: from the control socket, else from the event log."""
        st = self.status()
        if st is not None:
            self.facts["state source"] = "status --json"
            self.facts["restarts"] = sum(s.get("restarts", 0) for s in st)
            return {s["name"]: s["state"] for s in st}
        self.facts["state source"] = "event log (no control socket)"
        return lines.states_from_log(self.out)

    def check_states(self):
        """Wait (bounded) until every service is in an accepted state."""
        want = {n: acc for n, _, acc, _ in gen.services()}
        deadline = time.monotonic() + 30
        while True:
            got = self.states()
            bad = {n: got.get(n, "?") for n, acc in want.items() if got.get(n) not in acc}
            if not bad or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        for n, s in sorted(bad.items()):
            self.fail(f"service {n} is {s}, expected {'/'.join(want[n])}")
        live = procs.descendants(self.proc.pid)
        leaders = {p for p, st in live.items() if st[1] == self.proc.pid and st[0] != "Z"}
        up = [n for n, m, _, _ in gen.services() if m in gen.RESTARTABLE]
        self.facts["services up at end"] = f"{len(up) - len([n for n in up if n in bad])}/{len(up)} restartable"
        self.facts["leaders alive"] = len(leaders)

    def stop(self):
        self.rss_end = procs.rss_kib(self.proc.pid)
        t = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.fail("supervisor did not exit within 60 s of SIGTERM")
            self.proc.kill()
            code = self.proc.wait()
        self.facts["stop took"] = f"{time.monotonic() - t:.1f} s"
        self.facts["exit code"] = code
        if code != 8:
            self.fail(f"exit code {code}, expected 8 (crash-loopers failed)")
        left = procs.ours(self.token)
        time.sleep(1)
        left = sorted(set(left) | set(procs.ours(self.token)))
        self.facts["left after stop"] = len(left)
        for pid in left:
            cmd = (procs._read(f"/proc/{pid}/cmdline") or "").replace("\0", " ")
            self.fail(f"process {pid} ({cmd.strip()}) of a service survived the stop")

    def cleanup(self):
        if getattr(self, "proc", None) and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for pid in procs.ours(self.token):
            procs.kill_ours(pid, self.token)
        if not self.a.keep and not self.failures:
            shutil.rmtree(self.dir, ignore_errors=True)


def rss_checks(s):
    warm_t = max(10.0, s.a.seconds * 0.25)
    warm = [r for t, r in s.rss if t >= warm_t]
    if not warm or not s.rss_end:
        s.fail("no RSS samples after warm-up")
        return "?"
    w, end, peak = warm[0], s.rss_end, max(r for _, r in s.rss)
    bound = w + max(s.a.rss_slack_kib, w // 4)
    if end > bound:
        s.fail(f"RSS grew from {w} KiB after warm-up to {end} KiB (bound {bound} KiB)")
    mib = lambda k: f"{k / 1024:.1f}"  # noqa: E731
    trend = [s.rss[min(len(s.rss) - 1, len(s.rss) * q // 8)][1] for q in range(1, 8)]
    s.facts["rss by eighths"] = " ".join(mib(k) for k in trend) + " MiB"
    return f"{mib(w)} → {mib(end)} MiB (peak {mib(peak)}, bound {mib(bound)})"


def main():
    a = parse()
    s = Soak(a)
    try:
        s.start()
        s.chaos()
        if s.proc.poll() is not None:
            s.fail(f"supervisor exited early with {s.proc.returncode}")
        else:
            s.check_states()
            s.stop()
        if s.kills["leader"] == 0 or s.kills["other"] == 0:
            s.fail(f"too few kills {s.kills} (is /proc/PID/task/TID/children available?)")
        for p, ppid in s.zombies_persistent[:10]:
            s.fail(f"zombie {p} (parent {ppid}) persisted across samples")
        rss = rss_checks(s)
        res = lines.check(s.out, s.err, s.side)
        for f in res.failures:
            s.fail(f)
    finally:
        s.cleanup()
    if s.facts.get("restarts") is None:
        s.facts["restarts"] = res.restarts
    rows = [
        ("duration", f"{a.seconds:.0f} s ({a.settle:.0f} s settle), kill every {a.kill_interval} s"),
        ("services", len(gen.services())),
        ("kills", f"{s.kills['leader'] + s.kills['other']} ({s.kills['leader']} leaders, {s.kills['other']} grandchildren/orphans)"),
        ("restarts", s.facts["restarts"]),
        ("samples", s.samples),
        ("zombies", f"{len(s.zombies_persistent)} persistent (3 samples), {s.zombies_seen} transient (reaped within 2 s)"),
        ("rss", rss),
        ("lines checked", f"{res.checked} side-file lines, {res.output_lines} output lines, {res.lost} lost, {res.dup} duplicated"),
        ("panics", res.panics),
    ] + [(k, v) for k, v in s.facts.items() if k != "restarts"]
    print("soak summary")
    for k, v in rows:
        print(f"  {k:<22} {v}")
    if s.failures:
        print(f"FAILED ({len(s.failures)}); work dir kept: {s.dir}")
        for f in s.failures[:40]:
            print(f"  - {f}")
        return 1
    print(f"soak: OK — {s.kills['leader'] + s.kills['other']} kills, {len(s.zombies_persistent)} zombies, "
          f"{s.facts.get('left after stop')} left, rss {rss.split(' (')[0]}, {res.lost} lost lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
