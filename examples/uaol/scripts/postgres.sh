#!/usr/bin/env bash
# The example's PostgreSQL, in the foreground, so uaol-supervisor supervises the
# postmaster itself (stop it with SIGINT = fast shutdown). Initialised by db-init.sh.
set -euo pipefail
. "$(dirname "$0")/pg-common.sh"

[ -f "$MARKER" ] && [ -f "$PGDATA_DIR/PG_VERSION" ] ||
  die "$PGDATA_DIR is not initialised: run examples/uaol/scripts/db-init.sh first (the supervisor's db-init oneshot does)"

# PostgreSQL writes its whole log to stderr; it is a log, not an error stream.
exec 2>&1

if [ -n "$RUN_AS" ]; then
  echo "postgres.sh: running as root; starting PostgreSQL as user '$RUN_AS'"
  if command -v setpriv >/dev/null 2>&1; then
    exec setpriv --reuid="$RUN_AS" --regid="$(id -g "$RUN_AS")" --init-groups --pdeathsig keep -- \
      "$PG_BIN/postgres" -D "$PGDATA_DIR"
  fi
  exec runuser -u "$RUN_AS" -- "$PG_BIN/postgres" -D "$PGDATA_DIR"
fi
exec "$PG_BIN/postgres" -D "$PGDATA_DIR"
