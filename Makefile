# The two commands a new user needs: `make run` and `make test` (see README.md).
SHELL := /bin/bash
ARGS ?=

.PHONY: run test bench dev lint tools dist image image-compose

## Build in release and serve Berth on http://127.0.0.1:3000 (installs build tools when missing).
run:
	scripts/run.sh $(ARGS)

## Everything CI runs: Rust tests and Playwright against a real Docker engine and Chromium.
test:
	scripts/test.sh

## The eleven benchmark figures against the real engine, as one table (see BENCHMARKS.md).
bench:
	scripts/bench.sh

## target/tarball/berth-VERSION-x86_64-linux.tar.gz: static binary, site, README, LICENSE, systemd unit.
dist:
	scripts/dist.sh

## The container image berth:VERSION and berth:latest (FROM scratch; see compose.yaml).
image:
	scripts/image.sh

## berth:VERSION-compose: the image with this machine's compose CLI in it (deploys stacks).
image-compose:
	scripts/image-compose.sh

## Development: rebuild and reload on change.
dev: tools
	PATH="$(CURDIR)/tools/node_modules/.bin:$$PATH" cargo leptos watch

## Format and lint, host (server) and Wasm (browser) builds.
lint: tools
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p app --target wasm32-unknown-unknown --no-default-features --features hydrate -- -D warnings
	cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

tools:
	scripts/tools.sh
