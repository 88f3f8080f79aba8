#!/usr/bin/env bash
# Builds every example guest (examples/*/) and installs them as images: IMAGES_DIR/examples/<name>.wasm, the
# names the examples' manifests use (`image: examples/hello-http.wasm`). IMAGES_DIR defaults to
# target/examples/images; give the node's images directory to run the examples there, e.g.
#   scripts/build-examples.sh ~/.local/share/wharf/node/images     # wctl up's default data directory
# Idempotent: unchanged images are left as they are, changed ones are replaced atomically.
set -euo pipefail
cd "$(dirname "$0")/.."
images="${1:-target/examples/images}"
cargo="${CARGO:-cargo}"
target_dir=target/examples

# HTTP services are wasi:http components (cdylib crates, wasm32-wasip2); jobs, workers and daemons are commands,
# for WASIp1 (core modules) or WASIp2 (components).
components=(hello-http notes frontend backend)
p1_commands=(worker ci-suite)
p2_commands=(node-reporter)

build() { # target, packages...
  local target="$1"
  shift
  "$cargo" build --release --quiet --locked --manifest-path examples/Cargo.toml --target-dir "$target_dir" \
    --target "$target" "${@/#/--package=}"
}
build wasm32-wasip2 "${components[@]}" "${p2_commands[@]}"
build wasm32-wasip1 "${p1_commands[@]}"

mkdir -p "$images/examples"
install_image() { # built file, image name
  local destination="$images/examples/$2.wasm"
  if ! cmp -s "$1" "$destination"; then
    # A node may be reading the old image: write beside it, then rename over it.
    cp "$1" "$destination.tmp.$$"
    mv -f "$destination.tmp.$$" "$destination"
  fi
}
for name in "${components[@]}"; do
  install_image "$target_dir/wasm32-wasip2/release/${name//-/_}.wasm" "$name"
done
for name in "${p1_commands[@]}"; do
  install_image "$target_dir/wasm32-wasip1/release/$name.wasm" "$name"
done
for name in "${p2_commands[@]}"; do
  install_image "$target_dir/wasm32-wasip2/release/$name.wasm" "$name"
done
echo "examples installed in $images/examples: $(cd "$images/examples" && ls ./*.wasm | sed 's|^\./||' | tr '\n' ' ')"
