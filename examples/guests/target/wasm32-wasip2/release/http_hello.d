/work/main/examples/guests/target/wasm32-wasip2/release/http_hello.wasm: /work/main/examples/guests/http-hello/src/lib.rs
