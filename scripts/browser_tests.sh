#!/usr/bin/env bash
# End-to-end tests of `discesa serve` in headless chromium (crates/discesa-serve/browser-tests).
# Uses the discesa binary that `cargo test` built (or builds one), skips with a message when
# chromium, node or playwright-core is missing, and writes the screenshots to docs/serve/.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=crates/discesa-serve/browser-tests
chromium=${CHROMIUM:-/usr/bin/chromium}
missing=""
[ -x "$chromium" ] || missing="chromium ($chromium)"
command -v node >/dev/null 2>&1 || missing="${missing:+$missing, }node"
[ -d "$dir/node_modules/playwright-core" ] || missing="${missing:+$missing, }playwright-core (run scripts/setup.sh)"
if [ -n "$missing" ]; then
  echo "SKIP browser tests: missing $missing"
  exit 0
fi
if [ -z "${DISCESA_BIN:-}" ]; then
  [ -x target/debug/discesa ] || cargo build -q -p discesa-cli
  export DISCESA_BIN="$PWD/target/debug/discesa"
fi
cd "$dir"
exec timeout 300 node --test --test-concurrency=1 e2e.test.mjs
