/work/main/examples/guests/target/wasm32-wasip2/release/ticker.wasm: /work/main/examples/guests/src/bin/ticker.rs /work/main/examples/guests/src/lib.rs
