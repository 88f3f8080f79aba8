/work/main/examples/guests/target/wasm32-wasip1/release/membomb.wasm: /work/main/examples/guests/src/bin/membomb.rs /work/main/examples/guests/src/lib.rs
