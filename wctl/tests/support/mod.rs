//! What the CLI tests share: a real `wctl up` in a temporary data directory with the hello guest in its node's
//! images directory, and running `wctl` against it as a user would.

#![allow(dead_code, reason = "each test file uses part of it")]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf()
}

/// The guests of examples/guests, built once per test process for both wasm targets; returns the directory
/// holding `wasm32-wasip1/release/*.wasm` and `wasm32-wasip2/release/*.wasm`.
fn guests() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = root().join("target/guests");
            let status =
                std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                    .args([
                        "build",
                        "--release",
                        "--quiet",
                        "--target",
                        "wasm32-wasip1",
                        "--target",
                        "wasm32-wasip2",
                    ])
                    .arg("--manifest-path")
                    .arg(root().join("examples/guests/Cargo.toml"))
                    .arg("--target-dir")
                    .arg(&dir)
                    .status()
                    .expect("cargo runs");
            assert!(status.success(), "building the guests failed (run scripts/setup.sh)");
            dir
        })
        .clone()
}

/// The `hello` guest (wasm32-wasip1): it prints its arguments and environment, then runs each argument as a step
/// (`exit:N`, `forever`, `sleep:MS`; anything else is printed).
pub fn hello_wasm() -> PathBuf {
    guests().join("wasm32-wasip1/release/hello.wasm")
}

/// The `http-hello` `wasi:http` component (wasm32-wasip2): `hello from wasi:http: METHOD PATH`.
pub fn http_hello_wasm() -> PathBuf {
    guests().join("wasm32-wasip2/release/http_hello.wasm")
}

/// A running `wctl up`.
pub struct Cluster {
    /// The process (killed on drop).
    pub process: Child,
    /// Its data directory.
    pub dir: tempfile::TempDir,
    /// Its API URL.
    pub url: String,
}

impl Cluster {
    /// Starts `wctl up` on a free port with `hello.wasm` and `http_hello.wasm` in its node's images directory.
    pub async fn up(flags: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let images = dir.path().join("node/images");
        std::fs::create_dir_all(&images).unwrap();
        std::fs::copy(hello_wasm(), images.join("hello.wasm")).unwrap();
        std::fs::copy(http_hello_wasm(), images.join("http_hello.wasm")).unwrap();
        let (process, url) = start(dir.path(), flags).await;
        Self { process, dir, url }
    }

    /// The kubeconfig `wctl up` wrote.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// Runs `wctl ARGS` with this cluster's kubeconfig as `$KUBECONFIG`.
    pub async fn wctl(&self, args: &[&str]) -> Run {
        run(args, &[("KUBECONFIG", self.kubeconfig().as_os_str())]).await
    }

    /// Runs `wctl ARGS` and asserts it succeeds; returns its standard output.
    pub async fn ok(&self, args: &[&str]) -> String {
        let run = self.wctl(args).await;
        assert!(run.ok, "wctl {} failed: {}{}", args.join(" "), run.stdout, run.stderr);
        run.stdout
    }

    /// Runs `wctl ARGS`, asserts it fails with one line on standard error, and returns that line.
    pub async fn fails(&self, args: &[&str]) -> String {
        one_line_failure(args, self.wctl(args).await)
    }

    /// Starts `wctl ARGS` in the background with its standard input piped.
    pub fn spawn_with_stdin(&self, args: &[&str]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_wctl"))
            .args(args)
            .env("KUBECONFIG", self.kubeconfig())
            .stdin(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("wctl starts")
    }

    /// Starts `wctl ARGS` in the background with piped standard output (for `-w` and `-f`).
    pub fn spawn(&self, args: &[&str]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_wctl"))
            .args(args)
            .env("KUBECONFIG", self.kubeconfig())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("wctl starts")
    }
}

/// Starts `wctl up` in `data_dir` and returns it once it says it is up, with its URL.
pub async fn start(data_dir: &Path, flags: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wctl"))
        .args(["up", "--listen", "127.0.0.1:0"])
        .args(flags)
        .arg("--data-dir")
        .arg(data_dir)
        .env("WHARF_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("wctl starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(url) = line.strip_prefix("Wharf is up: API at ") {
                return url.to_owned();
            }
        }
        panic!("wctl up exited before it was up");
    })
    .await
    .expect("wctl up in time");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

/// What a finished `wctl` printed.
#[derive(Debug)]
pub struct Run {
    /// Whether it exited 0.
    pub ok: bool,
    /// Its exit code.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `wctl ARGS` with extra environment variables.
pub async fn run(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wctl"));
    command.args(args).stdin(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    let out = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .unwrap_or_else(|_| panic!("wctl {} did not finish", args.join(" ")))
        .expect("wctl runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Run {
        ok: out.status.success(),
        code: out.status.code(),
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
    }
}

/// Asserts a run failed with exactly one `error: ` line on standard error; returns it.
pub fn one_line_failure(args: &[&str], run: Run) -> String {
    assert!(!run.ok, "wctl {} should fail: {}", args.join(" "), run.stdout);
    let stderr = run.stderr.trim().to_owned();
    assert_eq!(stderr.lines().count(), 1, "wctl {}: one line: {stderr}", args.join(" "));
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

/// Retries `check` every 100 ms until it returns `Some`, for up to 60 s.
pub async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    check: impl Fn() -> F,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads lines from a background `wctl` until one satisfies `wanted`.
pub async fn line_matching(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    wanted: impl Fn(&str) -> bool,
) -> String {
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("read") {
            if wanted(&line) {
                return line;
            }
        }
        panic!("the output ended before the line we wait for");
    })
    .await
    .expect("the line in time")
}
