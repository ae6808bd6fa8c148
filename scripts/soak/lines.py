"""Reading the supervisor's JSON output after a soak: every tracked line
(`L NAME NONCE N REST`, see svc.sh) counted; each side-file record must appear
exactly once, intact, under the right service; no duplicates; no panic; and
service states from the event log when there is no control socket."""

import json
import os
import re
from collections import Counter


class Result:
    def __init__(self):
        self.failures = []
        self.checked = 0
        self.output_lines = 0
        self.lost = 0
        self.dup = 0
        self.restarts = 0
        self.panics = 0


def records(out):
    with open(out, "rb") as f:
        for raw in f:
            try:
                yield json.loads(raw)
            except ValueError:
                yield {"stream": "raw", "line": raw.decode("utf-8", "replace").rstrip("\n")}


def check(out, err, side_dir):
    r = Result()
    seen = Counter()
    text = {}  # key -> (service, rest) of the first occurrence
    for rec in records(out):
        line, stream = rec.get("line", ""), rec.get("stream")
        if "panicked" in line and stream in ("event", "raw"):
            r.panics += 1
        if stream == "event" and "restarting in" in line:
            r.restarts += 1
        if stream not in ("stdout", "stderr"):
            continue
        r.output_lines += 1
        if not line.startswith("L "):
            continue
        parts = line.split(" ", 4)
        if len(parts) < 4:
            continue
        key = tuple(parts[1:4])
        seen[key] += 1
        text.setdefault(key, (rec.get("service"), parts[4] if len(parts) > 4 else ""))
    with open(err, "rb") as f:
        if b"panicked" in f.read():
            r.panics += 1
    if r.panics:
        r.failures.append(f"{r.panics} panic message(s) in the output")
    for key, n in seen.items():
        if n > 1:
            r.dup += 1
            if r.dup <= 10:
                r.failures.append(f"line {' '.join(key)} printed {n} times")
    for name in sorted(os.listdir(side_dir)):
        with open(os.path.join(side_dir, name), encoding="utf-8", errors="replace") as f:
            for rec in f:
                r.checked += 1
                check_one(r, seen, text, rec.rstrip("\n"))
    return r


def check_one(r, seen, text, rec):
    parts = rec.split(" ", 4)
    key, want = tuple(parts[1:4]), parts[4] if len(parts) > 4 else ""
    if seen[key] == 0:
        r.lost += 1
        if r.lost <= 10:
            r.failures.append(f"lost: {rec}")
        return
    svc, rest = text[key]
    if svc != key[0]:
        r.failures.append(f"{rec}: printed under service {svc}")
    elif want == "LONG":
        if not (rest.startswith("0" * 1000) and rest.endswith("…")):
            r.failures.append(f"{rec}: long line's first piece is not cut as documented")
    elif rest != want:
        r.failures.append(f"{rec}: printed as {rest[:80]!r}")


EVENT = re.compile(
    r"(?P<ready>ready after|started \(pid)|(?P<running>waiting for readiness)|"
    r"(?P<backoff>restarting in)|(?P<failed>FAILED:)|(?P<exited>exited \()|"
    r"(?P<completed>completed \()|(?P<stopping>stopping:)|(?P<stopped>stopped \()"
)


def states_from_log(out):
    """{service: state} from the last state-changing event of each service."""
    st = {}
    for rec in records(out):
        if rec.get("stream") != "event" or not rec.get("service"):
            continue
        m = EVENT.search(rec.get("line", ""))
        if m:
            kind = m.lastgroup
            if kind == "ready" and "waiting for readiness" in rec["line"]:
                kind = "running"
            st[rec["service"]] = kind
    return st
