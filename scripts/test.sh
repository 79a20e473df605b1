#!/usr/bin/env bash
# Runs every test suite faultbook has, installing what the suites need first.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every suite on SQLite (the embedded default) ...
cargo test --locked --workspace --all-targets
# ... and again on a real PostgreSQL started for the run (each test makes its own database),
# with the two-node test, which needs PostgreSQL. Same build: nothing is compiled twice.
bash scripts/with-postgres.sh cargo test --locked --workspace --all-targets
bash scripts/browser-tests.sh
bash scripts/proxy-tests.sh
