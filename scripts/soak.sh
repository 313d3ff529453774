#!/usr/bin/env bash
# Soak: digits trained for 300 epochs with a checkpoint after every epoch. Memory must stay flat
# (peak RSS after 30 and after 300 epochs within 5 %) and the checkpoint directory must hold
# nothing but the checkpoint (model.safetensors, state.json).
# Usage: scripts/soak.sh [DIGITS_CSV]   (default ../shared/data/digits.csv); run it niced.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/data/digits.csv}"
cargo build --release -p discesa-cli
BIN=target/release/discesa
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

peak_kib() { # epochs -> peak RSS in KiB of a run of that many epochs
    local dir="$WORK/ck-$1"
    /usr/bin/time -v "$BIN" train --data "$DATA" --target digit --hidden 256,128 --dropout 0.3 \
        --batch-size 32 --epochs "$1" --seed 1 --threads 1 --checkpoint "$dir" --json \
        >"$WORK/out-$1.txt" 2>"$WORK/time-$1.txt"
    local left
    left="$(ls -A "$dir" | sort | tr '\n' ' ')"
    if [ "$left" != "model.safetensors state.json " ]; then
        echo "FAIL: $1 epochs left in the checkpoint directory: $left" >&2
        exit 1
    fi
    grep 'Maximum resident set size' "$WORK/time-$1.txt" | awk '{print $NF}'
}

short=$(peak_kib 30)
long=$(peak_kib 300)
echo "peak RSS: 30 epochs ${short} KiB, 300 epochs ${long} KiB"
tail -n1 "$WORK/out-300.txt"
awk -v a="$short" -v b="$long" 'BEGIN {
    d = (b - a) / a * 100; printf "difference %.2f %%\n", d;
    exit (d > 5 || d < -5) }' || { echo "FAIL: memory grew by more than 5 %" >&2; exit 1; }
echo "OK: flat memory, no stray files"
