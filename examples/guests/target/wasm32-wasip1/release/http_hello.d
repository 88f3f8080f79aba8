/work/main/examples/guests/target/wasm32-wasip1/release/http_hello.wasm: /work/main/examples/guests/http-hello/src/lib.rs
