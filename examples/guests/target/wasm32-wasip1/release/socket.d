/work/main/examples/guests/target/wasm32-wasip1/release/socket.wasm: /work/main/examples/guests/src/bin/socket.rs /work/main/examples/guests/src/lib.rs
