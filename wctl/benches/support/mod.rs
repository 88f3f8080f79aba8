//! What the benchmarks that start a real cluster share: the workspace, the `wasi:http` guest, starting `wctl`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf()
}

/// Builds one guest of examples/guests for `target` as the tests do (`select`: `-p PACKAGE` or `--bin NAME`) and
/// returns its file, `file` under the target's release directory.
fn guest(target: &str, select: [&str; 2], file: &str) -> PathBuf {
    let dir = root().join("target/guests");
    let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--quiet", "--target", target])
        .args(select)
        .arg("--manifest-path")
        .arg(root().join("examples/guests/Cargo.toml"))
        .arg("--target-dir")
        .arg(&dir)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the guests failed (run scripts/setup.sh)");
    dir.join(target).join("release").join(file)
}

/// The `wasi:http` hello component.
#[allow(dead_code, reason = "not every benchmark runs it")]
pub fn http_hello() -> PathBuf {
    guest("wasm32-wasip2", ["-p", "http-hello"], "http_hello.wasm")
}

/// The hello command module.
#[allow(dead_code, reason = "not every benchmark runs it")]
pub fn hello() -> PathBuf {
    guest("wasm32-wasip1", ["--bin", "hello"], "hello.wasm")
}

/// A running two-node cluster: `wctl up` (node `local` at 127.0.0.1) and `wctl node` (node `far` at 127.0.0.2).
#[allow(dead_code, reason = "not every benchmark runs two nodes")]
pub struct TwoNodes {
    /// `wctl up`.
    pub server: Child,
    /// The API server's URL.
    pub url: String,
    /// `wctl node`.
    pub far: Child,
}

/// Starts a two-node cluster in `dir`.
#[allow(dead_code, reason = "not every benchmark runs two nodes")]
pub async fn two_nodes(dir: &Path) -> TwoNodes {
    let wctl = env!("CARGO_BIN_EXE_wctl");
    let mut up = Command::new(wctl);
    up.args(["up", "--listen", "127.0.0.1:0", "--node-ip", "127.0.0.1", "--data-dir"])
        .arg(dir)
        .env("WHARF_LOG", "warn");
    let (server, url) = start(up, "Wharf is up: API at ").await;
    let mut node = Command::new(wctl);
    node.args(["node", "--node-name", "far", "--node-ip", "127.0.0.2", "--kubeconfig"])
        .arg(dir.join("kubeconfig"))
        .arg("--data-dir")
        .arg(dir.join("far"))
        .env("WHARF_LOG", "warn")
        .stdout(Stdio::null());
    let far = node.kill_on_drop(true).spawn().expect("wctl node");
    TwoNodes { server, url, far }
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
#[allow(dead_code, reason = "not every benchmark builds objects from JSON")]
pub fn json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("valid object")
}
