/work/main/examples/guests/target/wasm32-wasip1/release/deps/guests-537ac67a1848d5c7.d: src/lib.rs

/work/main/examples/guests/target/wasm32-wasip1/release/deps/libguests-537ac67a1848d5c7.rlib: src/lib.rs

/work/main/examples/guests/target/wasm32-wasip1/release/deps/libguests-537ac67a1848d5c7.rmeta: src/lib.rs

src/lib.rs:
