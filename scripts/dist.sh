#!/usr/bin/env bash
# `make dist`: target/tarball/berth-VERSION-x86_64-linux.tar.gz, what runs Berth on a host
# without building it: the static binary (musl: no glibc version to match), the compiled
# site beside it (the binary finds it there from any directory), README, LICENSE and a
# systemd unit with hardening options. Both are the release build's, the one `make run`,
# the tests and the benchmark use (built again here, which is quick when nothing changed):
# what is shipped is what was tested, and CI builds the server once, not twice.
source "$(dirname "$0")/lib.sh"

VERSION=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
NAME="berth-$VERSION-x86_64-linux"
OUT="$BERTH_ROOT/target/tarball"

command -v strip >/dev/null || apt_install binutils
# make test has just built it (BERTH_RELEASE_BUILT=1): cargo-leptos would run wasm-opt
# again (a minute) for nothing.
if [ "${BERTH_RELEASE_BUILT:-}" != 1 ]; then
  "$BERTH_ROOT/scripts/tools.sh"
  log "building the site and the static server (release)"
  cargo leptos build --release
fi

rm -rf "${OUT:?}/$NAME" && mkdir -p "$OUT/$NAME"
# Symbols stay in the build (the tests' and the benchmark's backtraces), not in the tarball.
strip -o "$OUT/$NAME/berth" "$BERTH_BIN"
cp -r target/site "$OUT/$NAME/site"
cp README.md LICENSE dist/berth.service "$OUT/$NAME/"
tar -C "$OUT" -czf "$OUT/$NAME.tar.gz" "$NAME"
log "$OUT/$NAME.tar.gz: $(du -h "$OUT/$NAME.tar.gz" | cut -f1) ($(du -h "$OUT/$NAME/berth" | cut -f1) binary)"
