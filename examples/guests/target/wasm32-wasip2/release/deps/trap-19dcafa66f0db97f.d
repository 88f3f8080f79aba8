/work/main/examples/guests/target/wasm32-wasip2/release/deps/trap-19dcafa66f0db97f.d: src/bin/trap.rs

/work/main/examples/guests/target/wasm32-wasip2/release/deps/trap-19dcafa66f0db97f.wasm: src/bin/trap.rs

src/bin/trap.rs:
