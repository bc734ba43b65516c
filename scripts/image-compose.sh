#!/usr/bin/env bash
# `make image-compose`: berth:VERSION-compose (and berth:compose), Berth's image with a
# compose CLI in it, so Berth in a container deploys stacks. It is `make image` plus the
# compose CLI this machine has, copied with exactly what it runs on:
# - the v2 plugin (one Go binary, which also runs standalone as `docker-compose`) when
#   Docker's plugin folders have it;
# - else compose v1 (`docker-compose`), a Python program: its interpreter, the standard
#   library, the Python packages it needs (Debian's dependency closure when dpkg installed
#   it, else the interpreter's whole site folders), and the shared libraries all of these
#   link, each at its own path.
# Nothing is downloaded: what runs in the image is what runs on the host.
source "$(dirname "$0")/lib.sh"

VERSION=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
CONTEXT="$BERTH_ROOT/target/image-compose"
ROOT="$CONTEXT/root"

[ "${BERTH_IMAGE_BUILT:-}" = 1 ] || "$BERTH_ROOT/scripts/image.sh"
rm -rf "${CONTEXT:?}" && mkdir -p "$ROOT"

# copy FILE...: into the image at the same path; links followed (the image has none).
copy() {
  local file
  for file in "$@"; do cp -L --parents "$file" "$ROOT/"; done
}

# copy_libs FILE...: the shared libraries and the loader these ELF files need.
copy_libs() {
  local lib
  ldd "$@" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(/ { print $1 }' |
    sort -u | while read -r lib; do copy "$lib"; done
}

plugin=""
for candidate in /usr/libexec/docker/cli-plugins/docker-compose /usr/lib/docker/cli-plugins/docker-compose \
  /usr/local/libexec/docker/cli-plugins/docker-compose /usr/local/lib/docker/cli-plugins/docker-compose; do
  if [ -x "$candidate" ]; then plugin=$candidate; break; fi
done

if [ -n "$plugin" ]; then
  log "compose v2: $plugin"
  mkdir -p "$ROOT/usr/local/bin"
  cp -L "$plugin" "$ROOT/usr/local/bin/docker-compose"
  copy_libs "$plugin"
  command=/usr/local/bin/docker-compose
elif script=$(command -v docker-compose); then
  script=$(readlink -f "$script")
  interpreter=$(sed -n '1s/^#![[:space:]]*\([^[:space:]]*\).*/\1/p' "$script")
  if [ ! -x "${interpreter:-}" ]; then
    log "$script is not a Python program this script knows how to copy (first line: $(head -1 "$script"))"
    exit 1
  fi
  log "compose v1: $script, on $interpreter"
  copy "$script" "$interpreter"
  stdlib=$("$interpreter" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
  # The standard library without its tests, IDE, Tk and installers.
  tar -C / --exclude='*/test' --exclude='*/tests' --exclude='*/idlelib' --exclude='*/tkinter' \
    --exclude='*/turtledemo' --exclude='*/ensurepip' --exclude='*/lib2to3' --exclude='*/config-*' \
    -cf - "${stdlib#/}" | tar -C "$ROOT" -xf -
  if owner=$(dpkg -S "$script" 2>/dev/null | cut -d: -f1) && [ -n "$owner" ]; then
    # Debian's packages of Python modules that compose needs, and compose's own.
    packages=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
      --no-replaces --no-enhances "$owner" | grep -E '^python3-[a-z0-9.-]+$' | sort -u)
    for package in $owner $packages; do
      dpkg -L "$package" 2>/dev/null | grep -E '^/usr/lib/python3(\.[0-9]+)?/(dist|site)-packages/' || true
    done | while read -r file; do [ -f "$file" ] && copy "$file"; done
  else
    for site in $("$interpreter" -c 'import site; print(" ".join(site.getsitepackages()))'); do
      [ -d "$site" ] && tar -C / -cf - "${site#/}" | tar -C "$ROOT" -xf -
    done
  fi
  # shellcheck disable=SC2046
  copy_libs "$interpreter" $(find "$ROOT" -name '*.so*' -type f | sed "s#^$ROOT##")
  command=docker-compose
else
  log "no compose CLI on this machine: install the compose plugin, or docker-compose (apt-get install docker-compose)"
  exit 1
fi

# The CLI must answer in the image as it will run there: as Berth's user, on a read-only
# root, with nothing else.
docker build -q -f dist/Dockerfile.compose --build-arg "BASE=berth:$VERSION" \
  --build-arg "COMPOSE_COMMAND=$command" -t "berth:$VERSION-compose" -t berth:compose "$CONTEXT" >/dev/null
if ! said=$(docker run --rm --read-only --network none --entrypoint "$command" berth:compose version 2>&1); then
  log "the compose CLI does not run in the image: $said"
  exit 1
fi
size=$(docker image inspect --format '{{.Size}}' "berth:$VERSION-compose")
log "built berth:$VERSION-compose and berth:compose: $((size / 1000000)) MB, with $(head -1 <<<"$said")"
