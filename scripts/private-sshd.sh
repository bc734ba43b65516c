#!/usr/bin/env bash
# A private sshd on 127.0.0.1 for the ssh:// engine test (key login only, its own host key):
#   private-sshd.sh start PORT DOCKER_HOST
#       makes target/berth-sshd with a host key, a client key (id_ed25519), authorized_keys
#       and known_hosts (the host key for [127.0.0.1]:PORT), then starts sshd there; a
#       login's docker CLI talks to DOCKER_HOST. Prints the directory.
#   private-sshd.sh stop
source "$(dirname "$0")/lib.sh"

DIR="$BERTH_ROOT/target/berth-sshd"

start() {
  local port="$1" docker_host="$2"
  command -v /usr/sbin/sshd >/dev/null || apt_install openssh-server
  stop
  rm -rf "$DIR" && mkdir -p "$DIR" && chmod 700 "$DIR"
  ssh-keygen -q -t ed25519 -N '' -f "$DIR/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$DIR/id_ed25519"
  cp "$DIR/id_ed25519.pub" "$DIR/authorized_keys"
  printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$DIR/host_key.pub")" >"$DIR/known_hosts"
  # A known_hosts with some other key for the same address: the "changed host key" case.
  ssh-keygen -q -t ed25519 -N '' -f "$DIR/other_key"
  printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$DIR/other_key.pub")" >"$DIR/wrong_known_hosts"
  cat >"$DIR/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $DIR/host_key
PidFile $DIR/sshd.pid
AuthorizedKeysFile $DIR/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
SetEnv DOCKER_HOST=$docker_host
EOF
  as_root mkdir -p /run/sshd
  as_root /usr/sbin/sshd -f "$DIR/sshd_config" -E "$DIR/sshd.log"
  for _ in $(seq 1 40); do
    if ssh -o BatchMode=yes -o UserKnownHostsFile="$DIR/known_hosts" -o StrictHostKeyChecking=yes \
      -i "$DIR/id_ed25519" -p "$port" root@127.0.0.1 true 2>/dev/null; then
      echo "$DIR"; return 0
    fi
    sleep 0.25
  done
  log "the private sshd did not let us in:"; tail -n 20 "$DIR/sshd.log" >&2
  return 1
}

stop() {
  [ -f "$DIR/sshd.pid" ] || return 0
  as_root kill "$(cat "$DIR/sshd.pid")" 2>/dev/null || true
  rm -f "$DIR/sshd.pid"
}

case "${1:-}" in
  start) start "${2:?port}" "${3:?docker host}" ;;
  stop) stop ;;
  *) echo "usage: $0 start PORT DOCKER_HOST | stop" >&2; exit 2 ;;
esac
