/work/main/examples/guests/target/wasm32-wasip1/release/deps/stackoverflow-e198ff61e5977b37.d: src/bin/stackoverflow.rs

/work/main/examples/guests/target/wasm32-wasip1/release/deps/stackoverflow-e198ff61e5977b37.wasm: src/bin/stackoverflow.rs

src/bin/stackoverflow.rs:
