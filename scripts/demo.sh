#!/usr/bin/env bash
# The README's first command: check the prerequisites, build uaol-supervisor,
# install the example's npm packages, then run the example backend
# (examples/uaol/, configured by ./supervisor.toml) with `uaol-supervisor up`.
# Ctrl-C stops everything. Extra arguments go to `up` (e.g. service names).
#
# As root with apt-get, missing packages are installed (UAOL_DEMO_NO_INSTALL=1
# to only report them). The example database is initialised on the first run
# and reused afterwards (examples/uaol/data/; delete it to start over).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_pkgs=()
manual=()
have() { command -v "$1" >/dev/null 2>&1; }

if ! have node || ! have npm; then
  apt_pkgs+=(nodejs npm)
elif [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 18 ]; then
  manual+=("Node.js >= 18 (found $(node --version)): https://nodejs.org or your distribution's newer nodejs")
fi
if ! ls /usr/lib/postgresql/*/bin/initdb /usr/pgsql-*/bin/initdb >/dev/null 2>&1 &&
  ! { have initdb && have postgres; } && [ -z "${PG_BIN:-}" ]; then
  apt_pkgs+=(postgresql)
fi
have openssl || apt_pkgs+=(openssl)
have cargo || manual+=("Rust (cargo): curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh")

if [ ${#apt_pkgs[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && have apt-get && [ -z "${UAOL_DEMO_NO_INSTALL:-}" ]; then
  echo "demo: installing ${apt_pkgs[*]} (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
  apt_pkgs=()
fi
if [ ${#apt_pkgs[@]} -gt 0 ] || [ ${#manual[@]} -gt 0 ]; then
  {
    echo "demo: missing prerequisites. Install them, then run scripts/demo.sh again:"
    [ ${#apt_pkgs[@]} -eq 0 ] || {
      echo "  Debian/Ubuntu:  sudo apt-get install -y ${apt_pkgs[*]}"
      echo "  Fedora:         sudo dnf install -y ${apt_pkgs[*]/postgresql/postgresql-server}"
      echo "  macOS:          brew install ${apt_pkgs[*]/nodejs/node}"
    }
    for m in ${manual[@]+"${manual[@]}"}; do echo "  $m"; done
  } >&2
  exit 1
fi

echo "demo: cargo build --release" >&2
cargo build --release --quiet

# npm ci only when the lockfile changed since the last install.
if [ ! -f examples/uaol/node_modules/.package-lock.json ] ||
  [ examples/uaol/package-lock.json -nt examples/uaol/node_modules/.package-lock.json ]; then
  echo "demo: npm ci (examples/uaol)" >&2
  (cd examples/uaol && npm ci --no-audit --no-fund --loglevel=error)
fi

# The example uses fixed ports; another copy of it (another checkout, a test
# run) would answer on them and fail our database gate in confusing ways.
busy=()
for port in 25432 3000 3001 3002; do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && busy+=("$port")
done
if [ ${#busy[@]} -gt 0 ]; then
  echo "demo: port(s) ${busy[*]} already in use on 127.0.0.1 — is the example already running (another scripts/demo.sh, a test run)? Stop it first." >&2
  exit 1
fi

cat >&2 <<'MSG'
demo: starting the example backend. Once it is up, try (in another terminal):
  curl -s http://127.0.0.1:3000/health          # every service: database, port, TLS
  target/release/uaol-supervisor env auth-service --explain
Ctrl-C stops everything.
MSG
exec target/release/uaol-supervisor -c supervisor.toml up "$@"
