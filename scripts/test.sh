#!/usr/bin/env bash
# Runs every test suite faultbook has, installing what the suites need first.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --locked --all-targets
# Doc tests are not part of --all-targets.
cargo test --locked --doc
bash scripts/browser-tests.sh
