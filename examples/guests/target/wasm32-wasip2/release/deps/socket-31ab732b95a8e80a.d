/work/main/examples/guests/target/wasm32-wasip2/release/deps/socket-31ab732b95a8e80a.d: src/bin/socket.rs

/work/main/examples/guests/target/wasm32-wasip2/release/deps/socket-31ab732b95a8e80a.wasm: src/bin/socket.rs

src/bin/socket.rs:
