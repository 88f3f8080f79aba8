/work/main/examples/guests/target/wasm32-wasip2/release/deps/membomb-6ff3ab635876966b.d: src/bin/membomb.rs

/work/main/examples/guests/target/wasm32-wasip2/release/deps/membomb-6ff3ab635876966b.wasm: src/bin/membomb.rs

src/bin/membomb.rs:
