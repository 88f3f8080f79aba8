/work/main/examples/guests/target/wasm32-wasip2/release/fsprobe.wasm: /work/main/examples/guests/src/bin/fsprobe.rs /work/main/examples/guests/src/lib.rs
