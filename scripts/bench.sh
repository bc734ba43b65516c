#!/usr/bin/env bash
# `make bench`: installs what is missing, starts a private Docker engine if none answers,
# builds the release site and the benchmark, runs it (it creates and removes its own
# containers and its own berth on BERTH_BENCH_ADDR, default 127.0.0.1:3320), and prints
# the table that BENCHMARKS.md records.
source "$(dirname "$0")/lib.sh"

cleanup() {
  local status=$?
  stop_started_engine
  log "total: $SECONDS s"
  exit "$status"
}
trap cleanup EXIT

install_system() {
  install_tools_and_browser
  (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
}

phase "install" install_system
phase "engine" start_engine
phase "site build (release)" cargo leptos build --release
phase "bench build" cargo build --release -p berth-bench
phase "bench" "$BERTH_ROOT/target/release/berth-bench" "$BERTH_BIN"
