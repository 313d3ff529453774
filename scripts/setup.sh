#!/usr/bin/env bash
# Installs what the build needs beyond the Rust toolchain. Today that is a C compiler (for the
# mimalloc allocator); the script is idempotent and quiet when everything is present.
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
