/work/main/examples/guests/target/wasm32-wasip1/release/deps/membomb-1d7de885b587c0e4.d: src/bin/membomb.rs

/work/main/examples/guests/target/wasm32-wasip1/release/deps/membomb-1d7de885b587c0e4.wasm: src/bin/membomb.rs

src/bin/membomb.rs:
