//! What the benchmarks that start a real cluster share: the workspace, the `wasi:http` guest, starting `wctl`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf()
}

/// Builds the guests as the tests do and returns the `wasi:http` hello component.
pub fn http_hello() -> PathBuf {
    let target = root().join("target/guests");
    let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--release",
            "--quiet",
            "--target",
            "wasm32-wasip2",
            "-p",
            "http-hello",
            "--manifest-path",
        ])
        .arg(root().join("examples/guests/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the guests failed (run scripts/setup.sh)");
    target.join("wasm32-wasip2/release/http_hello.wasm")
}

/// Starts `command` and waits for the stdout line starting with `prefix`; returns the child and the line's rest.
pub async fn start(mut command: Command, prefix: &str) -> (Child, String) {
    let mut child = command.stdout(Stdio::piped()).kill_on_drop(true).spawn().expect("starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut found = String::new();
    while let Some(line) = lines.next_line().await.expect("stdout") {
        if let Some(rest) = line.strip_prefix(prefix) {
            rest.clone_into(&mut found);
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, found)
}

/// `value` as a typed object.
pub fn json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("valid object")
}
