"""Small helpers shared by the driver (bench.py) and its phases: a
timestamped log line on stderr, a guard so one broken peer cannot stop the
run, and a one-line summary of a result."""

import sys
import time


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def guarded(what, fn, *args):
    try:
        return fn(*args)
    except Exception as e:  # a broken peer must not stop the run
        log(f"{what}: {type(e).__name__}: {e}")
        return {"error": f"{type(e).__name__}: {e}"}


def fmt_brief(res):
    keys = [k for k in res if k not in ("samples", "group", "run", "sup")]
    return ", ".join(f"{k}={res[k]:.4g}" if isinstance(res[k], float) else f"{k}={res[k]}"
                     for k in keys)
