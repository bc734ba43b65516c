#!/usr/bin/env bash
# `make dist`: target/tarball/berth-VERSION-x86_64-linux.tar.gz, what runs Berth on a host
# without building it: a static binary (musl: no glibc version to match), the compiled site
# beside it (the binary finds it there from any directory), README, LICENSE and a systemd
# unit with hardening options. The site is the release build's (`make run` and CI build it;
# done again here, which is quick when nothing changed).
source "$(dirname "$0")/lib.sh"

TARGET=x86_64-unknown-linux-musl
VERSION=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
NAME="berth-$VERSION-x86_64-linux"
OUT="$BERTH_ROOT/target/tarball"

"$BERTH_ROOT/scripts/tools.sh"
rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET"
# musl-gcc compiles the C parts (SQLite, ring) for the static binary.
command -v musl-gcc >/dev/null || apt_install musl-tools

log "building the site (release)"
cargo leptos build --release
log "building the static binary ($TARGET)"
# `--cfg erase_components`: the site is built with views type-erased (Cargo.toml,
# always-erase-components), and the server must render the same markup or hydration breaks.
# mimalloc: musl's allocator is slow with many threads.
CC_x86_64_unknown_linux_musl=musl-gcc RUSTFLAGS="--cfg erase_components" \
  cargo build --profile dist --locked -p berth --bin berth --no-default-features \
  --features mimalloc --target "$TARGET"

rm -rf "${OUT:?}/$NAME" && mkdir -p "$OUT/$NAME"
cp "target/$TARGET/dist/berth" "$OUT/$NAME/berth"
cp -r target/site "$OUT/$NAME/site"
cp README.md LICENSE dist/berth.service "$OUT/$NAME/"
tar -C "$OUT" -czf "$OUT/$NAME.tar.gz" "$NAME"
log "$OUT/$NAME.tar.gz: $(du -h "$OUT/$NAME.tar.gz" | cut -f1) ($(du -h "$OUT/$NAME/berth" | cut -f1) binary)"
