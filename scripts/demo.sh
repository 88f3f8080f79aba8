#!/usr/bin/env bash
# Builds the demo guest and runs a whole cluster (API server, scheduler, controllers and a local node) with the
# demo application. Ctrl-C stops it; the cluster's state stays in .wharf/ for the next start.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet --manifest-path examples/guests/Cargo.toml --target wasm32-wasip1 \
  --target-dir target/guests --bin hello
cargo build --release --quiet --manifest-path examples/guests/Cargo.toml --target wasm32-wasip2 \
  --target-dir target/guests -p http-hello
# Images named without a path (`image: hello.wasm`) are looked up in the node's images directory.
mkdir -p .wharf/node/images
cp target/guests/wasm32-wasip1/release/hello.wasm .wharf/node/images/hello.wasm
cp target/guests/wasm32-wasip2/release/http_hello.wasm .wharf/node/images/http_hello.wasm
exec cargo run --release -p wctl -- up --data-dir .wharf --apply examples/demo.yaml
