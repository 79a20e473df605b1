#!/usr/bin/env bash
# The scale figures of the README, side by side in one run on this machine: filing rate and
# /api/search p50/p99 on SQLite and on PostgreSQL, index rebuild time from the database for
# 100,000 and 1,000,000 cases, and the catch-up lag between two nodes under a steady filing load.
#   bash scripts/scale-figures.sh                   # 20 s per load, 1,000,000 cases at the end
#   SCALE_SECONDS=10 SCALE_BIG=300000 bash scripts/scale-figures.sh
# PostgreSQL runs with its durable defaults (fsync on), started by scripts/with-postgres.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${FAULTBOOK_TEST_PG:-}" ]; then
  exec env FB_PG_DURABLE=1 bash scripts/with-postgres.sh bash "$0" "$@"
fi
seconds=${SCALE_SECONDS:-20}
big=${SCALE_BIG:-1000000}
command -v wrk >/dev/null 2>&1 || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
}
command -v sqlite3 >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null
cargo build --release --locked -q
bin="${CARGO_TARGET_DIR:-target}/release/faultbook"
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

admin=$FAULTBOOK_TEST_PG
pg_url() { echo "${admin%/*}/$1"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# serve NAME DATA_DIR DATABASE_URL [PHOTO_DIR]: starts a node, sets $base and $pid.
serve() {
  local name=$1 data=$2 url=$3 photos=${4:-$2/photos} port
  port=$(free_port)
  DATABASE_URL=$url "$bin" --addr "127.0.0.1:$port" --data-dir "$data" --photo-dir "$photos" \
    --content-dir content --write-limit 1000000 >"$tmp/$name.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  base="http://127.0.0.1:$port"
  for _ in $(seq 1 600); do curl -sf "$base/healthz" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "node $name did not start:" >&2
  cat "$tmp/$name.log" >&2
  exit 1
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }
wrk_line() {
  python3 -c '
import json, sys
r = json.loads(next(l for l in sys.stdin if l.startswith("{")))
print("%.0f/s, p50 %.2f ms, p99 %.2f ms, errors %d" % (r["per_second"], r["p50_ms"], r["p99_ms"], r["socket_errors"] + r["bad_status"]))'
}

# Synthetic cases straight into the tables (ids 1..N, a minute apart), the same on both engines.
fill() {
  local engine=$1 url=$2 from=$3 to=$4 data=$5
  local cols="id, created_at, verbatim_alarm, outcome, idempotency_key, request_hash, site, line, cell, asset, fix_applied, alarm_key"
  if [ "$engine" = sqlite ]; then
    sqlite3 "$data/faultbook.db" "INSERT INTO cases ($cols)
      WITH RECURSIVE s(g) AS (SELECT $from UNION ALL SELECT g + 1 FROM s WHERE g < $to)
      SELECT printf('%08x-0000-4000-8000-%012x', g, g),
             strftime('%Y-%m-%dT%H:%M:%S', '2020-01-01', '+' || g || ' minutes') || '.000000Z',
             'Bad_Timeout 0x' || printf('%04X', g % 4096) || ' on PLC-' || (g % 300) || ' scale' || g,
             'fixed', 'scale-' || g, '', 'Plant ' || (g % 20), 'L' || (g % 12), 'C' || (g % 40),
             'PLC-' || (g % 300), 'Reseated the module and reset the fault', NULL FROM s;"
  else
    psql -q "$url" -c "INSERT INTO cases ($cols)
      SELECT lpad(to_hex(g), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(g), 12, '0'),
             to_char(timestamp '2020-01-01' + g * interval '1 minute', 'YYYY-MM-DD\"T\"HH24:MI:SS') || '.000000Z',
             'Bad_Timeout 0x' || upper(lpad(to_hex(g % 4096), 4, '0')) || ' on PLC-' || (g % 300) || ' scale' || g,
             'fixed', 'scale-' || g, '', 'Plant ' || (g % 20), 'L' || (g % 12), 'C' || (g % 40),
             'PLC-' || (g % 300), 'Reseated the module and reset the fault', NULL
      FROM generate_series($from, $to) g;"
  fi
}

rebuild() {
  local url=$1 data=$2 started ended
  started=$(date +%s.%N)
  DATABASE_URL=$url "$bin" --data-dir "$data" --content-dir content reindex >/dev/null
  ended=$(date +%s.%N)
  python3 -c "print('%.1f s' % ($ended - $started))"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "PostgreSQL: $(psql -tA "$admin" -c 'show server_version'), fsync $(psql -tA "$admin" -c 'show fsync'); SQLite synchronous=FULL"
for engine in sqlite postgres; do
  data="$tmp/$engine"
  mkdir -p "$data"
  if [ "$engine" = sqlite ]; then url="sqlite://$data/faultbook.db"; else
    psql -q "$admin" -c "CREATE DATABASE scale_one"; url=$(pg_url scale_one); fi
  token=$(DATABASE_URL=$url "$bin" --data-dir "$data" token create --name scale --role tech 2>/dev/null)
  serve "$engine" "$data" "$url"
  echo "$engine filing (4 connections, ${seconds} s): $(wrk -t1 -c4 -d"${seconds}s" -s bench/load/filing-json.lua "$base" -- "$token" "$engine" | wrk_line)"
  stop "$pid"
  fill "$engine" "$url" 1 100000 "$data"
  echo "$engine rebuild of the index from the database, 100,000 cases: $(rebuild "$url" "$data")"
  serve "$engine" "$data" "$url"
  echo "$engine /api/search (4 connections, ${seconds} s, 100,000 cases): $(wrk -t1 -c4 -d"${seconds}s" -s bench/load/search.lua "$base" | wrk_line)"
  stop "$pid"
done

# Two nodes on one PostgreSQL database and one photo folder, a filing every 100 ms on A.
psql -q "$admin" -c "CREATE DATABASE scale_two"
url=$(pg_url scale_two)
mkdir -p "$tmp/a" "$tmp/b" "$tmp/photos"
token=$(DATABASE_URL=$url "$bin" --data-dir "$tmp/a" token create --name lag --role tech 2>/dev/null)
serve a "$tmp/a" "$url" "$tmp/photos"; a=$base; a_pid=$pid
serve b "$tmp/b" "$url" "$tmp/photos"; b=$base
echo "two nodes, catch-up lag: $(python3 bench/load/node-lag.py "$a" "$b" "$token" 10 "$seconds")"
# The same while B also serves searches flat out.
wrk -t1 -c2 -d"${seconds}s" -s bench/load/search.lua "$b" >/dev/null &
searching=$!
echo "two nodes, catch-up lag while B answers searches on 2 connections: $(python3 bench/load/node-lag.py "$a" "$b" "$token" 10 "$seconds")"
wait "$searching" || true
stop "$a_pid"

data="$tmp/postgres"
url=$(pg_url scale_one)
fill postgres "$url" 100001 "$big" "$data"
echo "postgres rebuild of the index from the database, $big cases: $(rebuild "$url" "$data")"
fill sqlite "sqlite://$tmp/sqlite/faultbook.db" 100001 "$big" "$tmp/sqlite"
echo "sqlite rebuild of the index from the database, $big cases: $(rebuild "sqlite://$tmp/sqlite/faultbook.db" "$tmp/sqlite")"
