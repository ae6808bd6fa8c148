"""Read `perf script -F comm,pid,tid,time,event,trace --show-mmap-events
--show-task-events` of `exceptions:page_fault_user` and
`syscalls:sys_enter_madvise` on stdin; print `PHASE FUNCTION` for every fault
in BINARY's text, by the function it fell in (each phase it faulted in:
the list takes the earliest in its order).
A function the list already has under a later phase moves up: callgrind
runs `up` without the PID namespace, so e.g. a spawn's path there differs.
Used by symbol-order.sh.

The phase: `start` while the faulting process has not shed its start-up
pages yet (its first `madvise` of the binary's text, see
src/supervisor/shed.rs) — a process forked before that (a service's child
before its exec) counts as its parent did. After the shed, the phase whose
mark (MARKS: `MONOTONIC_TIME PHASE` lines, in order) came last, or FIRST
before any mark: the PID-namespace init sheds before its loop, and `up`
sheds once its start has settled, before the first mark."""

import bisect
import re
import subprocess
import sys


def symbols(binary):
    """(start, size, name) of every function, by address."""
    out = subprocess.run(["nm", "-nS", "--defined-only", binary],
                         capture_output=True, text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        f = line.split()
        if len(f) == 4 and f[2] in "tTwW":
            syms.append((int(f[0], 16), int(f[1], 16), f[3]))
    return syms


def text_delta(binary):
    """Virtual address minus file offset of the executable segment."""
    out = subprocess.run(["readelf", "-lW", binary],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD" and "E" in f[-2:-1] + f[-3:-2]:
            return int(f[2], 16) - int(f[1], 16)
    raise SystemExit("symbol-order-faults: no executable segment in " + binary)


def marks(path, first):
    """The phase marks, as (times, names), plus FIRST before any."""
    times, names = [float("-inf")], [first]
    for line in open(path):
        t, name = line.split()
        times.append(float(t))
        names.append(name)
    return times, names


MMAP = re.compile(r" (\d+)/\d+ +([\d.]+): PERF_RECORD_MMAP2? \d+/\d+: "
                  r"\[0x([0-9a-f]+)\(0x([0-9a-f]+)\) @ 0x([0-9a-f]+) .*r-xp (\S+)$")
FORK = re.compile(r"PERF_RECORD_FORK\((\d+):\d+\):\((\d+):\d+\)")
EXEC = re.compile(r" (\d+)/\d+ .*PERF_RECORD_COMM exec:")
EVENT = re.compile(r" (\d+)/\d+ +([\d.]+): +(\S+): (.*)$")
ADDRESS = re.compile(r"(?:address=|start: )0x([0-9a-f]+)")


def main():
    binary, marks_file, first = sys.argv[1:4]
    syms = symbols(binary)
    starts = [s[0] for s in syms]
    delta = text_delta(binary)
    times, names = marks(marks_file, first)
    maps, shed, new = {}, {}, set()
    for line in sys.stdin:
        m = MMAP.search(line)
        if m:
            if m.group(6) == binary:
                start, size, off = (int(m.group(i), 16) for i in (3, 4, 5))
                maps[m.group(1)] = (start, start + size, start - off - delta)
            continue
        m = FORK.search(line)
        if m:
            child, parent = m.groups()
            if child != parent and parent in maps:
                maps[child], shed[child] = maps[parent], shed.get(parent, False)
            continue
        m = EXEC.search(line)
        if m:
            maps.pop(m.group(1), None)
            shed[m.group(1)] = False
            continue
        m = EVENT.search(line)
        if not m or m.group(1) not in maps:
            continue
        pid, when, event, rest = m.groups()
        lo, hi, base = maps[pid]
        a = ADDRESS.search(rest)
        addr = int(a.group(1), 16) if a else -1
        if not lo <= addr < hi:
            continue
        if event.endswith("madvise"):
            shed[pid] = True
            continue
        if not event.endswith("page_fault_user"):
            continue
        i = bisect.bisect_right(starts, addr - base) - 1
        if i < 0 or addr - base >= syms[i][0] + syms[i][1]:
            continue
        phase = names[bisect.bisect_right(times, float(when)) - 1] if shed.get(pid) else "start"
        new.add((phase, syms[i][2]))
    for phase, name in sorted(new):
        print(phase, name)


main()
