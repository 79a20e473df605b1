#!/usr/bin/env bash
# Runs one command against a throwaway PostgreSQL server:
#   bash scripts/with-postgres.sh cargo test --locked
# Starts a private server (PostgreSQL 15 if present, else the newest installed, else Debian's
# package) on a free loopback port, exports FAULTBOOK_TEST_PG (the admin URL; tests create their
# own databases from it), runs the command, then stops the server and deletes its files, also on
# failure, Ctrl-C or SIGTERM. Exits with the command's exit code.
# If FAULTBOOK_TEST_PG is already set, the command simply runs against that server.
# FB_PG_DURABLE=1 keeps PostgreSQL's durability defaults (fsync on); benchmarks use that.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

if [ -n "${FAULTBOOK_TEST_PG:-}" ]; then
  exec "$@"
fi

find_bin() {
  if [ -x /usr/lib/postgresql/15/bin/initdb ] && [ -x /usr/lib/postgresql/15/bin/pg_ctl ]; then
    echo /usr/lib/postgresql/15/bin
    return 0
  fi
  local dir newest=""
  while IFS= read -r dir; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then newest=$dir; fi
  done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
  [ -n "$newest" ] && echo "$newest"
}

bin=$(find_bin || true)
if [ -z "$bin" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "with-postgres: PostgreSQL not found; installing it with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq postgresql >/dev/null; then
    apt-get update -qq >/dev/null || true
    apt-get install -y -qq postgresql >/dev/null || true
  fi
  bin=$(find_bin || true)
fi
if [ -z "$bin" ]; then
  echo "with-postgres: error: no PostgreSQL server binaries in /usr/lib/postgresql/*/bin" \
    "(install the postgresql package, or set FAULTBOOK_TEST_PG to an existing server)" >&2
  exit 1
fi

# initdb and pg_ctl refuse to run as root, so as root they run as the postgres system user.
if [ "$(id -u)" -eq 0 ]; then
  if ! id -u postgres >/dev/null 2>&1; then
    if getent group postgres >/dev/null 2>&1; then
      useradd --system --gid postgres --no-create-home --shell /usr/sbin/nologin postgres
    else
      useradd --system --user-group --no-create-home --shell /usr/sbin/nologin postgres
    fi
  fi
  as_pg() { (cd "$tmp" && runuser -u postgres -- "$@"); }
else
  as_pg() { (cd "$tmp" && "$@"); }
fi

tmp="" child="" started=0 cleaned=0
cleanup() {
  [ "$cleaned" -eq 1 ] && return 0
  cleaned=1
  if [ "$started" -eq 1 ]; then
    if ! as_pg "$bin/pg_ctl" -D "$tmp/data" -m immediate -w -t 30 stop >/dev/null 2>&1; then
      # pg_ctl could not stop it: kill the postmaster directly; its children follow it.
      local pid
      pid=$(head -n 1 "$tmp/data/postmaster.pid" 2>/dev/null || true)
      if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
      sleep 1
    fi
  fi
  if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
}
on_signal() {
  local sig=$1
  trap '' INT TERM HUP
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -"$sig" "$child" 2>/dev/null || true
    # Give the command 10 s to exit, then kill it: the server must not outlive this script.
    local i
    for ((i = 0; i < 100; i++)); do
      kill -0 "$child" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  cleanup
  # Die of the same signal, so callers see how the command ended.
  trap - EXIT "$sig"
  kill -"$sig" $$
  exit $((128 + $(kill -l "$sig")))
}
trap cleanup EXIT
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

# The postgres user must reach the folder, and the socket path must stay under ~100 bytes.
tmp=$(mktemp -d -t faultbook-pg.XXXXXX)
if [ ${#tmp} -gt 80 ] || [[ $tmp = *[[:space:]]* ]]; then
  rm -rf "$tmp"
  tmp=$(mktemp -d /tmp/faultbook-pg.XXXXXX)
fi
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$tmp"
  if ! runuser -u postgres -- test -w "$tmp"; then
    rm -rf "$tmp"
    tmp=$(mktemp -d /tmp/faultbook-pg.XXXXXX)
    chown postgres: "$tmp"
  fi
fi

initdb_args=(-D "$tmp/data" -U postgres --auth=trust -E UTF8)
if ! as_pg "$bin/initdb" "${initdb_args[@]}" --locale=C.UTF-8 >"$tmp/initdb.log" 2>&1; then
  # No C.UTF-8 locale on this machine: plain C sorts the same way (by code point).
  rm -rf "$tmp/data"
  if ! as_pg "$bin/initdb" "${initdb_args[@]}" --locale=C >>"$tmp/initdb.log" 2>&1; then
    echo "with-postgres: error: initdb failed:" >&2
    cat "$tmp/initdb.log" >&2
    exit 1
  fi
fi

free_port() {
  if command -v python3 >/dev/null 2>&1 &&
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null; then
    return 0
  fi
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    # A refused connection means nobody listens there.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
}

settings="-c listen_addresses=127.0.0.1 -k $tmp -c max_connections=300 -c shared_buffers=128MB"
if [ "${FB_PG_DURABLE:-}" != 1 ]; then
  # Throwaway test data: skipping crash-safety flushes makes tests much faster; FB_PG_DURABLE=1 keeps them.
  settings+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
fi

# Another process may grab the port between choosing and binding it, so try a few.
for attempt in 1 2 3 4 5; do
  port=$(free_port)
  started=1
  if as_pg "$bin/pg_ctl" -D "$tmp/data" -l "$tmp/log" -w -t 60 -o "$settings -p $port" start \
    >"$tmp/pg_ctl.log" 2>&1; then
    break
  fi
  as_pg "$bin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
  started=0
  if [ "$attempt" -eq 5 ] || ! grep -qi "address already in use" "$tmp/log" 2>/dev/null; then
    echo "with-postgres: error: the PostgreSQL server did not start:" >&2
    cat "$tmp/pg_ctl.log" "$tmp/log" >&2 2>/dev/null || true
    exit 1
  fi
  : >"$tmp/log"
done

version=$("$bin/postgres" --version | sed -n 's/.*(PostgreSQL) \([^ ]*\).*/\1/p')
echo "PostgreSQL ${version:-?} on 127.0.0.1:$port" >&2
export FAULTBOOK_TEST_PG="postgres://postgres@127.0.0.1:$port/postgres"

# Run the command in the background so a signal to this script reaches the trap at once;
# keep its stdin, and undo the SIGINT/SIGQUIT ignoring bash applies to background jobs.
(
  trap - INT QUIT
  exec "$@"
) <&0 &
child=$!
status=0
wait "$child" || status=$?
child=""
exit "$status"
