#!/usr/bin/env bash
# db-init: initialise the example's PostgreSQL once (idempotent; a oneshot run by
# the supervisor before `postgres`). Everything lives in examples/uaol/data/:
#   pgdata/  the cluster: TLS-only TCP on the URL's port, SCRAM passwords, no Unix socket
#   tls/     a private CA (ca.crt, trusted via sslrootcert=) and a server certificate for localhost
# User, password, port and database come from DATABASE_URL, read the way the
# services' driver reads it (scripts/db-params.js). Delete data/ to start over.
set -euo pipefail
. "$(dirname "$0")/pg-common.sh"

command -v openssl >/dev/null 2>&1 || die "openssl not found: apt-get install -y openssl"
command -v node >/dev/null 2>&1 || die "node not found: apt-get install -y nodejs (or https://nodejs.org)"
[ -d "$EXAMPLE_DIR/node_modules/pg" ] || die "run 'npm ci' in $EXAMPLE_DIR first (scripts/demo.sh does)"

params=$(node "$EXAMPLE_DIR/scripts/db-params.js") || die "cannot read DATABASE_URL"
eval "$params" # DB_USER, DB_NAME, DB_PORT: validated plain identifiers / a number

# The settings the supervisor may change between runs (port, TLS files) are
# rewritten every time; pgdata/postgresql.conf includes this file.
write_conf() {
  cat >"$PGDATA_DIR/uaol.conf" <<CONF
# Written by examples/uaol/scripts/db-init.sh on every run; edit .env, not this.
listen_addresses = 'localhost'
port = $DB_PORT
unix_socket_directories = ''      # TCP only, and pg_hba.conf allows only hostssl
ssl = on
ssl_cert_file = '../tls/server.crt'
ssl_key_file = '../tls/server.key'
ssl_min_protocol_version = 'TLSv1.2'
password_encryption = 'scram-sha-256'
log_checkpoints = off             # quieter demo output
CONF
  [ -z "$RUN_AS" ] || chown "$RUN_AS:" "$PGDATA_DIR/uaol.conf"
}

check_reachable() {
  # As root, the data must be reachable by $RUN_AS: e.g. a clone under /root (0700) is not.
  [ -z "$RUN_AS" ] && return 0
  as_db_user test -x "$DATA_DIR" ||
    die "user '$RUN_AS' cannot reach $DATA_DIR (a parent directory is not searchable, e.g. /root is 0700). Clone the repository outside /root (e.g. under /srv or /tmp), or make its parent directories searchable (chmod o+x on each)"
}

# A postmaster already running on this data directory (another `up`?) would
# make ours crash-loop on the lock file: say so once, clearly, instead.
if [ -f "$PGDATA_DIR/postmaster.pid" ]; then
  pid=$(head -n 1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null || true)
  case $(cat "/proc/${pid:-0}/comm" 2>/dev/null) in postgres | postmaster)
    die "the example database is already running (postmaster PID $pid, data $PGDATA_DIR): is another 'uaol-supervisor up' running? Stop it first" ;;
  esac
fi

if [ -f "$MARKER" ] && [ -f "$PGDATA_DIR/PG_VERSION" ]; then
  check_reachable
  write_conf
  echo "db-init: reusing the initialised database in $DATA_DIR (port $DB_PORT)"
  exit 0
fi

# A half-done earlier attempt (no marker) is thrown away: this directory is ours.
rm -rf "$PGDATA_DIR" "$TLS_DIR" "$DATA_DIR/.pwfile"
mkdir -p "$DATA_DIR" "$TLS_DIR"
chmod 0700 "$DATA_DIR"
[ -z "$RUN_AS" ] || chown "$RUN_AS:" "$DATA_DIR"
check_reachable

echo "db-init: creating a private CA and a server certificate for localhost"
(
  cd "$TLS_DIR"
  ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -days 3650 -sha256 \
    -subj "/CN=uaol example dev CA (throwaway)" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -new "${ec[@]}" -keyout server.key -out server.csr \
    -subj "/CN=localhost" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" \
    "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" >server.ext
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out server.crt -days 825 -sha256 -extfile server.ext 2>/dev/null
  rm -f ca.key ca.srl server.csr server.ext # nothing else may ever be signed by this CA
  chmod 0600 server.key
  chmod 0644 ca.crt server.crt
)
[ -z "$RUN_AS" ] || chown -R "$RUN_AS:" "$TLS_DIR"

echo "db-init: initdb (superuser '$DB_USER', SCRAM password from DATABASE_URL)"
pwfile=$DATA_DIR/.pwfile
node "$EXAMPLE_DIR/scripts/db-params.js" --pwfile "$pwfile" >/dev/null
[ -z "$RUN_AS" ] || chown "$RUN_AS:" "$pwfile"
as_db_user "$PG_BIN/initdb" -D "$PGDATA_DIR" -U "$DB_USER" --pwfile="$pwfile" \
  --auth-host=scram-sha-256 --auth-local=scram-sha-256 -E UTF8 --no-locale >/dev/null ||
  { rm -f "$pwfile"; die "initdb failed"; }
rm -f "$pwfile"

cat >"$PGDATA_DIR/pg_hba.conf" <<'HBA'
# Written by examples/uaol/scripts/db-init.sh: TLS-only TCP on loopback, SCRAM.
# TYPE     DATABASE  USER  ADDRESS       METHOD
hostssl    all       all   127.0.0.1/32  scram-sha-256
hostssl    all       all   ::1/128       scram-sha-256
HBA
echo "include_if_exists = 'uaol.conf'" >>"$PGDATA_DIR/postgresql.conf"
write_conf
[ -z "$RUN_AS" ] || chown "$RUN_AS:" "$PGDATA_DIR/pg_hba.conf" "$PGDATA_DIR/postgresql.conf"

echo "db-init: creating database '$DB_NAME'"
# Single-user mode: no server, no network, no password needed.
if ! out=$(echo "CREATE DATABASE \"$DB_NAME\";" |
  as_db_user "$PG_BIN/postgres" --single -D "$PGDATA_DIR" postgres 2>&1) ||
  grep -q 'ERROR:' <<<"$out"; then
  echo "$out" >&2
  die "could not create database $DB_NAME"
fi

date -u +%Y-%m-%dT%H:%M:%SZ >"$MARKER"
echo "db-init: done; PostgreSQL will listen on localhost:$DB_PORT (TLS only)"
