/work/main/examples/guests/target/wasm32-wasip2/release/spin.wasm: /work/main/examples/guests/src/bin/spin.rs /work/main/examples/guests/src/lib.rs
