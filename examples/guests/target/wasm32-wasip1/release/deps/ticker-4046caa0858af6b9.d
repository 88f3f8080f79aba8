/work/main/examples/guests/target/wasm32-wasip1/release/deps/ticker-4046caa0858af6b9.d: src/bin/ticker.rs

/work/main/examples/guests/target/wasm32-wasip1/release/deps/ticker-4046caa0858af6b9.wasm: src/bin/ticker.rs

src/bin/ticker.rs:
