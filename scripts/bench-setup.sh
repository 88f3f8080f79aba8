#!/usr/bin/env bash
# Installs what the HTTP benchmark (`cargo bench -p wctl --bench http`) compares against and drives: Debian's wrk
# and wasmtime-cli 48 (for `wasmtime serve`) under target/bench-tools. Not needed by the tests. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
if ! target/bench-tools/bin/wasmtime --version 2>/dev/null | grep -q '^wasmtime 48\.'; then
  cargo install --locked --quiet --root target/bench-tools wasmtime-cli@^48
fi
