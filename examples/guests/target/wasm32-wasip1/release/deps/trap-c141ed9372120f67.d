/work/main/examples/guests/target/wasm32-wasip1/release/deps/trap-c141ed9372120f67.d: src/bin/trap.rs

/work/main/examples/guests/target/wasm32-wasip1/release/deps/trap-c141ed9372120f67.wasm: src/bin/trap.rs

src/bin/trap.rs:
