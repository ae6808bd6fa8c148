#!/usr/bin/env bash
# Benchmarks for `up` (not timed tests): prints a table.
#   bench/up.sh            # all measurements (about 1.5 minutes)
#   QUICK=1 bench/up.sh    # idle CPU over 5 s instead of 30 s
# Needs python3 (timing, medians) and a release build (built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/uaol-supervisor}
[ -x "$BIN" ] || cargo build --release --quiet
BIN=$(realpath "$BIN") python3 - <<'PY'
import os, signal, statistics, subprocess, sys, tempfile, time

BIN = os.environ["BIN"]
IDLE = 5 if os.environ.get("QUICK") else 30
CLK = os.sysconf("SC_CLK_TCK")
ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NO_COLOR": "1", "HOME": "/tmp"}
rows = []

def project(services):
    d = tempfile.mkdtemp(prefix="uaol-bench-")
    with open(os.path.join(d, "supervisor.toml"), "w") as f:
        f.write('[supervisor]\nstop_timeout = "5s"\n')
        for name, body in services:
            f.write(f"\n[services.{name}]\n{body}\n")
    return d

def sleepers(n, extra=""):
    return project([(f"s{i:04}", f'command = ["sleep", "1000000"]\n{extra}') for i in range(n)])

def start(d, out=None):
    log = open(os.path.join(d, "out.log"), "w") if out is None else out
    return subprocess.Popen([BIN, "up"], cwd=d, env=ENV, stdout=log, stderr=subprocess.STDOUT)

def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []

def wait_children(p, n, limit=120):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if len(children(p.pid)) >= n:
            return True
        time.sleep(0.002)
    return False

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for l in f:
            if l.startswith("VmRSS:"):
                return int(l.split()[1])

def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(") ", 1)[1].split()
    return int(fields[11]) + int(fields[12])

def stop(p):
    t = time.monotonic()
    p.send_signal(signal.SIGTERM)
    p.wait(60)
    return time.monotonic() - t

# RSS with N sleeping services; for 200 also start time, idle CPU, shutdown time.
for n in (10, 200, 1000):
    d = sleepers(n)
    t0 = time.monotonic()
    p = start(d)
    ok = wait_children(p, n)
    up_s = time.monotonic() - t0
    time.sleep(0.5)
    rss = rss_kib(p.pid)
    rows.append((f"RSS, {n} sleeping services", f"{rss/1024:.1f} MiB" + ("" if ok else " (not all started!)")))
    if n == 200:
        rows.append(("up → all 200 running", f"{up_s*1000:.0f} ms"))
        c0 = cpu_ticks(p.pid); time.sleep(IDLE); c1 = cpu_ticks(p.pid)
        rows.append((f"idle CPU over {IDLE} s, 200 services", f"{(c1-c0)/CLK:.2f} s CPU ({100*(c1-c0)/CLK/IDLE:.2f} %)"))
        rows.append(("shutdown, 200 services", f"{stop(p)*1000:.0f} ms"))
    else:
        stop(p)

# Restart latency after kill -9: median of 20, with backoff.initial = 0s and the default.
# reset_after = 100ms: each kill comes after a healthy run, so the delay stays at `initial`
# (otherwise 20 quick kills would measure the exponential growth, by design).
for label, backoff in (("0s", 'backoff = { initial = "0s" }'),
                       ("250ms (default initial)", 'backoff = { reset_after = "100ms" }')):
    d = project([("victim", f'command = ["sleep", "1000000"]\nrestart = "always"\nmax_restarts = 100\n{backoff}')])
    p = start(d)
    wait_children(p, 1)
    lat = []
    for _ in range(20):
        time.sleep(0.2)
        old = children(p.pid)[0]
        t = time.monotonic()
        os.kill(old, signal.SIGKILL)
        while True:
            c = children(p.pid)
            if c and c[0] != old:
                break
            time.sleep(0.0002)
        lat.append(time.monotonic() - t)
    stop(p)
    rows.append((f"restart after kill -9, backoff {label}", f"median {statistics.median(lat)*1000:.1f} ms (min {min(lat)*1000:.1f}, max {max(lat)*1000:.1f})"))

# Log relay throughput: 200 MB of 70-byte lines, through `up` (prefixed) vs `cat`.
MB = 200
gen = f"yes 'flooding flooding flooding flooding flooding flooding 0123456789' | head -c {MB}000000"
d = project([("flood", f'command = ["sh", "-c", "{gen}"]\noneshot = true')])
t = time.monotonic()
subprocess.run(f"'{BIN}' up | cat > /dev/null", shell=True, cwd=d, env=ENV, check=True)
up_s = time.monotonic() - t
t = time.monotonic()
subprocess.run(f"{gen} | cat > /dev/null", shell=True, env=ENV, check=True)
cat_s = time.monotonic() - t
rows.append((f"log relay, {MB} MB of 70-byte lines, prefixed", f"{MB/up_s:.0f} MB/s"))
rows.append(("  same bytes through `cat`", f"{MB/cat_s:.0f} MB/s"))

w = max(len(r[0]) for r in rows)
print(f"{'measurement':<{w}}  result")
print(f"{'-'*w}  {'-'*40}")
for k, v in rows:
    print(f"{k:<{w}}  {v}")
PY
