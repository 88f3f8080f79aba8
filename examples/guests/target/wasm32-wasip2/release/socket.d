/work/main/examples/guests/target/wasm32-wasip2/release/socket.wasm: /work/main/examples/guests/src/bin/socket.rs /work/main/examples/guests/src/lib.rs
