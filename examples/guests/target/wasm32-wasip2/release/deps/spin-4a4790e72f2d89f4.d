/work/main/examples/guests/target/wasm32-wasip2/release/deps/spin-4a4790e72f2d89f4.d: src/bin/spin.rs

/work/main/examples/guests/target/wasm32-wasip2/release/deps/spin-4a4790e72f2d89f4.wasm: src/bin/spin.rs

src/bin/spin.rs:
