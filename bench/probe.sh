#!/usr/bin/env bash
# Benchmark: one full `uaol-supervisor probe` (DNS → TCP → TLS 1.3 → SCRAM-SHA-256-PLUS →
# two queries → Terminate) against a local PostgreSQL, versus `psql -c 'select 1'`
# (same TLS + SCRAM) and `pg_isready` (no TLS, no login), in the same run.
# Prints a markdown table of medians and the stripped release binary size.
#
#   bench/probe.sh [RUNS]        (default 21; needs PostgreSQL server + client, openssl)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-21}
BIN=/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -V | tail -1)/bin
WORK=$(mktemp -d /tmp/uaol-bench.XXXXXX)
PGPID=
cleanup() { [ -n "$PGPID" ] && kill -QUIT "$PGPID" 2>/dev/null; sleep 0.3; rm -rf "$WORK"; }
trap cleanup EXIT

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$WORK"

[ -n "${UAOL_BIN:-}" ] || cargo build --release --quiet
SUP=${UAOL_BIN:-target/release/uaol-supervisor}

# Private CA + server certificate for localhost.
(
  cd "$WORK"
  ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=bench CA" -keyout ca.key -out ca.crt \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
  openssl req "${ec[@]}" -subj /CN=localhost -keyout server.key -out server.csr 2>/dev/null
  printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' > ext.cnf
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -out server.crt 2>/dev/null
  chmod 600 server.key
  [ "$(id -u)" = 0 ] && chown postgres server.key server.crt
) 

PASS='p@ss:w/rd #1%x'
ENC='p%40ss%3Aw%2Frd%20%231%25x'
as_pg "$BIN/initdb" -D "$WORK/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >/dev/null
printf "CREATE ROLE app LOGIN PASSWORD '%s';\nCREATE DATABASE appdb OWNER app;\n" "$PASS" |
  as_pg "$BIN/postgres" --single -D "$WORK/data" postgres >/dev/null 2>"$WORK/single.log"
printf 'local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all 127.0.0.1/32 reject\n' > "$WORK/data/hba.conf"
[ "$(id -u)" = 0 ] && chown postgres "$WORK/data/hba.conf"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$BIN/postgres" -D "$WORK/data" -p "$PORT" -c listen_addresses=127.0.0.1 -c fsync=off \
  -c unix_socket_directories="$WORK/data" -c hba_file="$WORK/data/hba.conf" \
  -c ssl=on -c ssl_cert_file="$WORK/server.crt" -c ssl_key_file="$WORK/server.key" >"$WORK/pg.log" 2>&1 &
PGPID=$!
for _ in $(seq 100); do pg_isready -q -h 127.0.0.1 -p "$PORT" && break; sleep 0.05; done
# runuser forks: find the postmaster itself for the cleanup.
PGPID=$(head -1 "$WORK/data/postmaster.pid")

URL="postgresql://app:$ENC@localhost:$PORT/appdb?sslmode=verify-full&sslrootcert=$WORK/ca.crt"

median_ms() { # command... → median wall time in ms over $RUNS runs (must succeed)
  local t=()
  for _ in $(seq "$RUNS"); do
    local s e
    s=$(date +%s%N); "$@" >/dev/null 2>&1 || { echo "FAILED: $1" >&2; exit 1; }; e=$(date +%s%N)
    t+=($(( (e - s) / 1000 )))
  done
  printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}

P=$(median_ms "$SUP" probe --url "$URL" --wait 0s)
Q=$(median_ms psql "$URL" -X -q -c 'select 1')
R=$(median_ms pg_isready -h localhost -p "$PORT")
S1=$(median_ms "$SUP" --version)
S2=$(median_ms psql --version)
SIZE=$(stat -c %s "$SUP")

echo "| command ($RUNS runs, median) | what it does | ms |"
echo "|---|---|---:|"
echo "| \`uaol-supervisor probe\` | DNS, TCP, TLS 1.3 verify-full, SCRAM-SHA-256-PLUS, 2 queries, Terminate | $P |"
echo "| \`psql \"\$URL\" -c 'select 1'\` | TCP, TLS verify-full, SCRAM-SHA-256-PLUS, 1 query | $Q |"
echo "| \`pg_isready\` | TCP + startup packet, no TLS, no login | $R |"
echo "| \`uaol-supervisor --version\` | process start only (baseline) | $S1 |"
echo "| \`psql --version\` | process start only (baseline) | $S2 |"
echo
echo "release binary (stripped): $SIZE bytes ($(awk "BEGIN {printf \"%.2f\", $SIZE/1048576}") MiB)"
