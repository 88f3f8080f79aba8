/work/main/examples/guests/target/wasm32-wasip2/release/deps/guests-f0239d11034f8d80.d: src/lib.rs

/work/main/examples/guests/target/wasm32-wasip2/release/deps/libguests-f0239d11034f8d80.rlib: src/lib.rs

/work/main/examples/guests/target/wasm32-wasip2/release/deps/libguests-f0239d11034f8d80.rmeta: src/lib.rs

src/lib.rs:
