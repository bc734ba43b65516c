#!/usr/bin/env bash
# Test infrastructure for a real Docker engine:
#   engine.sh start   installs Docker when missing and starts a private engine if none answers
#                     (no default bridge, no iptables: test containers use --network none);
#                     prints "started" when it started one, so the caller can stop it.
#   engine.sh stop    stops the engine `start` started (pid in target/berth-test/dockerd.pid).
#   engine.sh image   creates the test image berth-test/busybox (docker import of busybox-static).
#   engine.sh sweep   removes containers left by interrupted test runs (label berth.test).
source "$(dirname "$0")/lib.sh"

STATE_DIR="$BERTH_ROOT/target/berth-test"
PID_FILE="$STATE_DIR/dockerd.pid"
TEST_IMAGE="berth-test/busybox:latest"

start() {
  if docker info >/dev/null 2>&1; then return 0; fi
  command -v dockerd >/dev/null || apt_install docker.io
  mkdir -p "$STATE_DIR"
  log "starting a private Docker engine (log: $STATE_DIR/dockerd.log)"
  as_root sh -c "dockerd --bridge=none --iptables=false >'$STATE_DIR/dockerd.log' 2>&1 & echo \$! >'$PID_FILE'"
  for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then echo started; return 0; fi
    sleep 0.5
  done
  log "the Docker engine did not answer within 30 s:"; tail -n 20 "$STATE_DIR/dockerd.log" >&2
  return 1
}

stop() {
  [ -f "$PID_FILE" ] || return 0
  local pid; pid=$(cat "$PID_FILE")
  log "stopping the Docker engine this run started (pid $pid)"
  as_root kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do as_root kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  rm -f "$PID_FILE"
}

image() {
  docker image inspect "$TEST_IMAGE" >/dev/null 2>&1 && return 0
  apt_install busybox-static
  local root; root=$(mktemp -d)
  mkdir -p "$root/bin"
  cp /bin/busybox "$root/bin/busybox"
  for applet in sh echo sleep cat ls env printf seq yes true false head; do
    ln -s busybox "$root/bin/$applet"
  done
  tar -C "$root" -c . | docker import -c 'CMD ["/bin/sh"]' - "$TEST_IMAGE" >/dev/null
  rm -rf "$root"
  log "created test image $TEST_IMAGE"
}

sweep() {
  local ids; ids=$(docker ps -aq --filter label=berth.test)
  [ -z "$ids" ] || docker rm -f $ids >/dev/null
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  image) image ;;
  sweep) sweep ;;
  *) echo "usage: $0 start|stop|image|sweep" >&2; exit 2 ;;
esac
