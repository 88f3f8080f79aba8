/work/main/examples/guests/target/wasm32-wasip1/release/stackoverflow.wasm: /work/main/examples/guests/src/bin/stackoverflow.rs /work/main/examples/guests/src/lib.rs
