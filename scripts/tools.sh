#!/usr/bin/env bash
# Installs the build tools Berth needs, each only when missing: the wasm32 target,
# cargo-leptos, wasm-bindgen-cli at the version Cargo.lock pins, and wasm-opt (npm binaryen,
# into tools/node_modules). Idempotent; safe to run on every build.
source "$(dirname "$0")/lib.sh"

CARGO_LEPTOS_VERSION=0.3.10   # 0.3.11 needs rustc 1.96

# Build tools, not shipped code: skip fat LTO and single-unit codegen (cargo-leptos asks for
# both), which on 2 cores cost several minutes on a cold machine for no gain that matters here.
tool_install() {
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo install "$@"
}

command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm

rustup target list --installed | grep -qx wasm32-unknown-unknown ||
  rustup target add wasm32-unknown-unknown
# The server is built static for musl (Cargo.toml, bin-target-triple); musl-gcc compiles its
# C parts (SQLite, ring; .cargo/config.toml names it).
rustup target list --installed | grep -qx x86_64-unknown-linux-musl ||
  rustup target add x86_64-unknown-linux-musl
command -v musl-gcc >/dev/null || apt_install musl-tools

if ! cargo leptos --version 2>/dev/null | grep -qF "$CARGO_LEPTOS_VERSION"; then
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION"
  tool_install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
fi

# The CLI must match the wasm-bindgen library in Cargo.lock exactly.
wasm_bindgen_version=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -qF " $wasm_bindgen_version"; then
  log "installing wasm-bindgen-cli $wasm_bindgen_version"
  # Not --locked: the CLI's own lockfile pins a crate the registry no longer has.
  tool_install wasm-bindgen-cli --version "$wasm_bindgen_version"
fi

if [ ! -x tools/node_modules/.bin/wasm-opt ] || [ ! -f tools/node_modules/@xterm/xterm/lib/xterm.js ] ||
  [ ! -x tools/node_modules/.bin/esbuild ] || [ ! -d tools/node_modules/@codemirror/lang-yaml ]; then
  log "installing wasm-opt (npm binaryen), xterm.js, CodeMirror and esbuild"
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
fi

# The terminal's xterm.js, served from Berth's own assets (no CDN): cargo-leptos copies
# public/ into the site. Copied on every build, so a version bump in tools/ takes effect.
mkdir -p public/xterm
cp tools/node_modules/@xterm/xterm/lib/xterm.js tools/node_modules/@xterm/xterm/css/xterm.css \
  tools/node_modules/@xterm/addon-fit/lib/addon-fit.js public/xterm/

# The stack editor: CodeMirror 6 with YAML, bundled from tools/editor.js into one script the
# stack pages load on first use (public/editor/, like xterm: Berth's own asset, no CDN).
mkdir -p public/editor
if [ ! -f public/editor/editor.js ] || [ tools/editor.js -nt public/editor/editor.js ] ||
  [ tools/package-lock.json -nt public/editor/editor.js ]; then
  tools/node_modules/.bin/esbuild tools/editor.js --bundle --minify --format=iife --target=es2020 \
    --legal-comments=eof --log-level=warning --outfile=public/editor/editor.js
fi
