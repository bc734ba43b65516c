#!/usr/bin/env bash
# A private PostgreSQL for the account tests, like engine.sh's private Docker engine:
#   postgres.sh start   installs Debian's postgresql when missing, runs initdb into a fresh
#                       temporary directory (as the postgres user: initdb refuses root),
#                       starts it on 127.0.0.1 only and prints its URL.
#   postgres.sh stop    stops it and removes the directory.
# Trust authentication is safe here: it listens on loopback, on a port only this run uses,
# and holds nothing but test data.
source "$(dirname "$0")/lib.sh"

STATE_DIR="$BERTH_ROOT/target/berth-test"
DIR_FILE="$STATE_DIR/postgres.dir"
PORT="${BERTH_TEST_PG_PORT:-55432}"

# As the cluster's owner: postgres when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

bin_dir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

start() {
  [ -n "$(bin_dir)" ] || apt_install postgresql
  local bin dir
  bin="$(bin_dir)"
  mkdir -p "$STATE_DIR"
  stop 2>/dev/null || true
  dir="$(mktemp -d /tmp/berth-postgres.XXXXXX)"
  echo "$dir" >"$DIR_FILE"
  [ "$(id -u)" -ne 0 ] || chown postgres "$dir"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $dir" start >/dev/null \
    || { cat "$dir/server.log" >&2; return 1; }
  as_owner "$bin/createdb" -h 127.0.0.1 -p "$PORT" -U postgres berth_test
  echo "postgres://postgres@127.0.0.1:$PORT/berth_test"
}

stop() {
  [ -f "$DIR_FILE" ] || return 0
  local dir
  dir="$(cat "$DIR_FILE")"
  if [ -d "$dir/data" ]; then
    as_owner "$(bin_dir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir" "$DIR_FILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
