/work/main/examples/guests/target/wasm32-wasip1/release/deps/flood-ed28b1a3854dd441.d: src/bin/flood.rs

/work/main/examples/guests/target/wasm32-wasip1/release/deps/flood-ed28b1a3854dd441.wasm: src/bin/flood.rs

src/bin/flood.rs:
