#!/usr/bin/env bash
# End to end, non-interactive: the example under `uaol-supervisor run`, twice
# (the second run must reuse the initialised database), then check that
# nothing was left behind (no listener on the example's ports, no server on
# its data directory); then once under `up`, SIGKILLed: with containment
# (`contain = "auto"`, a PID namespace) nothing may be left behind either.
# For scripts/test.sh or a Rust test to call.
#
#   examples/uaol/tests/e2e.sh            # uses target/release/uaol-supervisor (builds it if missing)
#   UAOL_SUPERVISOR=/path/to/bin examples/uaol/tests/e2e.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
ROOT=$PWD
BIN=${UAOL_SUPERVISOR:-$ROOT/target/release/uaol-supervisor}
PORTS=(3000 3001 3002 3003 25432)

fail() {
  echo "e2e: FAIL: $*" >&2
  exit 1
}
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
leftovers() {
  for p in "${PORTS[@]}"; do listening "$p" && echo "port $p still listening"; done
  # node services and the postgres server of this example (whatever the user they run as).
  for d in /proc/[0-9]*; do
    comm=$(cat "$d/comm" 2>/dev/null) || continue
    case $comm in node | postgres | postmaster) ;; *) continue ;; esac
    [ "$(cut -d' ' -f3 "$d/stat" 2>/dev/null)" = Z ] && continue # a zombie holds nothing
    cmd=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null) || continue
    case $cmd in *examples/uaol/services/* | *examples/uaol/scripts/* | *examples/uaol/data/pgdata*)
      echo "process ${d#/proc/} still running: $cmd" ;;
    esac
  done
  return 0
}

command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
  fail "node and npm are needed (apt-get install -y nodejs npm)"
[ -x "$BIN" ] || cargo build --release --quiet
[ -d examples/uaol/node_modules/pg ] || (cd examples/uaol && npm ci --no-audit --no-fund --loglevel=error)

# The example's ports are fixed: test runs from several checkouts on one
# machine take turns (a running scripts/demo.sh is reported below instead).
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TMPDIR:-/tmp}/uaol-example-e2e.lock"
  flock -w 300 9 || fail "another e2e run held the lock for 5 minutes"
fi

before=$(leftovers)
[ -z "$before" ] || fail "the example is already running (stop it first):"$'\n'"$before"
for round in 1 2; do
  log=$(mktemp)
  start=$(date +%s%N)
  set +e
  timeout -k 5 120 "$BIN" -c supervisor.toml run -- node examples/uaol/tests/integration.js >"$log" 2>&1 9>&-
  rc=$?
  set -e
  ms=$((($(date +%s%N) - start) / 1000000))
  if [ $rc -ne 0 ]; then
    tail -n 60 "$log" >&2
    fail "round $round: run exited $rc after ${ms}ms"
  fi
  grep -q "^# pass 4" "$log" || { tail -n 40 "$log" >&2; fail "round $round: integration.js did not pass 4 tests"; }
  if [ $round = 2 ]; then
    grep -q "reusing the initialised database" "$log" || fail "round 2 did not reuse the initialised database"
  fi
  left=$(leftovers)
  [ -z "$left" ] || fail "round $round left things behind:"$'\n'"$left"
  echo "e2e: round $round ok in ${ms}ms (run exit 0, 4 tests passed, nothing left behind)"
  rm -f "$log"
done

# Round 3: `up`, then kill -9 of it. No cleanup by anyone: the PID namespace
# of the services dies with `up`, PostgreSQL and every node process included.
log=$(mktemp)
"$BIN" -c supervisor.toml up >"$log" 2>&1 9>&- &
up=$!
all=0
for _ in $(seq 1 900); do
  all=1
  for p in "${PORTS[@]}"; do listening "$p" || all=0; done
  [ $all = 1 ] && break
  kill -0 "$up" 2>/dev/null || break
  sleep 0.1
done
if [ $all != 1 ] || ! grep -q "containment: pidns" "$log"; then
  kill -9 "$up" 2>/dev/null || true
  tail -n 40 "$log" >&2
  fail "round 3: the example did not come up contained under up"
fi
{ kill -9 "$up" && wait "$up"; } 2>/dev/null || true
left=$(leftovers)
for _ in $(seq 1 20); do
  [ -z "$left" ] && break
  sleep 0.1
  left=$(leftovers)
done
[ -z "$left" ] || fail "round 3: kill -9 of up left things behind:"$'\n'"$left"
echo "e2e: round 3 ok (kill -9 of up: contained, nothing left behind)"
# The one thing a SIGKILLed `up` cannot remove: its control socket file.
sock=$(sed -n 's/.*control socket \(\/[^ "]*\).*/\1/p' "$log" | head -n 1)
[ -z "$sock" ] || rm -f "$sock"
rm -f "$log"
