/work/main/examples/guests/target/wasm32-wasip1/release/deps/wit_bindgen-e67ba3cf1f1b34d0.d: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/wit-bindgen-0.57.1/src/lib.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/wit-bindgen-0.57.1/src/rt/mod.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/wit-bindgen-0.57.1/src/rt/wit_bindgen_cabi_realloc.rs

/work/main/examples/guests/target/wasm32-wasip1/release/deps/libwit_bindgen-e67ba3cf1f1b34d0.rlib: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/wit-bindgen-0.57.1/src/lib.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/wit-bindgen-0.57.1/src/rt/mod.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/wit-bindgen-0.57.1/src/rt/wit_bindgen_cabi_realloc.rs

/work/main/examples/guests/target/wasm32-wasip1/release/deps/libwit_bindgen-e67ba3cf1f1b34d0.rmeta: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/wit-bindgen-0.57.1/src/lib.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/wit-bindgen-0.57.1/src/rt/mod.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/wit-bindgen-0.57.1/src/rt/wit_bindgen_cabi_realloc.rs

/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/wit-bindgen-0.57.1/src/lib.rs:
/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/wit-bindgen-0.57.1/src/rt/mod.rs:
/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/wit-bindgen-0.57.1/src/rt/wit_bindgen_cabi_realloc.rs:
