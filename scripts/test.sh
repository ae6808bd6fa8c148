#!/usr/bin/env bash
# The test command (README "Quickstart"): installs what the tests need when missing, then
# runs the format check, clippy and every test. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# PostgreSQL server binaries: the probe tests start a real server (TLS + SCRAM).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  need_apt+=(postgresql)
fi
# psql / pg_isready for the probe benchmark and cross-checks.
command -v psql >/dev/null 2>&1 || need_apt+=(postgresql-client)
# openssl CLI: the test harness makes a private CA and server certificates.
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
# node + npm: the quickstart example's end-to-end test (real pg driver).
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
# systemd-analyze: `export systemd` output is checked with the real validator.
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test.sh: installing ${need_apt[*]} (apt)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "test.sh: missing ${need_apt[*]}; install them (sudo apt-get install ${need_apt[*]}) — tests that need them will fail" >&2
  fi
fi

# kubernetes-validate: `export kubernetes` output is checked with the real validator.
if ! command -v kubernetes-validate >/dev/null 2>&1; then
  python3 -m pip install -q kubernetes-validate >/dev/null 2>&1 ||
    echo "test.sh: could not install kubernetes-validate (pip); its tests will fail" >&2
  # pyenv installs console scripts behind shims that exist only after a rehash.
  command -v pyenv >/dev/null 2>&1 && pyenv rehash >/dev/null 2>&1 || true
fi

echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo clippy" >&2
cargo clippy --all-targets --quiet -- -D warnings
# The code's own documentation (module docs, intra-doc links) stays whole:
# no broken, private or ambiguous links. Only this crate (--no-deps): seconds.
echo "== cargo doc" >&2
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --document-private-items --quiet
echo "== cargo test" >&2
cargo test --all-targets --quiet 2>&1
# The fuzz targets are their own workspace (cargo-fuzz); compile them without
# the sanitizer build so an API rename in the library cannot break them unseen.
echo "== fuzz targets compile (cargo check in fuzz/)" >&2
(cd fuzz && cargo check --bins --quiet)
# The quickstart, end to end: the example backend under `run`, twice (fresh
# and reusing its database), nothing left behind. Uses the debug build above.
echo "== examples/uaol end to end" >&2
# As root, the example's PostgreSQL runs as `postgres`, which must be able to
# reach examples/uaol/data: a checkout under a 0700 directory (e.g. /root) is
# made traversable (search bit only, o+x) on the way down, and said so.
if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 &&
  ! runuser -u postgres -- test -x "$PWD/examples/uaol" 2>/dev/null; then
  d=$PWD
  while [ "$d" != / ]; do
    if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
      echo "test.sh: chmod o+x $d (so user postgres can reach the example's data)" >&2
      chmod o+x "$d"
    fi
    d=$(dirname "$d")
  done
fi
cargo build --quiet
UAOL_SUPERVISOR="$PWD/target/debug/uaol-supervisor" bash examples/uaol/tests/e2e.sh
# The build SPEC describes and the benchmark measures (README "Build"): the
# static binary (glibc's own `files`/`dns` lookups, the probe's TLS) runs the
# same example end to end.
if [ "$(uname -m)-$(uname -s)" = x86_64-Linux ] && ldd --version 2>&1 | grep -qi glibc; then
  echo "== examples/uaol end to end, static build (cargo build-static)" >&2
  cargo build-static --quiet
  UAOL_SUPERVISOR="$PWD/target/x86_64-unknown-linux-gnu/release/uaol-supervisor" \
    bash examples/uaol/tests/e2e.sh
fi
# The chaos soak's 60 s mode (docs/reliability.md): 50 services, random
# SIGKILLs, zombie/RSS/leftover/lost-line checks. Uses the debug build above.
echo "== chaos soak (60 s)" >&2
UAOL_BIN="$PWD/target/debug/uaol-supervisor" scripts/soak.sh 60
