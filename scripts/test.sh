#!/usr/bin/env bash
# Runs every test suite faultbook has, installing what the suites need first.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --locked --workspace --all-targets
bash scripts/browser-tests.sh
bash scripts/proxy-tests.sh
