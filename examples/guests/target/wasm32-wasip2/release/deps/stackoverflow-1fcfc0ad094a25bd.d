/work/main/examples/guests/target/wasm32-wasip2/release/deps/stackoverflow-1fcfc0ad094a25bd.d: src/bin/stackoverflow.rs

/work/main/examples/guests/target/wasm32-wasip2/release/deps/stackoverflow-1fcfc0ad094a25bd.wasm: src/bin/stackoverflow.rs

src/bin/stackoverflow.rs:
