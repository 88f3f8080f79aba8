/work/main/examples/guests/target/wasm32-wasip1/release/trap.wasm: /work/main/examples/guests/src/bin/trap.rs /work/main/examples/guests/src/lib.rs
