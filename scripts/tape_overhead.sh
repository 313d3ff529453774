#!/usr/bin/env bash
# Share of a training step spent outside the numeric kernels, for the 20-layer 64-wide MLP at
# batch 16 (the overhead-bound workload). Samples `discesa bench` with perf and sorts every sampled
# symbol into: matrix kernels (gemm crate and our gemm wrapper), elementwise/reduction kernels
# (discesa::tensor), buffer fills and copies (memset/memmove), and everything else (tape, backward
# bookkeeping, allocation, the training loop). Needs `perf` (Debian: linux-perf).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/discesa}
DATA=$(mktemp /tmp/discesa-perf.XXXXXX)
trap 'rm -f "$DATA"' EXIT
perf record -q -F 4999 -o "$DATA" taskset -c "${CPU:-0}" "$BIN" bench --threads 1 --quick \
  --only mlp_deep_train --batches 16 >/dev/null 2>&1
perf report -i "$DATA" --no-children --sort symbol --stdio 2>/dev/null | awk '
  /^ +[0-9.]+%/ {
    p = $1; sub("%", "", p); sym = $0; sub(/^ +[0-9.]+% +\[[^]]*\] +/, "", sym)
    if (sym ~ /gemm/) k["matrix kernels"] += p
    else if (sym ~ /discesa::tensor::/) k["elementwise and reduction kernels"] += p
    else if (sym ~ /memset|memmove|memcpy/) k["buffer fills and copies"] += p
    else k["outside the kernels (tape, bookkeeping, allocation, loop)"] += p
    total += p
  }
  END { for (c in k) printf "%6.1f%%  %s\n", 100 * k[c] / total, c }' | sort -rn
