/work/main/examples/guests/target/wasm32-wasip1/release/deps/spin-e164539c9f63fbb6.d: src/bin/spin.rs

/work/main/examples/guests/target/wasm32-wasip1/release/deps/spin-e164539c9f63fbb6.wasm: src/bin/spin.rs

src/bin/spin.rs:
