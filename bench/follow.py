"""The control plane's followers (issue 13): how late a `logs -f` client
sees a line, what a follower costs the relay, and what idle followers cost.

Latency: a service (bench/ticker.c) writes lines stamped with
CLOCK_MONOTONIC; the harness reads the follower's stdout and subtracts the
stamp from its own clock on arrival. The floors are the same ticker read
through `tail -f` of a file and through a plain pipe, read the same way.
"""

import os
import select
import signal
import statistics
import subprocess
import time

import metrics
import procs
import reload
from workload import Instance

GATE_LINE = b"bench-gate"


def cli(inst, *args):
    """argv of a uaol-supervisor client talking to inst's `up`."""
    return [inst.sup.path(), "-c", os.path.join(inst.wd, "supervisor.toml"), *args]


def client(inst, *args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL):
    return subprocess.Popen(cli(inst, *args), stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=stderr, env=inst.env, cwd=inst.wd)


def gated(sup, base, timeout, cmd):
    """One service that prints GATE_LINE, then waits for the gate FIFO
    before running cmd. Returns (inst, gate path); the caller stops inst."""
    gate = os.path.join(base, f"gate-{time.monotonic_ns()}")
    os.mkfifo(gate)
    inst = Instance(sup, 1, "gated", base, extra=(gate, *cmd))
    return inst, gate


def open_gate(gate):
    fd = os.open(gate, os.O_RDWR)
    os.write(fd, b"go\n")
    os.close(fd)
    os.unlink(gate)


def read_until(fd, marker, timeout):
    """Read fd until a line containing marker has arrived; True when it did."""
    buf, deadline = b"", time.monotonic() + timeout
    while marker not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return False
        chunk = os.read(fd, 65536)
        if not chunk:
            return False
        buf += chunk
    return True


def read_ticks(fd, timeout):
    """Latencies (s) of the TICK lines arriving on fd, until TICK-END."""
    out, buf, deadline = [], b"", time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return out
        now = time.monotonic_ns()
        chunk = os.read(fd, 65536)
        if not chunk:
            return out
        *lines, buf = (buf + chunk).split(b"\n")
        for line in lines:
            if b"TICK-END" in line:
                return out
            i = line.find(b"TICK ")
            if i >= 0:
                parts = line[i:].split()
                if len(parts) == 3:
                    out.append((now - int(parts[2])) / 1e9)


def summary(lat, count):
    if not lat:
        return {"error": "no line arrived"}
    s = sorted(lat)
    p99 = s[min(len(s) - 1, max(0, int(len(s) * 0.99 + 0.5) - 1))]
    return {"lat_med_s": statistics.median(s), "lat_p99_s": p99, "lat_lines": len(s),
            "lat_lost": count - len(s)}


class SupervisordFollow(reload.SupervisordCtl):
    """supervisord writing each program's stdout to a log file, followed with
    `supervisorctl tail -f` (its `logs -f`: over its RPC socket)."""

    def prepare(self, wd, services):
        argv, env = super().prepare(wd, services)
        with open(argv[-1]) as f:
            text = f.read()
        with open(argv[-1], "w") as f:
            f.write(text.replace("stdout_logfile=/dev/stdout",
                                 f"stdout_logfile={wd}/%(program_name)s.log"))
        return argv, env

    @staticmethod
    def follower(inst):
        conf = os.path.join(inst.wd, "supervisord.conf")
        return subprocess.Popen([reload.real_python_script("supervisorctl"), "-c", conf, "tail", "-f",
                                 "s1"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=inst.env, cwd=inst.wd)


def follow_latency(sup, base, count, interval_us, tools, timeout):
    """A follower of a running supervisor (`logs -f`, or the sup's own
    `follower(inst)`): write → printed by the follower."""
    inst, gate = gated(sup, base, timeout, (tools["ticker"], str(count), str(interval_us)))
    follower = None
    try:
        if inst.launch(timeout) is None:
            return {"error": "never started"}
        follower = (sup.follower(inst) if hasattr(sup, "follower")
                    else client(inst, "logs", "-f", "-n", "1"))
        fd = follower.stdout.fileno()
        if not read_until(fd, GATE_LINE, timeout):
            return {"error": "the follower never printed the service's first line"}
        open_gate(gate)
        return summary(read_ticks(fd, count * interval_us / 1e6 + 10), count)
    finally:
        stop_clients([follower])
        inst.stop()


def tail_latency(base, count, interval_us, tools):
    """The floor: the ticker appends to a file, `tail -f` prints it."""
    path = os.path.join(base, f"tail-{time.monotonic_ns()}.log")
    with open(path, "wb") as f:
        f.write(GATE_LINE + b"\n")
    tail = subprocess.Popen(["tail", "-n", "1", "-f", path], stdout=subprocess.PIPE)
    tick = None
    try:
        if not read_until(tail.stdout.fileno(), GATE_LINE, 10):
            return {"error": "tail printed nothing"}
        with open(path, "ab") as out:
            tick = subprocess.Popen([tools["ticker"], str(count), str(interval_us)], stdout=out)
        return summary(read_ticks(tail.stdout.fileno(), count * interval_us / 1e6 + 10), count)
    finally:
        stop_clients([tail, tick])
        os.unlink(path)


def pipe_latency(count, interval_us, tools):
    """The other floor: the ticker's stdout is a pipe the harness reads."""
    tick = subprocess.Popen([tools["ticker"], str(count), str(interval_us)], stdout=subprocess.PIPE)
    try:
        return summary(read_ticks(tick.stdout.fileno(), count * interval_us / 1e6 + 10), count)
    finally:
        stop_clients([tick])


def relay(sup, base, size, cap, tools, timeout, followers):
    """MB/s of a 1-service flood at `up`'s stdout, with `followers` `logs -f`
    clients attached before the flood starts (0: none; same gated workload)."""
    r, w = os.pipe()
    sink = subprocess.Popen([tools["sink"]], stdin=r, stdout=subprocess.PIPE)
    os.close(r)
    inst, gate = gated(sup, base, timeout, (tools["lines"], str(size)))
    inst.stdout = w
    clients, meters = [], []
    try:
        if inst.launch(timeout) is None:
            return {"error": "never started"}
        os.close(w)
        w = None
        for _ in range(followers):
            # stderr too: a lagging client says so there
            c = client(inst, "logs", "-f", "-n", "1", stderr=subprocess.STDOUT)
            clients.append(c)
            if not read_until(c.stdout.fileno(), GATE_LINE, timeout):
                return {"error": "a follower never printed the service's first line"}
            meters.append(meter(c, tools))
        open_gate(gate)
        out = metrics._rate(metrics._sink_result(sink, cap), size)
        if meters:
            got = [metrics._sink_result(m, SETTLE_S) for m in meters]
            out["follower_mib"] = sum(g["total"] for g in got if g) / 2**20
            out["follower_lagged"] = sum(g["lagged"] for g in got if g)
            out["follower_complete"] = all(g and g["complete"] for g in got)
        return out
    finally:
        if w is not None:
            os.close(w)
        stop_clients(clients)
        stop_clients(meters)
        inst.stop()
        sink.kill()
        sink.wait()


def meter(follower, tools):
    """The same C meter as at `up`'s stdout (bench/sink.c), reading a
    follower's output to the flood's end: it counts bytes and lag markers
    at C speed, so what competes with `up` for CPU is the follower, not
    the harness."""
    m = subprocess.Popen([tools["sink"]], stdin=follower.stdout, stdout=subprocess.PIPE)
    follower.stdout.close()
    return m


# How long a follower may take to print the flood's last line after `up`
# wrote it (caught up, or its oldest lines dropped: it gets the end anyway).
SETTLE_S = 5.0


def attach_watchers(inst):
    """The three idle followers of issue 13: `logs -f`, `events`, `status --watch`."""
    return [client(inst, *args, stdout=subprocess.DEVNULL)
            for args in (("logs", "-f"), ("events",), ("status", "--watch"))]


def watchers_cpu_ms(clients, before):
    """(CPU ms the clients used since `before`, how many are still attached)."""
    pids = [c.pid for c in clients]
    return procs.cpu_delta_ms(before, procs.cpu_ticks(pids)), sum(c.poll() is None for c in clients)


def stop_clients(clients):
    for c in clients:
        if c is None:
            continue
        if c.poll() is None:
            c.send_signal(signal.SIGKILL)
        c.wait()
        if c.stdout:
            c.stdout.close()
