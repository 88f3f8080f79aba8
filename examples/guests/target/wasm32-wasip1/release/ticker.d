/work/main/examples/guests/target/wasm32-wasip1/release/ticker.wasm: /work/main/examples/guests/src/bin/ticker.rs /work/main/examples/guests/src/lib.rs
