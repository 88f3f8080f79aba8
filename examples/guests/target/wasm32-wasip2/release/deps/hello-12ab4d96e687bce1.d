/work/main/examples/guests/target/wasm32-wasip2/release/deps/hello-12ab4d96e687bce1.d: src/bin/hello.rs

/work/main/examples/guests/target/wasm32-wasip2/release/deps/hello-12ab4d96e687bce1.wasm: src/bin/hello.rs

src/bin/hello.rs:
