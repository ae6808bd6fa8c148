#!/usr/bin/env bash
# Run every fuzz target (fuzz/, cargo-fuzz + libFuzzer) for SECONDS each, one
# after the other, single process. Installs cargo-fuzz when missing; works on
# stable Rust (RUSTC_BOOTSTRAP=1 lets stable accept the sanitizer flags).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default: 60 s, every target
#
# New inputs go to fuzz/corpus/<target>/ (not committed; kept between runs);
# the committed seeds are read from fuzz/seeds/ and tests/corpus/. A crash is
# saved under fuzz/artifacts/<target>/ and makes the script exit 1: turn it
# into a regression test (see docs/reliability.md).
set -euo pipefail

secs="${1:-60}"
shift || true
cd "$(dirname "$0")/.."
root="$PWD"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(url_libpq url_nodepg validate dotenv plan)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi
if ! rustc --version | grep -q nightly; then
    export RUSTC_BOOTSTRAP=1
fi

# Seeds (read-only corpus dirs) and dictionary per target.
seeds() {
    case "$1" in
        url_libpq | url_nodepg) echo "fuzz/seeds/url" ;;
        validate) echo "fuzz/seeds/validate" ;;
        dotenv) echo "fuzz/seeds/dotenv tests/corpus/config/bad" ;;
        plan) echo "fuzz/seeds/plan tests/corpus/config" ;;
        *) echo "fuzz: unknown target $1" >&2; exit 2 ;;
    esac
}
dict() {
    case "$1" in
        url_libpq | url_nodepg | validate) echo "fuzz/dict/url.dict" ;;
        dotenv) echo "fuzz/dict/dotenv.dict" ;;
        plan) echo "fuzz/dict/toml.dict" ;;
    esac
}

for t in "${targets[@]}"; do seeds "$t" >/dev/null; done

echo "fuzz: building the targets (release, ASan)" >&2
(cd fuzz && cargo fuzz build -O)

summary=()
failed=0
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    log="fuzz/artifacts/$t/last-run.log"
    dirs=()
    for d in $(seeds "$t"); do dirs+=("$root/$d"); done
    # libFuzzer writes new inputs to the first directory; the others are seeds.
    set +e
    (cd fuzz && cargo fuzz run -O "$t" "corpus/$t" "${dirs[@]}" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -dict="$root/$(dict "$t")" -print_final_stats=1) >"$log" 2>&1
    rc=$?
    set -e
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -n 1)
    units=$(find "fuzz/corpus/$t" -type f | wc -l)
    if [ "$rc" -ne 0 ]; then
        failed=1
        echo "fuzz: $t FAILED (exit $rc); see $log and fuzz/artifacts/$t/" >&2
        grep -A1 -E "panicked|ERROR: libFuzzer|Test unit written" "$log" | head -n 8 >&2 || true
    fi
    summary+=("$t ${execs:-0} execs, corpus $units, $([ "$rc" -eq 0 ] && echo ok || echo CRASH)")
done

echo "fuzz (${secs}s per target):"
printf '  %s\n' "${summary[@]}"
exit "$failed"
