/work/main/examples/guests/target/wasm32-wasip2/release/deps/flood-58f81e1d98c65eb0.d: src/bin/flood.rs

/work/main/examples/guests/target/wasm32-wasip2/release/deps/flood-58f81e1d98c65eb0.wasm: src/bin/flood.rs

src/bin/flood.rs:
