/work/main/examples/guests/target/wasm32-wasip2/release/hello.wasm: /work/main/examples/guests/src/bin/hello.rs /work/main/examples/guests/src/lib.rs
