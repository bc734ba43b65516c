#!/usr/bin/env bash
# `make bench`: installs what is missing, starts a private Docker engine if none answers,
# builds the release site and the benchmark, runs it (it creates and removes its own
# containers and its own berth on BERTH_BENCH_ADDR, default 127.0.0.1:3320), and prints
# the table that BENCHMARKS.md records.
source "$(dirname "$0")/lib.sh"

engine_started=""
cleanup() {
  local status=$?
  [ -z "$engine_started" ] || "$BERTH_ROOT/scripts/engine.sh" stop || true
  log "total: $SECONDS s"
  exit "$status"
}
trap cleanup EXIT

install_system() {
  "$BERTH_ROOT/scripts/tools.sh"
  command -v chromium >/dev/null || apt_install chromium
  (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
}

start_engine() {
  engine_started=$("$BERTH_ROOT/scripts/engine.sh" start)
  "$BERTH_ROOT/scripts/engine.sh" image
}

phase "install" install_system
phase "engine" start_engine
phase "site build (release)" cargo leptos build --release
phase "bench build" cargo build --release -p berth-bench
phase "bench" "$BERTH_ROOT/target/release/berth-bench" "$BERTH_ROOT/target/release/berth"
