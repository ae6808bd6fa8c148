"""Print `PHASE FUNCTION` for every function that executed instructions of
its own in a callgrind dump, for each `PHASE FILE` pair of arguments. Used by
symbol-order.sh.

Only self cost counts: a dump also lists the calls still in progress when it
was taken (`main`, the runtime's `block_on`, … — on the stack, waiting), with
their inclusive cost, and those did not run in that phase. In the format,
the cost line right after a `calls=` line is such an inclusive cost; any
other cost line under `fn=` is the function's own."""

import re
import sys

NAME = re.compile(r"^fn=(?:\(\d+\) ?)?(.*)$")


def ran(path):
    """The functions with self cost in one dump."""
    out, fn, after_call = set(), None, False
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        m = NAME.match(line)
        if m:
            fn, after_call = m.group(1), False
        elif line.startswith("calls="):
            after_call = True
        elif line[:1].isdigit() or line[:1] in "+-*":
            if not after_call and fn and any(int(c) for c in line.split()[1:] if c.isdigit()):
                out.add(fn)
            after_call = False
        elif "=" not in line:
            after_call = False
    return out


def main():
    args = sys.argv[1:]
    for phase, path in zip(args[0::2], args[1::2]):
        for name in sorted(ran(path)):
            print(phase, name)


main()
