/work/main/examples/guests/target/wasm32-wasip1/release/deps/http_hello.d: http-hello/src/lib.rs

/work/main/examples/guests/target/wasm32-wasip1/release/deps/http_hello.wasm: http-hello/src/lib.rs

http-hello/src/lib.rs:
