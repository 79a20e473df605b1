#!/usr/bin/env bash
# Mixed traffic against the release binary on loopback, the load generator on the same machine:
# searches, guide pages and case pages as fast as they come, and a steady stream of filings
# with a photo. Prints throughput, p50 and p99 per route, errors, lost cases and peak memory.
#
#   bash scripts/load.sh                 # five minutes
#   LOAD_SECONDS=60 bash scripts/load.sh # a shorter run
#   LOAD_SYNC=normal bash scripts/load.sh  # the same with synchronous=NORMAL, for comparison
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${LOAD_SECONDS:-300}
sync=${LOAD_SYNC:-full}
filing_ms=${LOAD_FILING_MS:-250}
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

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
data="$tmp/data"
token=$("$bin" --data-dir "$data" token create --name load-runner --role tech 2>/dev/null)
# One token files for the whole run, so its per-minute write limit is raised for it.
"$bin" --addr "127.0.0.1:$port" --data-dir "$data" --content-dir content \
  --sqlite-synchronous "$sync" --write-limit 100000 >"$tmp/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -sf "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

# Case pages need cases: 2,000 filed through the API before the run.
python3 - "$base" "$token" "$tmp/cases.txt" <<'PY'
import json, sys, urllib.request
base, token, out = sys.argv[1:4]
alarms = ["Bad_ConnectionRejected", "Bad_Timeout", "EngineFailureTimeout", "Bad_CertificateUntrusted", "S7Plus ConnState 9"]
with open(out, "w") as f:
    for i in range(2000):
        body = json.dumps({"verbatim_alarm": f"{alarms[i % 5]} seed {i}", "outcome": "fixed",
                           "cell": f"C{i % 40:02d}", "line": f"L{i % 6}", "fix_applied": "reseated the cable"}).encode()
        req = urllib.request.Request(base + "/api/cases", data=body, method="POST", headers={
            "Authorization": "Bearer " + token, "Content-Type": "application/json",
            "Idempotency-Key": f"seed-{i}"})
        f.write("/cases/" + json.load(urllib.request.urlopen(req))["id"] + "\n")
PY
curl -sf "$base/api/guides" | python3 -c 'import json,sys; [print("/guides/" + g["slug"]) for g in json.load(sys.stdin)]' >"$tmp/guides.txt"

# Phase 1, a busy shift: every route at a steady pace, filings with photos all along.
echo "shift: ${seconds}s of searches, guide pages, case pages and a filing with a photo every ${filing_ms} ms (synchronous=$sync)"
wrk -t1 -c4 -d"${seconds}s" --latency -s bench/load/search.lua "$base" -- 20 >"$tmp/search.out" 2>&1 &
w1=$!
wrk -t1 -c4 -d"${seconds}s" -s bench/load/paths.lua "$base" -- "GET /guides/{slug}" "$tmp/guides.txt" 10 >"$tmp/guides.out" 2>&1 &
w2=$!
wrk -t1 -c2 -d"${seconds}s" -s bench/load/paths.lua "$base" -- "GET /cases/{id}" "$tmp/cases.txt" 20 "$token" >"$tmp/cases.out" 2>&1 &
w3=$!
wrk -t1 -c1 -d"${seconds}s" -s bench/load/filing.lua "$base" -- "$token" "$filing_ms" shift >"$tmp/filing.out" 2>&1 &
w4=$!
wait $w1 $w2 $w3 $w4

# Phase 2, capacity: guide pages as fast as they are answered while filings go on.
burst=${LOAD_BURST_SECONDS:-30}
echo "capacity: ${burst}s of guide pages on 16 connections, filings going on"
wrk -t1 -c16 -d"${burst}s" -s bench/load/paths.lua "$base" -- "GET /guides/{slug} (flat out)" "$tmp/guides.txt" 0 >"$tmp/burst.out" 2>&1 &
w5=$!
wrk -t1 -c1 -d"${burst}s" -s bench/load/filing.lua "$base" -- "$token" "$filing_ms" capacity >"$tmp/burst-filing.out" 2>&1 &
w6=$!
wait $w5 $w6
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
kill -TERM "$server"
wait "$server" || true
server=""

python3 - "$tmp" "$data/faultbook.db" "$peak_kb" <<'PY'
import json, sqlite3, sys
tmp, db, peak_kb = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = []
for name in ["search", "guides", "cases", "filing", "burst", "burst-filing"]:
    text = open(f"{tmp}/{name}.out").read()
    line = next((l for l in text.splitlines() if l.startswith("{")), None)
    if line is None:
        sys.exit(f"wrk {name} printed no result:\n{text}")
    rows.append(json.loads(line))
print(f"{'route':<32} {'requests':>9} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}")
errors = 0
for r in rows:
    e = r["socket_errors"] + r["bad_status"]
    errors += e
    print(f"{r['route']:<32} {r['requests']:>9} {r['per_second']:>8.1f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['max_ms']:>8.2f} {e:>7}")
acked = rows[3]["statuses"].get("201", 0) + rows[5]["statuses"].get("201", 0)
for r in rows:
    odd = {k: v for k, v in r["statuses"].items() if not k.startswith("2")}
    if odd:
        print(f"  {r['route']}: answers other than 2xx: {odd}")
stored = sqlite3.connect(db).execute(
    "SELECT COUNT(*) FROM cases WHERE verbatim_alarm LIKE 'Bad_Timeout load run %'").fetchone()[0]
print(f"filings acknowledged: {acked}, stored after the stop: {stored}, lost: {max(acked - stored, 0)}")
print(f"errors: {errors}; server peak RSS: {peak_kb / 1024:.1f} MiB")
if errors or stored < acked:
    sys.exit(1)
PY
