/work/main/examples/guests/target/wasm32-wasip2/release/deps/echo-663a312f9b95d441.d: src/bin/echo.rs

/work/main/examples/guests/target/wasm32-wasip2/release/deps/echo-663a312f9b95d441.wasm: src/bin/echo.rs

src/bin/echo.rs:
