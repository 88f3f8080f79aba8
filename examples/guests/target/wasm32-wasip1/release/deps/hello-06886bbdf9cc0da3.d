/work/main/examples/guests/target/wasm32-wasip1/release/deps/hello-06886bbdf9cc0da3.d: src/bin/hello.rs

/work/main/examples/guests/target/wasm32-wasip1/release/deps/hello-06886bbdf9cc0da3.wasm: src/bin/hello.rs

src/bin/hello.rs:
