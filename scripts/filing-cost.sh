#!/usr/bin/env bash
# What durable commits cost: filings (JSON, no photo) as fast as they are acknowledged, on four
# connections, once with synchronous=FULL and once with NORMAL, each on a fresh data folder.
#   bash scripts/filing-cost.sh            # 20 s each
#   COST_SECONDS=60 bash scripts/filing-cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${COST_SECONDS:-20}
command -v wrk >/dev/null 2>&1 || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
}
cargo build --release --locked -q
bin="${CARGO_TARGET_DIR:-target}/release/faultbook"
tmp=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

for sync in full normal; do
  data="$tmp/$sync"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  token=$("$bin" --data-dir "$data" token create --name cost --role tech 2>/dev/null)
  "$bin" --addr "127.0.0.1:$port" --data-dir "$data" --content-dir content \
    --sqlite-synchronous "$sync" --write-limit 1000000 >"$tmp/$sync.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
  printf 'synchronous=%-6s ' "$sync"
  wrk -t1 -c4 -d"${seconds}s" -s bench/load/filing-json.lua "http://127.0.0.1:$port" -- "$token" "$sync" |
    python3 -c '
import json, sys
r = json.loads(next(l for l in sys.stdin if l.startswith("{")))
errors = r["socket_errors"] + r["bad_status"]
print("%.0f filings/s, p50 %.2f ms, p99 %.2f ms, errors %d" % (r["per_second"], r["p50_ms"], r["p99_ms"], errors))
' 
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
done
