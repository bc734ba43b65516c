#!/usr/bin/env bash
# A private Docker engine beside the main one, for the several-engines tests:
#   private-engine.sh start NAME [TLS_PORT]
#       starts dockerd with its own --data-root, --exec-root, --pidfile, containerd namespace
#       and unix socket, all under target/berth-engines/NAME, and loads the test image into
#       it. With TLS_PORT it also listens on tcp://127.0.0.1:TLS_PORT with --tlsverify, using
#       certificates made here (NAME/tls: ca.pem, client cert.pem and key.pem, and
#       other-ca.pem, a CA that signed nothing, for the "wrong CA" case). Prints the socket.
#       Starting an engine that runs already only prints its socket.
#       With BERTH_ENGINE_NETNS=NS it runs in that network namespace (entered with nsenter
#       --net only: `ip netns exec` would remount /sys and hide the cgroups dockerd needs).
#   private-engine.sh stop NAME
#       stops it (its data stays, so a start brings its containers back like a reboot).
source "$(dirname "$0")/lib.sh"

ENGINES_DIR="$BERTH_ROOT/target/berth-engines"
TEST_IMAGE="berth-test/busybox:latest"

# CA, server (127.0.0.1) and client certificates, EC P-256, valid two days.
make_certs() {
  local dir="$1"
  [ -f "$dir/cert.pem" ] && return 0
  mkdir -p "$dir"
  local key=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${key[@]}" -days 2 -subj /CN=berth-test-ca \
    -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" 2>/dev/null
  openssl req -x509 "${key[@]}" -days 2 -subj /CN=berth-other-ca \
    -keyout "$dir/other-ca-key.pem" -out "$dir/other-ca.pem" 2>/dev/null
  sign() { # NAME SUBJECT EXTENSIONS
    openssl req "${key[@]}" -subj "$2" -keyout "$dir/$1-key.pem" -out "$dir/$1.csr" 2>/dev/null
    openssl x509 -req -in "$dir/$1.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" \
      -CAcreateserial -days 2 -extfile <(printf '%s\n' "$3") -out "$dir/$1-cert.pem" 2>/dev/null
  }
  sign server /CN=127.0.0.1 $'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth'
  sign client /CN=berth 'extendedKeyUsage=clientAuth'
  mv "$dir/client-cert.pem" "$dir/cert.pem"
  mv "$dir/client-key.pem" "$dir/key.pem"
}

start() {
  local name="$1" tls_port="${2:-}"
  local dir="$ENGINES_DIR/$name"
  local sock="$dir/docker.sock"
  if docker -H "unix://$sock" info >/dev/null 2>&1; then echo "$sock"; return 0; fi
  command -v dockerd >/dev/null || apt_install docker.io
  mkdir -p "$dir"
  local args=(--bridge=none --iptables=false --data-root "$dir/data" --exec-root "$dir/exec"
    --pidfile "$dir/dockerd.pid" --containerd-namespace "berth-$name"
    --containerd-plugins-namespace "berth-$name-plugins" -H "unix://$sock")
  if [ -n "$tls_port" ]; then
    make_certs "$dir/tls"
    args+=(--tlsverify --tlscacert "$dir/tls/ca.pem" --tlscert "$dir/tls/server-cert.pem"
      --tlskey "$dir/tls/server-key.pem" -H "tcp://127.0.0.1:$tls_port")
  fi
  local enter=()
  [ -z "${BERTH_ENGINE_NETNS:-}" ] || enter=(nsenter "--net=/run/netns/$BERTH_ENGINE_NETNS")
  as_root "${enter[@]}" sh -c 'exec "$@" >"$0" 2>&1 &' "$dir/dockerd.log" dockerd "${args[@]}"
  for _ in $(seq 1 60); do
    if docker -H "unix://$sock" info >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
  if ! docker -H "unix://$sock" info >/dev/null 2>&1; then
    log "the private engine $name did not answer within 30 s:"; tail -n 20 "$dir/dockerd.log" >&2
    return 1
  fi
  if ! docker -H "unix://$sock" image inspect "$TEST_IMAGE" >/dev/null 2>&1; then
    "$BERTH_ROOT/scripts/engine.sh" image
    docker save "$TEST_IMAGE" | docker -H "unix://$sock" load >/dev/null
  fi
  echo "$sock"
}

stop() {
  local dir="$ENGINES_DIR/$1"
  [ -f "$dir/dockerd.pid" ] || return 0
  local pid; pid=$(cat "$dir/dockerd.pid")
  as_root kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 80); do as_root kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  rm -f "$dir/dockerd.pid"
}

case "${1:-}" in
  start) start "${2:?name}" "${3:-}" ;;
  stop) stop "${2:?name}" ;;
  *) echo "usage: $0 start NAME [TLS_PORT] | stop NAME" >&2; exit 2 ;;
esac
