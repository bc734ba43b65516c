#!/usr/bin/env bash
# A private image registry on 127.0.0.1 for the pull tests (Debian docker-registry; the
# engine trusts a loopback registry over plain HTTP, so nothing leaves the machine):
#   private-registry.sh start PORT
#       serves target/berth-registry/data on 127.0.0.1:PORT and prints the directory
#   private-registry.sh stop
source "$(dirname "$0")/lib.sh"

DIR="$BERTH_ROOT/target/berth-registry"

start() {
  local port="$1"
  command -v docker-registry >/dev/null || apt_install docker-registry
  stop
  mkdir -p "$DIR/data"
  cat >"$DIR/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $DIR/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
  docker-registry serve "$DIR/config.yml" >"$DIR/registry.log" 2>&1 &
  echo $! >"$DIR/registry.pid"
  for _ in $(seq 1 40); do
    if curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; then
      echo "$DIR"; return 0
    fi
    sleep 0.25
  done
  log "the private registry did not answer:"; tail -n 20 "$DIR/registry.log" >&2
  return 1
}

stop() {
  [ -f "$DIR/registry.pid" ] || return 0
  kill "$(cat "$DIR/registry.pid")" 2>/dev/null || true
  rm -f "$DIR/registry.pid"
}

case "${1:-}" in
  start) start "${2:?port}" ;;
  stop) stop ;;
  *) echo "usage: $0 start PORT | stop" >&2; exit 2 ;;
esac
