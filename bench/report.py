"""Turns the raw figures into the markdown table, the machine description and
the ratios against the issue's targets. Pure formatting except machine()
and sizes(), which read the system."""

import os
import platform
import shutil
import statistics
import subprocess
import tempfile


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "mem_gib": round(mem_kb / 2**20, 1), "load_before": loadavg()}


def sizes(sups):
    """Stripped size (bytes) of each supervisor's native executables."""
    out = {}
    tmp = tempfile.mkdtemp()
    try:
        for s in sups:
            bins = s.binaries()
            if not bins or not all(bins):
                continue
            total = 0
            for i, b in enumerate(bins):
                dst = os.path.join(tmp, f"{s.key}-{i}")
                shutil.copy(b, dst)
                subprocess.run(["strip", dst], capture_output=True)
                total += os.path.getsize(dst)
            out[s.key] = total
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def values(raw, sup, group, key):
    return [r[key] for r in raw if r["sup"] == sup and r["group"] == group
            and isinstance(r.get(key), (int, float))]


def first_error(raw, sup, group):
    for r in raw:
        if r["sup"] == sup and r["group"] == group and r.get("error"):
            return r["error"]
    return None


def time_unit(s):
    return (1e6, "µs") if s < 1e-3 else (1e3, "ms") if s < 1 else (1, "s")


def fmt_time(s, unit=None):
    scale, name = unit or time_unit(s)
    return f"{s * scale:.3g} {name}"


def fmt_num(x, unit=""):
    return f"{x:.3g}{unit}" if abs(x) < 1000 else f"{x:.0f}{unit}"


def stat(vals, fmt):
    """median (min–max); times share the median's unit, written once."""
    med, lo, hi = statistics.median(vals), min(vals), max(vals)
    if fmt is fmt_time:
        unit = time_unit(med)
        fmt = lambda x: f"{x * unit[0]:.3g}"  # noqa: E731
        suffix = f" {unit[1]}"
    else:
        suffix = ""
    if len(vals) == 1 or fmt(lo) == fmt(hi):
        return fmt(med) + suffix
    return f"{fmt(med)} ({fmt(lo)}–{fmt(hi)}){suffix}"


def esc(text):
    return str(text).replace("|", "\\|")


def cell(doc, sup, group, key, fmt):
    return esc(_cell(doc, sup, group, key, fmt))


def _cell(doc, sup, group, key, fmt):
    if sup in doc["missing"]:
        return doc["missing"][sup].split(":")[0]
    if group in ("crash", "kill9") and sup in doc.get("no_restarts", []):
        return "no restarts"
    vals = values(doc["raw"], sup, group, key)
    if vals:
        return stat(vals, fmt)
    err = first_error(doc["raw"], sup, group)
    if err:
        return err
    return "–"


LABELS = {"floor": "C floor", "uaol": "uaol-supervisor", "uaol-old": "uaol-supervisor (old)",
          "s6": "s6", "runit": "runit",
          "supervisord": "supervisord", "honcho": "honcho", "pm2": "pm2", "horust": "Horust"}


def rows(doc):
    c = doc["config"]
    n0, n1, n2 = c["ns"]
    ms = lambda x: fmt_num(x, " ms")  # noqa: E731
    mib = lambda x: fmt_num(x)  # noqa: E731
    out = [
        (f"start {n0} services", f"start{n0}", "start_s", fmt_time),
        (f"start {n1} services", f"start{n1}", "start_s", fmt_time),
    ]
    for n in (n0, n1, n2):
        out.append((f"supervisor RSS, N={n} (MiB)", f"start{n}", "rss_mib", mib))
        out.append((f"supervisor PSS, N={n} (MiB)", f"start{n}", "pss_mib", mib))
    out += [
        (f"supervisor processes, N={n1}", f"start{n1}", "procs", lambda x: f"{x:.0f}"),
        (f"idle CPU over {c['idle']:.0f} s, N={n1}", "idle", "idle_cpu_ms", ms),
        (f"SIGTERM → {n1} children gone", "sigterm", "sigterm_s", fmt_time),
        ("crash-loop restart interval", "crash", "crash_interval_s", fmt_time),
        (f"kill -9 → replacement running (median of {c['kill9']})", "kill9", "kill9_s", fmt_time),
        (f"log relay, {c['log_mib']} MiB of 100-byte lines (MB/s)", "log", "relay_mb_s",
         lambda x: fmt_num(x)),
    ]
    return out


def render(doc):
    sups = doc["supervisors"] + [k for k in doc["missing"]]
    order = [k for k in LABELS if k in sups]
    head = "| | " + " | ".join(LABELS[k] for k in order) + " |"
    lines = [head, "|---" * (len(order) + 1) + "|"]
    for label, group, key, fmt in rows(doc):
        cells = [cell(doc, k, group, key, fmt) for k in order]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    modes = {r["sup"]: r["mode"] for r in doc["raw"] if r.get("mode")}
    lines.append("| log relay mode | " + " | ".join(esc(modes.get(k, "–")) for k in order) + " |")
    lines.append("| stripped binary size | " + " | ".join(
        f"{doc['sizes'][k] / 1e6:.2f} MB" if k in doc["sizes"] else
        ("– (Python)" if k in ("supervisord", "honcho") else "– (Node.js)" if k == "pm2" else "–")
        for k in order) + " |")
    cat = values(doc["raw"], "cat", "log", "relay_mb_s")
    m = doc["machine"]
    out = ["\n".join(lines)]
    if cat:
        out.append(f"Reference: `lines | cat | sink` through the same pipes: "
                   f"{stat(cat, fmt_num)} MB/s.")
    out.append(f"Medians over {doc.get('runs_done', doc['config']['runs'])} run(s) (min–max); mode `{doc['mode']}`; "
               f"{m['nproc']} × {m['cpu']}, {m['mem_gib']} GiB, Linux {m['kernel']}; "
               f"load average before {m['load_before']}, after {m.get('load_after', '?')}; "
               f"took {m.get('duration_s', 0):.0f} s; processes left running at the end: "
               f"{doc['left_running_at_end']} (swept during the run: {doc['leftovers_swept']}).")
    vers = ", ".join(f"{LABELS.get(k, k)} {v}" for k, v in doc.get("versions", {}).items() if v)
    if vers:
        out.append(f"Versions: {vers}.")
    for k, why in doc["missing"].items():
        out.append(f"{LABELS.get(k, k)}: {why}.")
    notes = {r["sup"]: r["note"] for r in doc["raw"] if r.get("note")}
    for k, note in notes.items():
        out.append(f"{LABELS.get(k, k)} log relay: {note}.")
    out.append(ratios(doc))
    if doc.get("probe_md"):
        out.append(doc["probe_md"].strip())
    return "\n\n".join(out) + "\n"  # one paragraph per note


def med(doc, sup, group, key):
    v = values(doc["raw"], sup, group, key)
    return statistics.median(v) if v else None


def probe_ms(md):
    """(probe ms, psql ms) from bench/probe.sh's table, when it ran."""
    got = {}
    for line in md.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2:
            continue
        try:
            ms = float(cells[-1])
        except ValueError:
            continue
        if "uaol-supervisor probe" in cells[0]:
            got["probe"] = ms
        elif cells[0].startswith("`psql") and "select 1" in cells[0]:
            got["psql"] = ms
    return (got["probe"], got["psql"]) if len(got) == 2 else None


def ratios(doc):
    """uaol-supervisor against the issue's targets, as ratios to the same run."""
    if "uaol" not in doc["supervisors"]:
        return "uaol-supervisor was not measured in this run (no release binary with `up`)."
    n1, n2 = doc["config"]["ns"][1], doc["config"]["ns"][2]
    u = lambda g, k: med(doc, "uaol", g, k)  # noqa: E731
    f = lambda g, k: med(doc, "floor", g, k)  # noqa: E731
    cat = med(doc, "cat", "log", "relay_mb_s")
    size = doc["sizes"].get("uaol")
    mbs = lambda x: f"{x:.0f} MB/s"  # noqa: E731
    checks = [
        (f"start {n1} ≤ 1.5 × C floor", u(f"start{n1}", "start_s"), f(f"start{n1}", "start_s"), 1.5, "le", fmt_time),
        ("kill -9 → replacement ≤ 1.5 × C floor", u("kill9", "kill9_s"), f("kill9", "kill9_s"), 1.5, "le", fmt_time),
        (f"SIGTERM → {n1} gone ≤ 3 × C floor", u("sigterm", "sigterm_s"), f("sigterm", "sigterm_s"), 3.0, "le", fmt_time),
        ("log relay (prefixed) ≥ 0.7 × `cat`", u("log", "relay_mb_s"), cat, 0.7, "ge", mbs),
    ]
    lines = ["| target | uaol-supervisor | reference | ratio | met |", "|---|---|---|---|---|"]
    for name, a, b, lim, op, fmt in checks:
        if a is None or not b:
            lines.append(f"| {name} | – | – | – | not measured |")
            continue
        r = a / b
        ok = r <= lim if op == "le" else r >= lim
        lines.append(f"| {name} | {fmt(a)} | {fmt(b)} | {r:.2f} × | {'yes' if ok else 'NO'} |")
    absolute = [
        ("idle CPU = 0", u("idle", "idle_cpu_ms"), 0, "ms"),
        (f"RSS at N={n1} ≤ 6 MiB", u(f"start{n1}", "rss_mib"), 6, "MiB"),
        (f"RSS at N={n2} ≤ 16 MiB", u(f"start{n2}", "rss_mib"), 16, "MiB"),
        ("stripped binary < 5 MB", size / 1e6 if size else None, 5, "MB"),
    ]
    probe = probe_ms(doc.get("probe_md", ""))
    if probe:
        a, b = probe
        lines.append(f"| full probe ≤ `psql -c 'select 1'` | {a:g} ms | {b:g} ms | {a / b:.2f} × "
                     f"| {'yes' if a <= b else 'NO'} |")
    for name, a, lim, unit in absolute:
        if a is None:
            lines.append(f"| {name} | – | {lim} {unit} | – | not measured |")
            continue
        ok = a <= lim if lim else a == 0
        ratio = f"{a / lim:.2f} ×" if lim else "–"
        lines.append(f"| {name} | {a:.3g} {unit} | {lim} {unit} | {ratio} | {'yes' if ok else 'NO'} |")
    return "\n".join(lines)
