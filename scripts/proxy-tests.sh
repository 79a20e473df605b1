#!/usr/bin/env bash
# Behind a real reverse proxy: Debian's nginx with a throwaway self-signed certificate, running
# deploy/nginx-faultbook.conf (ports and paths substituted) in front of the release binary.
# Files a case with a photo over https from another loopback address and checks that faultbook
# recorded that address, that the limits fit, and that the service worker registers over https.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v nginx >/dev/null 2>&1 || need+=(nginx)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Debian's package starts its own nginx on port 80; this test needs none of it.
if command -v systemctl >/dev/null 2>&1; then systemctl stop nginx >/dev/null 2>&1 || true; fi
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
cargo build --release --locked
bin="${CARGO_TARGET_DIR:-target}/release/faultbook"

tmp=$(mktemp -d)
server="" proxy=""
cleanup() {
  for pid in $proxy $server; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "proxy test FAILED: $*" >&2
  echo "--- faultbook log ---" >&2; tail -n 30 "$tmp/faultbook.log" >&2 || true
  echo "--- nginx error log ---" >&2; tail -n 30 "$tmp/error.log" >&2 || true
  exit 1
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
app_port=$(free_port) https_port=$(free_port) http_port=$(free_port)
base="https://127.0.0.1:$https_port"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" \
  -keyout "$tmp/privkey.pem" -out "$tmp/fullchain.pem" 2>/dev/null

sed -e "s|listen 80;|listen 127.0.0.1:$http_port;|" \
    -e "s|listen 443 ssl;|listen 127.0.0.1:$https_port ssl;|" \
    -e "s|127.0.0.1:8080|127.0.0.1:$app_port|g" \
    -e "s|/etc/ssl/faultbook/|$tmp/|g" \
    deploy/nginx-faultbook.conf >"$tmp/site.conf"
mkdir -p "$tmp/nginx-temp"
cat >"$tmp/nginx.conf" <<CONF
daemon off;
master_process off;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
events {}
http {
  access_log $tmp/access.log;
  client_body_temp_path $tmp/nginx-temp/body;
  proxy_temp_path $tmp/nginx-temp/proxy;
  fastcgi_temp_path $tmp/nginx-temp/fastcgi;
  uwsgi_temp_path $tmp/nginx-temp/uwsgi;
  scgi_temp_path $tmp/nginx-temp/scgi;
  include $tmp/site.conf;
}
CONF
nginx -t -p "$tmp" -c "$tmp/nginx.conf" 2>"$tmp/nginx-t.log" || { cat "$tmp/nginx-t.log"; fail "nginx refuses the site file"; }

data="$tmp/data"
tech=$("$bin" --data-dir "$data" token create --name proxy-tablet --role tech 2>/dev/null)
admin=$("$bin" --data-dir "$data" token create --name proxy-admin --role admin 2>/dev/null)
"$bin" --addr "127.0.0.1:$app_port" --data-dir "$data" --content-dir content \
  --base-url "$base" --trusted-proxy 127.0.0.1/32 >"$tmp/faultbook.log" 2>&1 &
server=$!
nginx -p "$tmp" -c "$tmp/nginx.conf" &
proxy=$!

for _ in $(seq 1 100); do
  if curl -sfk "$base/healthz" >/dev/null 2>&1; then break; fi
  kill -0 "$server" 2>/dev/null || fail "faultbook did not start"
  kill -0 "$proxy" 2>/dev/null || fail "nginx did not start"
  sleep 0.2
done

# 1. A case with a photo, over https, from 127.0.0.2: a client that is not the proxy.
code=$(curl -sk --interface 127.0.0.2 -o "$tmp/case.json" -w '%{http_code}' \
  -H "Authorization: Bearer $tech" -H "Idempotency-Key: proxy-1" \
  -F 'case={"verbatim_alarm":"Bad_Timeout through the proxy","outcome":"fixed"};type=application/json' \
  -F "photo=@tests/browser/fixtures/cabinet.jpg;type=image/jpeg" \
  "$base/api/cases")
[ "$code" = 201 ] || fail "filing through nginx answered $code: $(cat "$tmp/case.json")"
read -r id photo < <(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(c["id"], c["photos"][0]["id"])' "$tmp/case.json")
code=$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tech" "$base/photos/$photo.jpg")
[ "$code" = 200 ] || fail "the photo through nginx answered $code"
echo "ok: case $id with its photo filed and served over https"

# 2. faultbook logged the client's address, not the proxy's.
curl -sfk -H "Authorization: Bearer $admin" "$base/admin/audit.csv" >"$tmp/audit.csv" || fail "audit CSV"
python3 - "$tmp/audit.csv" "$id" <<'PY' || fail "the audit log does not name the client's address"
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1], newline="")) if r["target"] == sys.argv[2]]
assert rows, "no audit entry for the case"
assert all(r["address"] == "127.0.0.2" for r in rows), rows
PY
echo "ok: the audit log names 127.0.0.2, the client, for the filing"

# 3. A forged X-Forwarded-For from the client does not hide its address.
code=$(curl -sk --interface 127.0.0.2 -o "$tmp/case2.json" -w '%{http_code}' \
  -H "Authorization: Bearer $tech" -H "Idempotency-Key: proxy-2" -H "X-Forwarded-For: 10.9.9.9" \
  -H 'Content-Type: application/json' -d '{"verbatim_alarm":"Bad_Timeout forged","outcome":"fixed"}' \
  "$base/api/cases")
[ "$code" = 201 ] || fail "second filing answered $code"
id2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$tmp/case2.json")
curl -sfk -H "Authorization: Bearer $admin" "$base/admin/audit.csv" >"$tmp/audit.csv"
python3 - "$tmp/audit.csv" "$id2" <<'PY' || fail "a forged X-Forwarded-For was believed"
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1], newline="")) if r["target"] == sys.argv[2]]
assert rows and all(r["address"] == "127.0.0.2" for r in rows), rows
PY
echo "ok: a forged X-Forwarded-For is not believed"

# 4. An upload over faultbook's limit gets faultbook's own 413, not nginx's.
head -c 62000000 /dev/zero >"$tmp/big.jpg"
code=$(curl -sk -o "$tmp/big.out" -w '%{http_code}' -H "Authorization: Bearer $tech" \
  -H "Idempotency-Key: proxy-3" -F 'case={"verbatim_alarm":"x","outcome":"fixed"};type=application/json' \
  -F "photo=@$tmp/big.jpg;type=image/jpeg" "$base/api/cases")
[ "$code" = 413 ] || fail "a 62 MB upload answered $code"
grep -q '"error"' "$tmp/big.out" || fail "the 413 is nginx's, not faultbook's: $(head -c 200 "$tmp/big.out")"
echo "ok: a 62 MB upload gets faultbook's 413"

# 5. Plain http is sent to https; /metrics is not served through the proxy; assets cache long;
#    one request id in both logs.
loc=$(curl -s -o /dev/null -w '%{redirect_url}' "http://127.0.0.1:$http_port/guides")
[[ "$loc" == https://* ]] || fail "http was not redirected to https ($loc)"
code=$(curl -sk -o /dev/null -w '%{http_code}' "$base/metrics")
[ "$code" = 404 ] || fail "/metrics through the proxy answered $code"
asset=$(curl -sfk "$base/" | grep -o '/static/[^"]*\.css' | head -n 1)
curl -sfkI "$base$asset" | grep -qi 'cache-control: public, max-age=31536000, immutable' || fail "asset cache header"
rid=$(curl -sfkI "$base/guides" | tr -d '\r' | awk 'tolower($1)=="x-request-id:" {print $2}')
[[ "$rid" =~ ^[0-9a-f]{32}$ ]] || fail "x-request-id through nginx is '$rid', not nginx's \$request_id"
echo "ok: http redirects, /metrics stays private, assets cache a year, request id $rid kept"

# 6. The service worker registers over https (a secure context, as phones require).
FAULTBOOK_URL="$base" node tests/proxy/service-worker.mjs || fail "service worker over https"
echo "proxy tests passed"
