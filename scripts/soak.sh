#!/usr/bin/env bash
# Chaos soak (docs/reliability.md): `scripts/soak.sh [SECONDS]` (default 180).
# Runs `uaol-supervisor up` with 50 services of mixed behaviour while random
# children and grandchildren are SIGKILLed, then checks: every restartable
# service running again, crash-loopers `failed`, no persistent zombie, no
# process left after SIGTERM, bounded RSS growth, no panic, no lost or
# duplicated output line. Prints a summary; exits non-zero on any violation.
#
#   UAOL_BIN=path       the binary to soak (default: build target/release)
#   SOAK_PROFILE=debug  build and soak the debug binary instead
#   SOAK_ARGS="..."     extra driver options (--kill-interval, --settle, --keep, ...)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-180}

if [ -z "${UAOL_BIN:-}" ]; then
  if [ "${SOAK_PROFILE:-release}" = debug ]; then
    cargo build --quiet --bin uaol-supervisor
    UAOL_BIN=target/debug/uaol-supervisor
  else
    cargo build --quiet --release --bin uaol-supervisor
    UAOL_BIN=target/release/uaol-supervisor
  fi
fi
command -v python3 >/dev/null || { echo "soak.sh: needs python3" >&2; exit 2; }
# shellcheck disable=SC2086
exec python3 scripts/soak/soak.py --bin "$(realpath "$UAOL_BIN")" --seconds "$seconds" ${SOAK_ARGS:-}
