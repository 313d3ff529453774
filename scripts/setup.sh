#!/usr/bin/env bash
# Installs what the build and the tests need beyond the Rust toolchain: a C compiler (for the
# mimalloc allocator), Open MPI and libclang (the `mpi` feature), and optionally Fashion-MNIST,
# chromium and node (browser tests). Idempotent and quiet when everything is present.
set -euo pipefail
need=()
command -v cc >/dev/null 2>&1 || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need[@]}"
  else
    echo "setup: please install: ${need[*]}" >&2; exit 1
  fi
fi

# MPI (the `mpi` cargo feature and its tests in .ci/run): Open MPI, and libclang for the mpi
# crate's bindgen. Required by CI; a plain `cargo build` needs none of it.
mpi_need=()
command -v mpirun >/dev/null 2>&1 || mpi_need+=(openmpi-bin)
[ -e /usr/include/x86_64-linux-gnu/openmpi/mpi.h ] || [ -n "$(find /usr/include /usr/lib -name mpi.h -path '*openmpi*' -print -quit 2>/dev/null)" ] \
  || mpi_need+=(libopenmpi-dev)
# bindgen loads libclang.so* or libclang-<version>.so*; libclang-cpp (which other packages pull
# in) is not it.
[ -n "$(find /usr/lib /usr/lib64 \( -name 'libclang.so*' -o -name 'libclang-[0-9]*.so*' \) -print -quit 2>/dev/null)" ] \
  || mpi_need+=(libclang-dev)
if [ ${#mpi_need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${mpi_need[@]}" >/dev/null
  else
    echo "setup: please install: ${mpi_need[*]} (MPI tests)" >&2; exit 1
  fi
fi

# Fashion-MNIST (Debian's dataset-fashion-mnist, files in /usr/share/datasets/fashion-mnist).
# Optional: without it the Fashion-MNIST tests say so and are skipped.
if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends dataset-fashion-mnist; } >/dev/null 2>&1 \
    || echo "setup: could not install dataset-fashion-mnist; the Fashion-MNIST tests will be skipped" >&2
fi

# Browser tests of `discesa serve` (scripts/browser_tests.sh): Debian's chromium, node and npm,
# and playwright-core from the lockfile (it never downloads a browser of its own). Optional: if
# they cannot be installed, the browser tests say so and are skipped.
optional=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || optional+=(chromium)
command -v node >/dev/null 2>&1 || optional+=(nodejs)
command -v npm >/dev/null 2>&1 || optional+=(npm)
if [ ${#optional[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${optional[@]}"; } >/dev/null 2>&1 \
    || echo "setup: could not install ${optional[*]}; the browser tests will be skipped" >&2
fi
browser_tests="$(dirname "$0")/../crates/discesa-serve/browser-tests"
if command -v npm >/dev/null 2>&1 && [ ! -d "$browser_tests/node_modules/playwright-core" ]; then
  (cd "$browser_tests" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent) \
    || echo "setup: npm ci failed in $browser_tests; the browser tests will be skipped" >&2
fi
