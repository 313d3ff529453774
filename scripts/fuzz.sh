#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ (cargo fuzz, libFuzzer) for SECONDS each (default 600), one
# after the other, keeping each corpus in fuzz/corpus/<target> and crashes in
# fuzz/artifacts/<target>. Prints each target's executions and whether it crashed.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]      (run it niced: nice -n 19 scripts/fuzz.sh)
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a nightly toolchain; with stable only,
# RUSTC_BOOTSTRAP=1 lets stable rustc take the nightly flags cargo fuzz passes.
set -uo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-600}"
shift || true
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    fuzz=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <("${fuzz[@]}" list)
"${fuzz[@]}" build -O || exit 1
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log="$(mktemp)"
    "${fuzz[@]}" run -O "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=8192 -malloc_limit_mb=1024 \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    if [ $rc -eq 0 ]; then
        echo "$t: ${runs:-?} executions in ${secs}s, no crash"
    else
        status=1
        echo "$t: CRASH after ${runs:-?} executions (exit $rc); artifact:"
        grep -E 'Test unit written to|panicked at' "$log" | head -3
    fi
    rm -f "$log"
done
exit $status
