/work/main/examples/guests/target/wasm32-wasip2/release/deps/wit_bindgen-016878d23af9809a.d: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/wit-bindgen-0.57.1/src/lib.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/wit-bindgen-0.57.1/src/rt/mod.rs

/work/main/examples/guests/target/wasm32-wasip2/release/deps/libwit_bindgen-016878d23af9809a.rlib: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/wit-bindgen-0.57.1/src/lib.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/wit-bindgen-0.57.1/src/rt/mod.rs

/work/main/examples/guests/target/wasm32-wasip2/release/deps/libwit_bindgen-016878d23af9809a.rmeta: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/wit-bindgen-0.57.1/src/lib.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/wit-bindgen-0.57.1/src/rt/mod.rs

/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/wit-bindgen-0.57.1/src/lib.rs:
/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/wit-bindgen-0.57.1/src/rt/mod.rs:
