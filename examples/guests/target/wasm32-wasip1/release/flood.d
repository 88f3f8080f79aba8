/work/main/examples/guests/target/wasm32-wasip1/release/flood.wasm: /work/main/examples/guests/src/bin/flood.rs /work/main/examples/guests/src/lib.rs
