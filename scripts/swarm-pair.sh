#!/usr/bin/env bash
# Two private Docker engines that form one swarm, for the test where a drain moves tasks to
# the other node. Swarm's ports (2377, 7946) are fixed, so each engine has a network
# namespace of its own (berth-swarm-a, berth-swarm-b), joined by a veth pair on
# 10.251.0.0/30: nothing of it is on the machine's own network.
#   swarm-pair.sh start   starts both (pair-a the manager, pair-b a worker) and prints their
#                         sockets, one per line; a pair already up is only printed
#   swarm-pair.sh stop    stops both engines and removes the namespaces
source "$(dirname "$0")/lib.sh"

ENGINES_DIR="$BERTH_ROOT/target/berth-engines"
NET=10.251.0

engine() { docker -H "unix://$ENGINES_DIR/pair-$1/docker.sock" "${@:2}"; }

network() {
  command -v nsenter >/dev/null || apt_install util-linux
  command -v ip >/dev/null || apt_install iproute2
  # Whole, or made again: an interrupted run may have left a part.
  if ip -n berth-swarm-a link show berth-sa >/dev/null 2>&1 &&
    ip -n berth-swarm-b link show berth-sb >/dev/null 2>&1; then
    return 0
  fi
  remove_network
  as_root ip netns add berth-swarm-a
  as_root ip netns add berth-swarm-b
  as_root ip link add berth-sa netns berth-swarm-a type veth peer name berth-sb netns berth-swarm-b
  as_root ip -n berth-swarm-a addr add "$NET.1/30" dev berth-sa
  as_root ip -n berth-swarm-b addr add "$NET.2/30" dev berth-sb
  local side
  for side in a b; do
    as_root ip -n "berth-swarm-$side" link set lo up
    as_root ip -n "berth-swarm-$side" link set "berth-s$side" up
  done
}

start() {
  network
  BERTH_ENGINE_NETNS=berth-swarm-a "$BERTH_ROOT/scripts/private-engine.sh" start pair-a >/dev/null
  BERTH_ENGINE_NETNS=berth-swarm-b "$BERTH_ROOT/scripts/private-engine.sh" start pair-b >/dev/null
  if [ "$(engine a info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
    engine a swarm init --advertise-addr "$NET.1" --listen-addr "$NET.1:2377" >/dev/null
  fi
  if [ "$(engine b info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
    local token; token=$(engine a swarm join-token -q worker)
    timeout 60 docker -H "unix://$ENGINES_DIR/pair-b/docker.sock" swarm join --token "$token" \
      --advertise-addr "$NET.2" --listen-addr "$NET.2:2377" "$NET.1:2377" >/dev/null
  fi
  # Both nodes ready, as the manager sees them.
  for _ in $(seq 1 60); do
    [ "$(engine a node ls --format '{{.Status}}' | grep -c Ready)" = 2 ] && break
    sleep 0.5
  done
  engine a node ls >&2
  echo "$ENGINES_DIR/pair-a/docker.sock"
  echo "$ENGINES_DIR/pair-b/docker.sock"
}

remove_network() {
  local side
  for side in a b; do
    ! ip netns list | grep -qw "berth-swarm-$side" || as_root ip netns del "berth-swarm-$side"
  done
}

stop() {
  "$BERTH_ROOT/scripts/private-engine.sh" stop pair-a || true
  "$BERTH_ROOT/scripts/private-engine.sh" stop pair-b || true
  remove_network
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start | stop" >&2; exit 2 ;;
esac
