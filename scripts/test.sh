#!/usr/bin/env bash
# The whole test suite: set-up, formatting, lints, the cross-target checks, then every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The binary and libraries build for Windows and for 64-bit Arm Linux (tests and benchmarks are Linux-only).
cargo check --workspace --locked --target x86_64-pc-windows-gnu
cargo check --workspace --locked --target aarch64-unknown-linux-gnu
# The guest SDK and the examples are workspaces of their own, built for wasm; the SDK's unit tests and doc
# examples, and the examples' own tests, run on the host (WASI calls are stubs there).
for guest_workspace in guest-sdk examples; do
  cargo fmt --manifest-path "$guest_workspace/Cargo.toml" --all -- --check
  cargo test --manifest-path "$guest_workspace/Cargo.toml" --workspace --locked --target-dir target/examples
done
cargo clippy --manifest-path guest-sdk/Cargo.toml --all-targets --locked --target-dir target/examples \
  --target wasm32-wasip1 --target wasm32-wasip2 -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --manifest-path guest-sdk/Cargo.toml --no-deps --locked \
  --target-dir target/examples --target wasm32-wasip2
cargo clippy --manifest-path examples/Cargo.toml --workspace --all-targets --locked --target-dir target/examples \
  --target wasm32-wasip2 -- -D warnings
scripts/build-examples.sh
cargo nextest run --workspace --locked --no-fail-fast
