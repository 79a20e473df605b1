#!/usr/bin/env bash
# Browser tests: Debian's Chromium driven by playwright-core (from the committed lockfile)
# against the release binary, started on a free loopback port with a temporary data folder
# that holds two accounts made with the command line: a tech and an admin.
set -euo pipefail
cd "$(dirname "$0")/.."

# The synthetic alarm photos of the photo-search test are drawn in these fonts.
need=""
command -v chromium >/dev/null 2>&1 || need="chromium"
for font in fonts-dejavu-core fonts-dejavu-extra fonts-liberation; do
  dpkg -s "$font" >/dev/null 2>&1 || need="$need $font"
done
if [ -n "$need" ]; then
  apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
cargo build --release --locked

data=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$data"
}
trap cleanup EXIT

# Fresh passwords every run (at least 12 characters, never a common one), passed to the tests
# through the environment only.
new_password() { python3 -c 'import secrets; print("cabinet lamp " + secrets.token_urlsafe(12))'; }
export FB_TECH_USER=floortech FB_TECH_PASSWORD="$(new_password)"
export FB_ADMIN_USER=plantadmin FB_ADMIN_PASSWORD="$(new_password)"
# The CLI reads the password from the first line of stdin when stdin is not a terminal.
printf '%s\n' "$FB_TECH_PASSWORD" |
  "${CARGO_TARGET_DIR:-target}/release/faultbook" --data-dir "$data" user add "$FB_TECH_USER" --role tech
printf '%s\n' "$FB_ADMIN_PASSWORD" |
  "${CARGO_TARGET_DIR:-target}/release/faultbook" --data-dir "$data" user add "$FB_ADMIN_USER" --role admin

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${CARGO_TARGET_DIR:-target}/release/faultbook" --addr "127.0.0.1:$port" --data-dir "$data" --content-dir content >"$data/server.log" 2>&1 &
server=$!

for _ in $(seq 1 100); do
  if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
    "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then cat "$data/server.log"; exit 1; fi
  sleep 0.2
done

if ! FAULTBOOK_URL="http://127.0.0.1:$port" npm --prefix tests/browser test; then
  echo "--- last lines of the server log ---" >&2
  tail -n 40 "$data/server.log" >&2
  exit 1
fi
