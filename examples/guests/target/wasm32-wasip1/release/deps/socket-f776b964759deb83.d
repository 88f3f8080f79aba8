/work/main/examples/guests/target/wasm32-wasip1/release/deps/socket-f776b964759deb83.d: src/bin/socket.rs

/work/main/examples/guests/target/wasm32-wasip1/release/deps/socket-f776b964759deb83.wasm: src/bin/socket.rs

src/bin/socket.rs:
