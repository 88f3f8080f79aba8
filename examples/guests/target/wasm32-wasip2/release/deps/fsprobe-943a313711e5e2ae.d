/work/main/examples/guests/target/wasm32-wasip2/release/deps/fsprobe-943a313711e5e2ae.d: src/bin/fsprobe.rs

/work/main/examples/guests/target/wasm32-wasip2/release/deps/fsprobe-943a313711e5e2ae.wasm: src/bin/fsprobe.rs

src/bin/fsprobe.rs:
