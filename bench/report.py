"""Turns the raw figures into the markdown table, the machine description and
the ratios against the issue's targets. Pure formatting except machine()
and sizes(), which read the system."""

import os
import platform
import shutil
import statistics
import subprocess
import tempfile


def quiet(load):
    """Issue 17 asks for a quiet machine: the 1-minute load average below 1 at the start."""
    try:
        one = float(str(load).split()[0])
    except (ValueError, IndexError):
        return "quiet: unknown"
    return "quiet: load < 1" if one < 1 else "**not quiet**: load ≥ 1"


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


def cell(doc, sup, group, key, fmt, alias=None):
    """alias: {column: (raw sup, suffix)}: that column shows another measurement
    (e.g. the C floor column of the follow rows is `tail -f`)."""
    if alias and sup in alias:
        src, suffix = alias[sup]
        vals = values(doc["raw"], src, group, key)
        return esc(stat(vals, fmt) + suffix) if vals else esc(first_error(doc["raw"], src, group) or "–")
    return esc(_cell(doc, sup, group, key, fmt))


def _cell(doc, sup, group, key, fmt):
    if sup in doc["missing"]:
        return doc["missing"][sup].split(":")[0]
    if group in ("crash", "kill9") and sup in doc.get("no_restarts", []):
        return "no restarts"
    vals = values(doc["raw"], sup, group, key)
    if vals and key == "kept":  # the worst run: one lost PID is a failure
        others = values(doc["raw"], sup, group, "others")
        return f"{min(vals):.0f}/{max(others):.0f} kept"
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
        if n == n0 and c.get("restart_memory"):
            out.append((f"supervisor PSS, N={n}, after a kill -9 → replacement (MiB)",
                        f"start{n}", "pss_restart_mib", mib))
    out += [
        (f"supervisor processes, N={n1}", f"start{n1}", "procs", lambda x: f"{x:.0f}"),
        (f"idle CPU over {c['idle']:.0f} s, N={n1}", "idle", "idle_cpu_ms", ms),
        (f"SIGTERM → {n1} children gone", "sigterm", "sigterm_s", fmt_time),
        ("crash-loop restart interval", "crash", "crash_interval_s", fmt_time),
        (f"kill -9 → replacement running (median of {c['kill9']})", "kill9", "kill9_s", fmt_time),
        (f"log relay, {c['log_mib']} MiB of 100-byte lines (MB/s)", "log", "relay_mb_s",
         lambda x: fmt_num(x)),
    ]
    return out + (system_rows(c, n1) if "follow_lines" in c else [])  # older JSON: no such rows


def system_rows(c, n1):
    """Issues 13-15: the running system (followers, reload, containment)."""
    tail = {"floor": ("tail", " (`tail -f`)")}
    mbs = lambda x: fmt_num(x)  # noqa: E731
    mib = lambda x: fmt_num(x)  # noqa: E731
    ms = lambda x: fmt_num(x, " ms")  # noqa: E731
    return [
        ("`logs -f`: line written → printed, median", "follow", "lat_med_s", fmt_time, tail),
        ("`logs -f`: line written → printed, p99", "follow", "lat_p99_s", fmt_time, tail),
        (f"log relay, {c['log_mib']} MiB, service waits for a gate (MB/s)", "relay_f0",
         "relay_mb_s", mbs),
        ("same, 1 `logs -f` follower attached (MB/s)", "relay_f1", "relay_mb_s", mbs),
        (f"idle CPU over {c['idle']:.0f} s, N={n1}, 3 followers attached", "idle_f3",
         "idle_cpu_ms", ms),
        (f"reload changing 1 of {n1} → replacement running", "reload", "reload_run_s", fmt_time),
        (f"reload changing 1 of {n1} → command answered", "reload", "reload_answer_s", fmt_time),
        (f"reload: the other {n1 - 1} kept their PIDs", "reload", "kept", None),
        ("restart of that service → replacement running", "reload", "restart_run_s", fmt_time),
        ("restart of that service → command answered", "reload", "restart_answer_s", fmt_time),
        (f"start {n1} services, `contain = \"pidns\"`", "start_pidns", "start_s", fmt_time),
        (f"start {n1} services, `contain = \"none\"`", "start_none", "start_s", fmt_time),
        (f"supervisor RSS, N={n1}, `contain = \"pidns\"` (MiB)", "start_pidns", "rss_mib", mib),
        (f"supervisor RSS, N={n1}, `contain = \"none\"` (MiB)", "start_none", "rss_mib", mib),
        ("kill -9 of the supervisor → last descendant gone (uaol: `pidns`)", "orphans",
         "orphan_s", fmt_time),
        ("same, uaol-supervisor `contain = \"none\"`", "orphans_none", "orphan_s", fmt_time),
    ]


SYSTEM_NOTES = [
    "`logs -f` rows: a service writes a line stamped with CLOCK_MONOTONIC every {us} ms "
    "({lines} lines); the harness reads the client's stdout and subtracts the stamp on arrival. "
    "The C floor column of these rows is GNU `tail -f` of a file the same writer appends to, read "
    "the same way{pipe}. supervisord's column is `supervisorctl tail -f` (its follower: the "
    "program's stdout goes to a log file, which supervisord serves over its RPC socket; not the "
    "same path as a relay); pm2's `pm2 logs` is not measured; s6, runit, honcho and Horust "
    "have no follower of their own.",
    "Relay with a follower: one service prints a line, waits for a gate, then writes the "
    "{mib} MiB; the follower (`logs -f`, its output read by the same C meter, `bench/sink.c`) is "
    "attached before the gate opens; MB/s are measured at `up`'s own stdout, as in the relay row above{got}.",
    "Reload rows: {n} services; the change is `BENCH_GEN=<k>` added to one service's "
    "environment in the supervisor's own file — uaol-supervisor `reload` "
    "(`env = {{…}}` in supervisor.toml), supervisord `supervisorctl update` (`environment=`); "
    "restart is `uaol-supervisor restart` / `supervisorctl restart`; medians of {k} changes per "
    "run (supervisord here has the `[unix_http_server]` supervisorctl needs, which its column above "
    "runs without). *Running* is the replacement announcing itself; *answered* is the client's exit: "
    "uaol-supervisor answers once the service is ready (no readiness check: up for 200 ms), "
    "supervisorctl (a Python client: its start-up is in its times) once it has asked for the "
    "start. s6, runit, honcho, pm2 and Horust have no reload of one changed service measured here "
    "(s6 and runit take a changed run script on the next restart; honcho has none).",
    "kill -9 of the supervisor: three services — a plain one, one with a grandchild "
    "(`sh -c 'sleep & wait'`-style), one that leaves a double-forked `setsid` daemon — and "
    "the supervisor's own helpers; the time until the last of them has exited (pidfds), or "
    "*never* when some are still running {cap:g} s later (checked in /proc; the harness then "
    "kills them). The C floor runs one command for all services and is not measured.",
]


def system_notes(doc):
    c = doc["config"]
    if "follow_lines" not in c:
        return []
    pipe = values(doc["raw"], "pipe", "follow", "lat_med_s")
    p99 = values(doc["raw"], "pipe", "follow", "lat_p99_s")
    pipe_txt = (f"; through a plain pipe: median {stat(pipe, fmt_time)}, p99 {stat(p99, fmt_time)}"
                if pipe and p99 else "")
    got = values(doc["raw"], "uaol", "relay_f1", "follower_mib")
    lag = values(doc["raw"], "uaol", "relay_f1", "follower_lagged")
    got_txt = (f"; the follower received {stat(got, fmt_num)} MiB (prefixed lines), "
               f"lag markers: {max(lag):.0f}" if got and lag else "")
    args = dict(us=c["follow_us"] / 1000, lines=c["follow_lines"], pipe=pipe_txt, got=got_txt,
                mib=c["log_mib"], n=c["ns"][1], k=c["reload_samples"], cap=c["orphan_cap"])
    out = [n.format(**args) for n in SYSTEM_NOTES]
    watchers = values(doc["raw"], "uaol", "idle_f3", "watchers_cpu_ms")
    if watchers:
        out.append(f"Idle with 3 followers: a second `up` with N={c['ns'][1]} in the same idle window "
                   f"as the row above it, with `logs -f`, `events` and `status --watch` attached "
                   f"(CPU of `up` and its namespace init, from /proc); the three clients themselves "
                   f"used {stat(watchers, lambda x: fmt_num(x, ' ms'))}.")
    if doc.get("contain_auto"):
        out.append(f"The default `contain = \"auto\"` (every other row) resolved to: "
                   f"`{doc['contain_auto']}`.")
    return out


def render(doc):
    sups = doc["supervisors"] + [k for k in doc["missing"]]
    order = [k for k in LABELS if k in sups]
    head = "| | " + " | ".join(LABELS[k] for k in order) + " |"
    lines = [head, "|---" * (len(order) + 1) + "|"]
    for label, group, key, fmt, *alias in rows(doc):
        cells = [cell(doc, k, group, key, fmt, alias[0] if alias else None) for k in order]
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
               f"{doc.get('when', '?')[:16].replace('T', ' ')} UTC, commit {doc.get('commit', '?')}; "
               f"{m['nproc']} × {m['cpu']}, {m['mem_gib']} GiB, Linux {m['kernel']}; "
               f"load average at start {m['load_before']} ({quiet(m['load_before'])}), "
               f"at the end {m.get('load_after', '?')}; "
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
    out += system_notes(doc)
    out.append(ratios(doc))
    out.append(ahead(doc))
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


def times(r):
    return f"{r:.2f} ×" if r >= 0.01 else f"{r:.1g} ×"


def verdict(ok):
    return "yes" if ok else "**no**"


def ratios(doc):
    """uaol-supervisor against the issues' targets (17 for the rows it names,
    13-15 for the running system), as ratios to the same run; misses in bold."""
    if "uaol" not in doc["supervisors"]:
        return "uaol-supervisor was not measured in this run (no release binary with `up`)."
    n0, n1, n2 = doc["config"]["ns"]
    u = lambda g, k: med(doc, "uaol", g, k)  # noqa: E731
    f = lambda g, k: med(doc, "floor", g, k)  # noqa: E731
    cat = med(doc, "cat", "log", "relay_mb_s")
    size = doc["sizes"].get("uaol")
    mbs = lambda x: f"{x:.0f} MB/s"  # noqa: E731
    checks = [
        (f"start {n1} ≤ 1.3 × C floor", u(f"start{n1}", "start_s"), f(f"start{n1}", "start_s"), 1.3, "le", fmt_time),
        ("kill -9 → replacement ≤ 1.3 × C floor", u("kill9", "kill9_s"), f("kill9", "kill9_s"), 1.3, "le", fmt_time),
        ("kill -9 → replacement ≤ runit", u("kill9", "kill9_s"), med(doc, "runit", "kill9", "kill9_s"), 1.0, "le", fmt_time),
        (f"SIGTERM → {n1} gone ≤ 3 × C floor", u("sigterm", "sigterm_s"), f("sigterm", "sigterm_s"), 3.0, "le", fmt_time),
        ("log relay (prefixed) ≥ 0.8 × `cat`", u("log", "relay_mb_s"), cat, 0.8, "ge", mbs),
        ("log relay with 1 `logs -f` follower ≥ 0.9 × without", u("relay_f1", "relay_mb_s"),
         u("relay_f0", "relay_mb_s"), 0.9, "ge", mbs),
        ("`logs -f` latency, median, vs `tail -f` (no target)", u("follow", "lat_med_s"),
         med(doc, "tail", "follow", "lat_med_s"), None, "", fmt_time),
        ("`logs -f` latency, p99, vs `tail -f` (no target)", u("follow", "lat_p99_s"),
         med(doc, "tail", "follow", "lat_p99_s"), None, "", fmt_time),
    ]
    lines = ["| target | uaol-supervisor | reference | ratio | met |", "|---|---|---|---|---|"]
    for name, a, b, lim, op, fmt in checks:
        if a is None or not b:
            lines.append(f"| {name} | – | – | – | not measured |")
            continue
        r = a / b
        met = "–" if lim is None else verdict(r <= lim if op == "le" else r >= lim)
        lines.append(f"| {name} | {fmt(a)} | {fmt(b)} | {times(r)} | {met} |")
    probe = probe_ms(doc.get("probe_md", ""))
    if probe:
        a, b = probe
        lines.append(f"| full probe ≤ `psql -c 'select 1'` | {a:g} ms | {b:g} ms | {a / b:.2f} × "
                     f"| {verdict(a <= b)} |")
    orphan = u("orphans", "orphan_s")
    absolute = [
        ("idle CPU = 0", u("idle", "idle_cpu_ms"), 0, "ms"),
        ("idle CPU with 3 followers attached = 0", u("idle_f3", "idle_cpu_ms"), 0, "ms"),
        (f"RSS at N={n0} ≤ 4 MiB", u(f"start{n0}", "rss_mib"), 4, "MiB"),
        (f"RSS at N={n1} ≤ 6 MiB", u(f"start{n1}", "rss_mib"), 6, "MiB"),
        (f"RSS at N={n2} ≤ 16 MiB", u(f"start{n2}", "rss_mib"), 16, "MiB"),
        ("stripped binary < 5 MB", size / 1e6 if size else None, 5, "MB"),
    ]
    name = "kill -9 of `up` (`pidns`) → every descendant gone ≤ 1 s"
    if orphan is not None:
        absolute.append((name, orphan * 1000, 1000, "ms"))
    elif first_error(doc["raw"], "uaol", "orphans"):
        lines.append(f"| {name} | {esc(first_error(doc['raw'], 'uaol', 'orphans'))} | 1000 ms | – "
                     f"| {verdict(False)} |")
    for name, a, lim, unit in absolute:
        if a is None:
            lines.append(f"| {name} | – | {lim} {unit} | – | not measured |")
            continue
        ok = a <= lim if lim else a == 0
        ratio = times(a / lim) if lim else "–"
        lines.append(f"| {name} | {a:.3g} {unit} | {lim} {unit} | {ratio} | {verdict(ok)} |")
    kept = values(doc["raw"], "uaol", "reload", "kept")
    others = values(doc["raw"], "uaol", "reload", "others")
    if kept and others:
        k, o = min(kept), max(others)
        lines.append(f"| reload of 1 of {n1}: the others keep their PIDs (every run) | {k:.0f} | "
                     f"{o:.0f} | {times(k / o)} | {verdict(k == o)} |")
    else:
        lines.append(f"| reload of 1 of {n1}: the others keep their PIDs | – | – | – | not measured |")
    return "\n".join(lines)


PEERS = ("s6", "runit", "supervisord", "honcho", "pm2", "horust")
HIGHER_IS_BETTER = {"relay_mb_s"}
NO_RELAY = "hands the child its own stdout: no relay, no prefix"
# Rows where a peer does less work than uaol-supervisor, so being ahead is not like for like.
NOT_LIKE = {
    ("log", "relay_mb_s"): {"s6": NO_RELAY, "runit": NO_RELAY, "horust": NO_RELAY,
                            "supervisord": "copies to /dev/stdout without a prefix",
                            "pm2": "pm2-runtime's raw stdout, no prefix"},
    ("restart_answer_s",): {"supervisord": "supervisorctl answers once it has asked for the "
                                           "start; uaol-supervisor once the service is ready"},
    ("procs",): {k: "no containment: uaol-supervisor's second process is the PID namespace's "
                    "init (1 with `contain = \"none\"`)" for k in PEERS},
}


def not_like(group, key, peer):
    return (NOT_LIKE.get((group, key), {}).get(peer)
            or NOT_LIKE.get((key,), {}).get(peer))


def ahead(doc):
    """Issue 17: rows where a peer's median beats uaol-supervisor's, each said to be like for
    like (a miss) or not (and why)."""
    if "uaol" not in doc["supervisors"]:
        return ""
    found = []
    for label, group, key, fmt, *_ in rows(doc):
        if key == "kept":
            continue
        ours = med(doc, "uaol", group, key)
        if ours is None:
            continue
        for peer in PEERS:
            theirs = med(doc, peer, group, key)
            if theirs is None:
                continue
            better = theirs > ours if key in HIGHER_IS_BETTER else theirs < ours
            if not better:
                continue
            why = not_like(group, key, peer)
            show = fmt if fmt is not None else fmt_num
            found.append(f"- {label}: {LABELS[peer]} {show(theirs)} vs uaol-supervisor "
                         f"{show(ours)} — " + (f"not like for like ({why})" if why
                                               else "**like for like: a miss**"))
    size = doc["sizes"].get("uaol")
    for peer in PEERS:
        if size and doc["sizes"].get(peer) and doc["sizes"][peer] < size:
            found.append(f"- stripped binary size: {LABELS[peer]} "
                         f"{doc['sizes'][peer] / 1e6:.2f} MB vs {size / 1e6:.2f} MB — not like for "
                         f"like (C tools without a config parser, TLS or a database probe)")
    if not found:
        return "No peer is ahead of uaol-supervisor on any row."
    return "Rows where a peer is ahead (medians):\n\n" + "\n".join(found)
