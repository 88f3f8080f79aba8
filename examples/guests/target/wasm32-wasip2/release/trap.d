/work/main/examples/guests/target/wasm32-wasip2/release/trap.wasm: /work/main/examples/guests/src/bin/trap.rs /work/main/examples/guests/src/lib.rs
