/work/main/examples/guests/target/wasm32-wasip2/release/deps/ticker-7f5918b93b3f1097.d: src/bin/ticker.rs

/work/main/examples/guests/target/wasm32-wasip2/release/deps/ticker-7f5918b93b3f1097.wasm: src/bin/ticker.rs

src/bin/ticker.rs:
