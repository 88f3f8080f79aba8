/work/main/examples/guests/target/wasm32-wasip1/release/deps/fsprobe-e8a79193332dd370.d: src/bin/fsprobe.rs

/work/main/examples/guests/target/wasm32-wasip1/release/deps/fsprobe-e8a79193332dd370.wasm: src/bin/fsprobe.rs

src/bin/fsprobe.rs:
