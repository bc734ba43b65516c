#!/usr/bin/env bash
# `make image`: the container image berth:VERSION (and berth:latest), FROM scratch, from
# the static binary and site `make dist` builds (reused when built). No base image is
# pulled, so it builds offline.
source "$(dirname "$0")/lib.sh"

VERSION=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
NAME="berth-$VERSION-x86_64-linux"
CONTEXT="$BERTH_ROOT/target/image"

# make test has just built it (BERTH_DIST_BUILT=1): not checked again.
[ "${BERTH_DIST_BUILT:-}" = 1 ] || "$BERTH_ROOT/scripts/dist.sh"
rm -rf "${CONTEXT:?}" && mkdir -p "$CONTEXT/app" "$CONTEXT/data"
chmod 0700 "$CONTEXT/data"
cp "target/tarball/$NAME/berth" "$CONTEXT/app/berth"
cp -r "target/tarball/$NAME/site" "$CONTEXT/app/site"
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
docker build -q -f dist/Dockerfile --build-arg "VERSION=$VERSION" --build-arg "REVISION=$revision" \
  -t "berth:$VERSION" -t berth:latest "$CONTEXT" >/dev/null
size=$(docker image inspect --format '{{.Size}}' "berth:$VERSION")
log "built berth:$VERSION and berth:latest: $((size / 1000000)) MB"
