#!/usr/bin/env bash
# Regenerate build/symbol-order.txt: the functions `up` executes, which the
# release link puts next to each other (build.rs, `--symbol-ordering-file`),
# those of a running supervisor first.
#
# Why: the kernel maps 64 KiB of the binary around every page of code that is
# touched (fault-around), so functions run at start-up, when idle, on a
# restart, on a relay and on a control command, scattered over 3 MB of text,
# made nearly all of it resident (docs/performance.md, "Where the memory
# goes"). Packed together they fill a few hundred KiB. And since `up` gives
# back its start-up's pages once the start has settled (src/supervisor/shed.rs),
# what stays resident is what runs after that: those functions come first,
# the crash-and-restart path first of all, then the commands; the start, a
# reload and the stop after them.
#
# How: an unstripped release build (same code, symbols kept) runs `up` with 10
# services under `valgrind --tool=callgrind`, with `contain = "none"` (valgrind
# cannot create the PID namespace), driven through phases: the start, kill -9s
# (restarts), status, logs/events/--watch, restart/stop/start, a reload, one
# more kill -9, the stop. `callgrind_control` dumps the counts at each phase's
# start, and every function the binary defines that ran code of its own in a
# phase is listed under it (symbol-order-callgrind.py). Then, as many rounds
# as it takes (at most 6): relink with the list, run the same with the default
# `contain` under `perf record` of the page faults (and of `madvise`, where the
# start ends), and list the function of every fault in the binary's text under
# the phase it faulted in, if that is earlier than its phase so far (the PID
# namespace's spawner thread and init, a service's child before its exec, the
# entry point; symbol-order-faults.py).
#
# `scripts/symbol-order.sh` makes the list of `cargo build --release`,
# `scripts/symbol-order.sh --static` the one of `cargo build-static`.
# Run it after changes that add or rename many functions, or after a Rust
# upgrade (symbol names carry a hash of the compiler and crate version; names
# that no longer exist are ignored by the linker, the layout just gets worse).
# Needs valgrind and perf (Debian: valgrind, linux-perf). Takes a few minutes.
set -euo pipefail
export LC_ALL=C # one collation for sort and comm

root=$(cd "$(dirname "$0")/.." && pwd)
# `--static`: the list of `cargo build-static` (.cargo/config.toml: the same
# flags are given here, so that the names are the ones that build links).
if [ "${1:-}" = --static ]; then
    out="$root/build/symbol-order-static.txt"
    cargo_args=(--target x86_64-unknown-linux-gnu
        --config "target.x86_64-unknown-linux-gnu.rustflags = ['-C', 'target-feature=+crt-static']")
    built="$root/target/x86_64-unknown-linux-gnu/release/uaol-supervisor"
    restore=(build-static --quiet)
else
    out="$root/build/symbol-order.txt"
    cargo_args=()
    built="$root/target/release/uaol-supervisor"
    restore=(build --release --quiet)
fi
work=$(mktemp -d)
up_pid=
cleanup() {
    [ -n "$up_pid" ] && kill -KILL "$up_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

for t in valgrind perf nm python3; do
    command -v $t >/dev/null || { echo "symbol-order: $t is needed" >&2; exit 1; }
done

bin="$work/uaol-supervisor"
# The release build itself, with its symbols kept: `cargo rustc` passes the
# flag to the final link only, so every name is the one the plain release
# link sees (a profile with `strip = false` would give other hashes).
build() {
    (cd "$root" && cargo rustc --release --quiet "${cargo_args[@]}" --bin uaol-supervisor -- -C strip=none)
    cp "$built" "$bin"
}

config() { # $1: contain
    printf '[supervisor]\ninherit = ["PATH"]\nstop_timeout = "10s"\ncontain = "%s"\n\n' "$1"
    for i in 0 1 2 3 4 5 6 7 8; do
        printf '[services.svc%s]\ncommand = ["/bin/sh", "-c", "echo started; exec sleep 600"]\n' "$i"
        printf 'restart = "always"\nbackoff = { initial = "0s", max = "1s" }\n'
        printf 'max_restarts = 1000000\nrestart_window = "1s"\n\n'
    done
    printf '[services.chatty]\ncommand = ["/bin/sh", "-c", "while :; do echo tick; echo err >&2; sleep 0.2; done"]\n'
    printf 'restart = "always"\n'
}

cli() { timeout "${2:-20}" "$bin" -c "$work/supervisor.toml" $1 >/dev/null 2>&1 || true; }

# The phases, in the order the list puts their functions: first what a
# running supervisor executes after its start — a crash and its restart (and
# the idle wake-ups, the output relayed, the PID-namespace init's loop), then
# the commands — and only then the start, a reload and the stop. `up` gives
# back its start-up's pages once the start has settled (src/supervisor/shed.rs):
# what runs after that should fill as few of the kernel's 64 KiB fault-around
# windows as it can, and the crash path as few as possible.
phases=(restart status logs commands start reload stop)

# The phase that begins now: for callgrind a dump of the counts so far (the
# dumps are cg.out.1, .2, … in the order of $work/marks), for perf a
# time stamp on perf's clock (`-k mono`).
mark() {
    if [ "$profiler" = callgrind ]; then
        callgrind_control -d "$1" "$up_pid" >/dev/null 2>&1 || true
        echo "$1" >>"$work/marks"
    else
        echo "$(python3 -c 'import time; print(time.monotonic())') $1" >>"$work/marks"
    fi
}

kill_svc() { # kill -9 service $1, by the PID up announced; wait for its restart
    local svc
    svc=$(sed -n "s/.*$1: started (pid \\([0-9]*\\)).*/\\1/p" "$work/up.out" | tail -1)
    [ -n "$svc" ] && kill -KILL "$svc" 2>/dev/null || true
    sleep 2
}

# Run `up` under "$@" (a profiler's command line) and drive it through the
# phases; the config is named by the path in $cfg (relative and absolute
# paths run other code).
workload() {
    : >"$work/marks"
    (cd "$work" && exec "$@" "$bin" -c "$cfg" up >"$work/up.out" 2>"$work/up.err") &
    up_pid=$!
    for _ in $(seq 1 600); do
        grep -q "svc8: started" "$work/up.out" 2>/dev/null && break
        sleep 0.1
    done
    sleep 3 # the start settles (and `up` sheds)
    mark restart
    kill_svc svc3
    kill_svc svc4
    mark status
    cli status
    cli "status --json"
    mark logs
    cli "logs"
    cli "logs -n 5 chatty"
    cli "logs -f chatty" 3
    cli "events" 3
    cli "status --watch" 3
    mark commands
    cli "restart svc1"
    cli "stop svc2"
    cli "start svc2"
    mark reload
    cli "reload"
    sleep 2
    mark restart
    kill_svc svc5
    mark stop
    kill -TERM "$up_pid"
    wait "$up_pid" || true
    up_pid=
}

# The functions that ran in each phase, as `PHASE NAME` lines: dump k is the
# phase before the k-th mark, the last file the one after the last.
callgrind_ran() {
    local k=1 phase=start args=()
    while read -r next; do
        [ -s "$work/cg.out.$k" ] || { echo "symbol-order: callgrind_control dumped nothing" >&2; exit 1; }
        args+=("$phase" "$work/cg.out.$k")
        phase=$next
        k=$((k + 1))
    done <"$work/marks"
    python3 "$root/scripts/symbol-order-callgrind.py" "${args[@]}" "$phase" "$work/cg.out"
}

write() { # the list in $work/ran (`PHASE NAME` lines) → $out, phase by phase
    mkdir -p "$(dirname "$out")"
    : >"$work/seen"
    {
        echo "# The functions uaol-supervisor up executes, put next to each other by the"
        echo "# release link (build.rs): first those of a running supervisor (a crash and"
        echo "# its restart, then the commands), then the start, a reload and the stop."
        echo "# Generated by scripts/symbol-order.sh; do not edit."
        for p in "${phases[@]}"; do
            awk -v p="$p" '$1 == p { print $2 }' "$work/ran" | sort -u | comm -12 - "$work/defined" \
                | comm -23 - "$work/seen" >"$work/phase"
            cat "$work/phase"
            sort -u "$work/seen" "$work/phase" -o "$work/seen"
        done
    } >"$out"
}

echo "symbol-order: building the release binary with its symbols" >&2
build
# Functions defined in the binary's text, by name.
nm --defined-only "$bin" | awk '$2 ~ /^[tTwW]$/ { print $3 }' | sort -u >"$work/defined"

echo "symbol-order: running up under callgrind (contain = \"none\")" >&2
config none >"$work/supervisor.toml"
cfg=supervisor.toml
profiler=callgrind
workload valgrind --tool=callgrind --demangle=no --compress-strings=no \
    --callgrind-out-file="$work/cg.out"
[ -s "$work/cg.out" ] || { echo "symbol-order: callgrind wrote nothing" >&2; cat "$work/up.err" >&2; exit 1; }
callgrind_ran >"$work/ran"
write

config auto >"$work/supervisor.toml"
cfg="$work/supervisor.toml"
profiler=perf
for round in 1 2 3 4 5 6; do
    build
    echo "symbol-order: round $round: up under perf record (page faults)" >&2
    workload perf record -q -k mono -e exceptions:page_fault_user \
        -e syscalls:sys_enter_madvise -c 1 -o "$work/pf.data" --
    perf script -i "$work/pf.data" -F comm,pid,tid,time,event,trace \
        --show-mmap-events --show-task-events 2>/dev/null \
        | python3 "$root/scripts/symbol-order-faults.py" "$bin" "$work/marks" restart \
            >"$work/new"
    cp "$out" "$work/before"
    cat "$work/new" >>"$work/ran"
    write
    changed=$(diff "$work/before" "$out" | grep -c '^>' || true)
    echo "symbol-order: $changed functions added or moved to an earlier phase" >&2
    [ "$changed" -gt 0 ] || break
done

# Put the stripped binary back (cargo relinks: the flags changed).
(cd "$root" && cargo "${restore[@]}")
echo "symbol-order: $(grep -vc '^#' "$out") functions written to $out" >&2
