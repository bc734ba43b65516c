#!/usr/bin/env bash
# A private image registry on 127.0.0.1 for the pull tests (Debian docker-registry; the
# engine trusts a loopback registry over plain HTTP, so nothing leaves the machine):
#   private-registry.sh start PORT
#       serves target/berth-registry/data on 127.0.0.1:PORT and prints the directory
#   private-registry.sh start-auth PORT USER PASSWORD
#       the same images on 127.0.0.1:PORT behind basic auth (htpasswd, bcrypt, by Debian's
#       apache2-utils): what an admin stores credentials for
#   private-registry.sh stop
source "$(dirname "$0")/lib.sh"

DIR="$BERTH_ROOT/target/berth-registry"

# serve NAME PORT EXPECTED [CONFIG...]: a registry of the shared storage on 127.0.0.1:PORT,
# its config with the extra lines given, up once /v2/ answers EXPECTED (200 open, 401 when
# it asks for credentials).
serve() {
  local name="$1" port="$2" expected="$3"
  shift 3
  command -v docker-registry >/dev/null || apt_install docker-registry
  stop_one "$name"
  mkdir -p "$DIR/data"
  {
    printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n'
    printf '    rootdirectory: %s\n  delete:\n    enabled: true\n' "$DIR/data"
    printf 'http:\n  addr: 127.0.0.1:%s\n' "$port"
    printf '%s\n' "$@"
  } >"$DIR/$name.yml"
  docker-registry serve "$DIR/$name.yml" >"$DIR/$name.log" 2>&1 &
  echo $! >"$DIR/$name.pid"
  for _ in $(seq 1 40); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/")" = "$expected" ]; then
      echo "$DIR"; return 0
    fi
    sleep 0.25
  done
  log "the registry $name did not answer:"; tail -n 20 "$DIR/$name.log" >&2
  return 1
}

start() {
  serve registry "$1" 200
}

# The second registry shares the first's storage: what the tests push to the open one,
# the one behind basic auth (bcrypt in htpasswd) serves.
start_auth() {
  local port="$1" user="$2" password="$3"
  mkdir -p "$DIR"
  command -v htpasswd >/dev/null || apt_install apache2-utils
  # -n: to stdout (a blank line after the entry, dropped); -B: bcrypt, as the registry wants.
  htpasswd -nbB "$user" "$password" | head -n 1 >"$DIR/htpasswd"
  serve auth-registry "$port" 401 auth: '  htpasswd:' '    realm: berth-test' "    path: $DIR/htpasswd"
}

stop_one() {
  [ -f "$DIR/$1.pid" ] || return 0
  kill "$(cat "$DIR/$1.pid")" 2>/dev/null || true
  rm -f "$DIR/$1.pid"
}

stop() {
  stop_one registry
  stop_one auth-registry
}

case "${1:-}" in
  start) start "${2:?port}" ;;
  start-auth) start_auth "${2:?port}" "${3:?user}" "${4:?password}" ;;
  stop) stop ;;
  stop-auth) stop_one auth-registry ;;
  *) echo "usage: $0 start PORT | start-auth PORT USER PASSWORD | stop | stop-auth" >&2; exit 2 ;;
esac
