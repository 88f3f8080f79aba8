/work/main/examples/guests/target/wasm32-wasip2/release/echo.wasm: /work/main/examples/guests/src/bin/echo.rs /work/main/examples/guests/src/lib.rs
