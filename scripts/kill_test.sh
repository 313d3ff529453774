#!/usr/bin/env bash
# The kill -9 test of crates/discesa-cli/tests/checkpoint_kill.rs on a real MNIST run instead of
# its small synthetic data set: KILLS kills (default 20) at random moments of a 5-epoch run.
# Usage: scripts/kill_test.sh [MNIST_DIR]   (default ../shared/data/mnist; the test runs in the
# package directory, so the path is made absolute)
set -euo pipefail
cd "$(dirname "$0")/.."
DISCESA_KILL_DATA="$(realpath "${1:-../shared/data/mnist}")" \
DISCESA_KILL_TARGET="" \
DISCESA_KILL_EPOCHS="${EPOCHS:-5}" \
DISCESA_KILLS="${KILLS:-20}" \
    cargo test --release -p discesa-cli --test checkpoint_kill -- --nocapture
