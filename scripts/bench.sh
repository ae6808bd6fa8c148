#!/usr/bin/env bash
# The benchmark command (docs/performance.md): installs the peers when
# missing, builds the C floor and meters and uaol-supervisor (release), then
# measures them all in one run. Prints a markdown table; raw JSON goes to
# bench/results/ (git-ignored).
#
#   scripts/bench.sh            full run (3 runs, N = 10/200/1000, ~15 min on 2 cores,
#                               installs, Horust build and the probe aside)
#   scripts/bench.sh --quick    1 run, smaller N and sizes (~2 min), for iteration
#   scripts/bench.sh --only floor,uaol,s6   a subset (keys: floor uaol s6 runit
#                                           supervisord honcho pm2 horust)
#   UAOL_OLD_BIN=/path/to/old/uaol-supervisor UAOL_OLD_LABEL=abc1234 \
#     scripts/bench.sh --only floor,uaol,uaol-old   before/after, same run
#   BENCH_PROBE=0 scripts/bench.sh ...      skip the database probe row
#   scripts/bench.sh --write [FILE]         also put the markdown into FILE (default
#     docs/performance.md) between the lines <!-- bench:table:begin --> and
#     <!-- bench:table:end -->; refused at once (exit 2) when they are missing
#   scripts/bench.sh --render bench/results/latest.json --write   re-render a saved run
# Peers are installed into the system (apt, pip) or into bench/.deps (npm,
# cargo); nothing outside is touched otherwise. Needs root for apt.
set -euo pipefail
# The whole command must end within 30 minutes: the driver begins no run that
# would end after this deadline (installs and builds count too).
END=$(( $(date +%s) + ${BENCH_MINUTES:-29} * 60 ))
cd "$(dirname "$0")/.."
ROOT=$PWD
DEPS=$ROOT/bench/.deps
mkdir -p "$DEPS/bin" bench/results
say() { echo "bench.sh: $*" >&2; }
# `--only a,b`: install and build only what those columns need.
ONLY=""
WRITE=""
prev=""
for a in "$@"; do
  case $a in
    --only=*) ONLY=${a#--only=} ;;
    --write=*) WRITE=${a#--write=} ;;
    --write) WRITE=docs/performance.md ;;
  esac
  [ "$prev" = --only ] && ONLY=$a
  [ "$prev" = --write ] && [[ $a != -* ]] && WRITE=$a
  prev=$a
done
wants() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
# `--write FILE`: refuse before installing, building and measuring, not after.
if [ -n "$WRITE" ]; then
  python3 bench/publish.py "$WRITE" || exit 2
fi
# `--render JSON`: nothing to install or build.
for a in "$@"; do
  case $a in --render|--render=*) exec python3 bench/bench.py "$@" ;; esac
done

# --- peers -----------------------------------------------------------------
need_apt=()
wants s6 && { command -v s6-svscan >/dev/null 2>&1 || need_apt+=(s6); }
wants runit && { command -v runsvdir >/dev/null 2>&1 || need_apt+=(runit); }
command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
wants pm2 && { command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm); }
# The database probe row (bench/probe.sh): a local PostgreSQL server, psql, openssl.
if [ "${BENCH_PROBE:-1}" != 0 ] && [ -f bench/probe.sh ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
  command -v psql >/dev/null 2>&1 || need_apt+=(postgresql-client)
  command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing ${need_apt[*]} (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # --no-install-recommends: no runit-init / runit-run (no boot integration).
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null ||
      say "apt could not install ${need_apt[*]}; their columns will say 'not installed'"
  else
    say "missing ${need_apt[*]} and not root; their columns will say 'not installed'"
  fi
fi
for tool in supervisor honcho; do
  bin=$tool; [ "$tool" = supervisor ] && bin=supervisord
  wants "$bin" || continue
  command -v "$bin" >/dev/null 2>&1 ||
    { say "installing $tool (pip)"; python3 -m pip install -q "$tool" >/dev/null 2>&1 ||
      say "pip could not install $tool"; }
done
if wants pm2 && [ ! -x "$DEPS/node_modules/.bin/pm2-runtime" ] && command -v npm >/dev/null 2>&1; then
  say "installing pm2 into bench/.deps (npm)"
  npm install --silent --no-audit --no-fund --prefix "$DEPS" pm2 >/dev/null 2>&1 ||
    say "npm could not install pm2"
fi
# Horust: from crates.io, bounded; if it does not build in time the column says "not built".
if wants horust && [ ! -x "$DEPS/horust/bin/horust" ]; then
  say "building horust (cargo install, at most ${HORUST_BUILD_TIMEOUT:-600} s)"
  if timeout "${HORUST_BUILD_TIMEOUT:-600}" cargo install horust --locked --quiet \
      --root "$DEPS/horust" --target-dir "$DEPS/horust-target" >/dev/null 2>&1; then
    rm -rf "$DEPS/horust-target"
  else
    say "horust did not build in time; its column says 'not built'"
  fi
fi

# supervisord's column writes to /dev/stdout: when that is a regular file (the
# symlink to /proc/self/fd/1 replaced), its relay would go there and the row
# would read "no output seen". Say so rather than publish such a row.
fd=0
for f in stdin stdout stderr; do
  if [ -e "/dev/$f" ] && [ ! -L "/dev/$f" ] && [ ! -c "/dev/$f" ]; then
    say "/dev/$f is a regular file, not a link to /proc/self/fd; restore it first:"
    say "  rm /dev/$f && ln -s /proc/self/fd/$fd /dev/$f"
    exit 2
  fi
  fd=$((fd + 1))
done

# --- our tools and uaol-supervisor ------------------------------------------
for t in floor lines sink ticker; do
  if [ ! -x "$DEPS/bin/$t" ] || [ "bench/$t.c" -nt "$DEPS/bin/$t" ]; then
    cc -O2 -Wall -Wextra -o "$DEPS/bin/$t" "bench/$t.c"
  fi
done
# The build measured is the one SPEC describes ("the binary links statically"):
# `cargo build-static` on x86_64 Linux with glibc, else the dynamic release build.
# UAOL_BIN=path measures another build instead; the summary line names the kind.
if [ -z "${UAOL_BIN:-}" ]; then
  STATIC=target/x86_64-unknown-linux-gnu/release/uaol-supervisor
  if [ "$(uname -m)-$(uname -s)" = x86_64-Linux ] && ldd --version 2>&1 | grep -qi glibc &&
      cargo build-static --quiet 2>/dev/null; then
    export UAOL_BIN=$ROOT/$STATIC UAOL_BUILD=static
  elif cargo build --release --quiet 2>/dev/null; then
    export UAOL_BIN=$ROOT/target/release/uaol-supervisor UAOL_BUILD=dynamic
  else
    say "cargo build --release failed; uaol-supervisor is left out"
    rm -f target/release/uaol-supervisor
  fi
fi

# --- the database probe row (bench/probe.sh writes its own markdown) --------
probe_md=""
if [ "${BENCH_PROBE:-1}" != 0 ] && { [ -x bench/probe.sh ] || [ -f bench/probe.sh ]; }; then
  say "running bench/probe.sh"
  probe_md=bench/results/probe.md
  bash bench/probe.sh >"$probe_md" 2>bench/results/probe.stderr ||
    { say "bench/probe.sh failed (see bench/results/probe.stderr)"; }
fi

say "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
exec python3 bench/bench.py --tools "$DEPS/bin" --end "$END" ${probe_md:+--probe-md "$probe_md"} "$@"
