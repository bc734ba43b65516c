# Shared helpers for Berth's scripts: sourced, not run.
# shellcheck shell=bash
set -euo pipefail
BERTH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$BERTH_ROOT/tools/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$HOME/.cargo/bin:$PATH"
cd "$BERTH_ROOT"
# The server as `cargo leptos build --release` builds it: the static musl binary that
# `make dist` and `make image` ship (Cargo.toml, bin-target-triple), so what the tests and
# the benchmark run is what users run.
BERTH_BIN="$BERTH_ROOT/target/x86_64-unknown-linux-musl/dist/berth"

log() { printf '\033[1m[berth]\033[0m %s\n' "$*" >&2; }

# Run as root, or through sudo when there is one.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root for: $*"; return 1
  fi
}

APT_UPDATED=""
# apt_install PACKAGE... : installs the Debian packages that are not installed yet.
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  log "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# phase NAME COMMAND... : runs a step and reports how long it took.
phase() {
  local name="$1" start=$SECONDS; shift
  log "── $name"
  "$@"
  log "── $name: $((SECONDS - start)) s"
}

# The build tools and Chromium: what both the tests and the benchmark need.
install_tools_and_browser() {
  "$BERTH_ROOT/scripts/tools.sh"
  command -v chromium >/dev/null || apt_install chromium
}

ENGINE_STARTED=""
# Uses the engine that answers `docker info`, or starts a private one, and makes the test
# image; stop_started_engine stops only an engine this run started.
start_engine() {
  ENGINE_STARTED=$("$BERTH_ROOT/scripts/engine.sh" start)
  "$BERTH_ROOT/scripts/engine.sh" image
}
stop_started_engine() {
  [ -z "$ENGINE_STARTED" ] || "$BERTH_ROOT/scripts/engine.sh" stop || true
}
