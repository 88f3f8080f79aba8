/work/main/examples/guests/target/wasm32-wasip1/release/libguests.rlib: /work/main/examples/guests/src/lib.rs
