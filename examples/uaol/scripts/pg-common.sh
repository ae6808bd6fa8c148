# Shared by db-init.sh and postgres.sh (sourced, not run): where the example
# database lives, where the PostgreSQL server binaries are, and how to drop
# root privileges (PostgreSQL refuses to run as root; demos and CI often are root).

EXAMPLE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA_DIR=${UAOL_DATA_DIR:-$EXAMPLE_DIR/data}
PGDATA_DIR=$DATA_DIR/pgdata
TLS_DIR=$DATA_DIR/tls
MARKER=$DATA_DIR/.initialised

die() {
  echo "$(basename "$0"): $*" >&2
  exit 1
}

# The server binaries: $PG_BIN, else on PATH, else Debian/Ubuntu
# (/usr/lib/postgresql/N/bin) or PGDG RPM (/usr/pgsql-N/bin) layouts, newest first.
find_pg_bin() {
  if [ -n "${PG_BIN:-}" ]; then
    echo "$PG_BIN"
  elif command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1; then
    dirname "$(command -v postgres)"
  else
    ls -d /usr/lib/postgresql/*/bin /usr/pgsql-*/bin 2>/dev/null | sort -V | tail -n 1
  fi
}
PG_BIN=$(find_pg_bin)
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/initdb" ] ||
  die "PostgreSQL server binaries not found (initdb, postgres). Install them: apt-get install -y postgresql (Debian/Ubuntu), dnf install -y postgresql-server (Fedora), brew install postgresql (macOS); or set PG_BIN=/path/to/bin"

# Who runs PostgreSQL: ourselves, or — as root — $UAOL_PG_USER, else the
# `postgres` user the distribution package creates, else `nobody`.
if [ "$(id -u)" = 0 ]; then
  if [ -n "${UAOL_PG_USER:-}" ]; then
    RUN_AS=$UAOL_PG_USER
  elif id -u postgres >/dev/null 2>&1; then
    RUN_AS=postgres
  else
    RUN_AS=nobody
  fi
  id -u "$RUN_AS" >/dev/null 2>&1 || die "user '$RUN_AS' (UAOL_PG_USER) does not exist"
else
  RUN_AS=
fi

# as_db_user CMD...: run CMD as $RUN_AS (exec'd directly by setpriv, keeping
# the supervisor's parent-death signal, which a uid change would clear).
as_db_user() {
  if [ -z "$RUN_AS" ]; then
    "$@"
  elif command -v setpriv >/dev/null 2>&1; then
    setpriv --reuid="$RUN_AS" --regid="$(id -g "$RUN_AS")" --init-groups --pdeathsig keep -- "$@"
  else
    runuser -u "$RUN_AS" -- "$@"
  fi
}
