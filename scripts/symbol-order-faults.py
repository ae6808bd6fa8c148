"""Read `perf script --show-mmap-events` of `exceptions:page_fault_user` on
stdin; print the function of every fault in BINARY's text that the list
(ORDER, one symbol a line) does not name yet. Used by symbol-order.sh."""

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


def main():
    binary, order = sys.argv[1], sys.argv[2]
    listed = {l.strip() for l in open(order) if l.strip() and not l.startswith("#")}
    syms = symbols(binary)
    starts = [s[0] for s in syms]
    delta = text_delta(binary)
    mmap = re.compile(r"PERF_RECORD_MMAP2? (\d+)/\d+: \[0x([0-9a-f]+)\(0x([0-9a-f]+)\) "
                      r"@ 0x([0-9a-f]+) .*r-xp " + re.escape(binary) + "$")
    fault = re.compile(r"\s(\d+) \[\d+\] .*page_fault_user: address=0x([0-9a-f]+) ")
    maps, new = {}, set()
    for line in sys.stdin:
        m = mmap.search(line)
        if m:
            start, size, off = (int(m.group(i), 16) for i in (2, 3, 4))
            maps[m.group(1)] = (start, start + size, start - off - delta)
            continue
        m = fault.search(line)
        if not m or m.group(1) not in maps:
            continue
        lo, hi, base = maps[m.group(1)]
        addr = int(m.group(2), 16)
        if not lo <= addr < hi:
            continue
        i = bisect.bisect_right(starts, addr - base) - 1
        if i >= 0 and addr - base < syms[i][0] + syms[i][1] and syms[i][2] not in listed:
            new.add(syms[i][2])
    for name in sorted(new):
        print(name)


main()
