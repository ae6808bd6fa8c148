#!/usr/bin/env python3
"""Before/after for the log relay rows only (issues 13 and 17): the prefixed
relay, the relay with 0 and 1 `logs -f` follower attached, and `cat`, for
two uaol-supervisor binaries, alternated round by round so that a busy
machine slows both alike. Prints the median (min–max) MB/s of each row.

    python3 bench/relay_ab.py --tools bench/.deps/bin --rounds 5 \
        OLD=/tmp/old/uaol-supervisor NEW=target/release/uaol-supervisor

Build the C tools first (scripts/bench.sh does: `cc -O2 -o bench/.deps/bin/lines
bench/lines.c`, same for sink, floor, ticker). Not part of scripts/bench.sh:
an engineer's tool for one change, not a published figure.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import follow  # noqa: E402
import metrics  # noqa: E402
import procs  # noqa: E402
from harness import guarded, log  # noqa: E402
from peers import Uaol  # noqa: E402


class Build(Uaol):
    """uaol-supervisor at a given path."""

    def __init__(self, label, path):
        self.key, self.label, self.bin = label, label, os.path.abspath(path)

    def path(self):
        return self.bin


def rows(sup, base, size, cap, tools):
    out = {}
    res = guarded(f"{sup.key} log", metrics.log_relay, sup, base, size, cap, tools, 30)
    out["prefixed"] = res.get("relay_mb_s")
    for f in (0, 1):
        res = guarded(f"{sup.key} relay {f}f", follow.relay, sup, base, size, cap, tools, 30, f)
        out[f"f{f}"] = res.get("relay_mb_s")
        if f:
            out["f1_lagged"] = res.get("follower_lagged")
            out["f1_mib"] = res.get("follower_mib")
    procs.sweep()
    return out


def fmt(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "—"
    return f"{statistics.median(xs):7.0f} ({min(xs):.0f}–{max(xs):.0f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tools", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--mib", type=int, default=200)
    ap.add_argument("--cap", type=float, default=20.0)
    ap.add_argument("builds", nargs="+", help="LABEL=PATH")
    a = ap.parse_args()
    tools = {k: os.path.join(os.path.abspath(a.tools), k) for k in ("floor", "lines", "sink", "ticker")}
    builds = [Build(*b.split("=", 1)) for b in a.builds]
    procs.become_subreaper()
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    base = tempfile.mkdtemp(prefix="uaol-relay-ab-", dir=shm)
    size = a.mib * 2**20
    got = {b.key: [] for b in builds}
    cat = []
    try:
        for r in range(a.rounds):
            order = builds if r % 2 == 0 else builds[::-1]
            for b in order:
                res = rows(b, base, size, a.cap, tools)
                log(f"round {r + 1} {b.key}: {res}")
                got[b.key].append(res)
            res = guarded("cat", metrics.cat_relay, size, a.cap, tools)
            cat.append(res.get("relay_mb_s"))
    finally:
        procs.sweep()
        shutil.rmtree(base, ignore_errors=True)
    print(f"MB/s, median (min–max) of {a.rounds} alternated rounds, {a.mib} MiB each")
    print(f"{'cat':10} {fmt(cat)}")
    c = statistics.median([x for x in cat if x is not None] or [0])
    for b in builds:
        rs = got[b.key]
        col = {k: [x.get(k) for x in rs] for k in ("prefixed", "f0", "f1")}
        pre = statistics.median([x for x in col["prefixed"] if x] or [0])
        ratios = [x["f1"] / x["f0"] for x in rs if x.get("f0") and x.get("f1")]
        lag = sum(x.get("f1_lagged") or 0 for x in rs)
        print(f"{b.key:10} prefixed {fmt(col['prefixed'])} = {pre / c if c else 0:.2f}× cat | "
              f"0 followers {fmt(col['f0'])} | 1 follower {fmt(col['f1'])} | "
              f"f1/f0 median {statistics.median(ratios) if ratios else 0:.2f} | lag markers {lag}")


if __name__ == "__main__":
    sys.exit(main())
