#!/usr/bin/env bash
# `make run`: installs the build tools when missing, builds Berth in release and serves it.
# Arguments go to `berth` (see `berth --help`), e.g. `make run ARGS="--bind 127.0.0.1:8080"`.
source "$(dirname "$0")/lib.sh"
"$BERTH_ROOT/scripts/tools.sh"
cargo leptos build --release
exec "$BERTH_BIN" "$@"
