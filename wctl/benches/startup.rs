//! What `wctl up` costs to start and to keep: `cargo bench -p wctl --bench startup`.
//!
//! Runs the release `wctl up` with every component (API server, scheduler, controllers, local node agent) and no
//! pods: once on a fresh data directory (first start: CA, certificates, encryption key, bootstrap objects), then
//! RUNS times on the same directory (warm disk). For each it measures the time from spawning the binary to the
//! first `200` from `/readyz`, polled every millisecond, and after the last start the resident memory of the idle
//! process (VmRSS and VmHWM, Linux) once it has been idle for five seconds. Prints one line per figure; the
//! numbers in BENCHMARKS.md come from this program. The binary's size is the `dist` profile's (`cargo build
//! --profile dist -p wctl`), measured with `ls -l target/dist/wctl`.

use std::time::{Duration, Instant};

use support::ApiClient;

mod support;

const RUNS: usize = 10;

/// Starts `wctl up` in `dir` and returns it with the time until `/readyz` answered 200.
async fn ready(dir: &std::path::Path) -> (tokio::process::Child, Duration) {
    let started = Instant::now();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_wctl"))
        .args(["up", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("WHARF_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("wctl up starts");
    // The port is chosen by the server and written into the kubeconfig (until then it names the last run's).
    let kubeconfig = dir.join("kubeconfig");
    loop {
        if let Ok(text) = std::fs::read_to_string(&kubeconfig)
            && kube::config::Kubeconfig::from_yaml(&text).is_ok()
        {
            let client = ApiClient::from_kubeconfig(&kubeconfig);
            if client.send("GET", "/readyz", None).await.is_ok_and(|r| r.status() == 200) {
                return (child, started.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (mut first, time) = ready(dir.path()).await;
    println!("first start (fresh data directory): {:.1} ms to /readyz", time.as_secs_f64() * 1e3);
    first.kill().await.expect("stop");
    let _ = std::fs::remove_file(dir.path().join("kubeconfig"));
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let (mut child, time) = ready(dir.path()).await;
        times.push(time);
        child.kill().await.expect("stop");
        let _ = std::fs::remove_file(dir.path().join("kubeconfig"));
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "warm start to /readyz over {RUNS} runs: median {:.1} ms, min {:.1} ms, max {:.1} ms",
        ms(times[RUNS / 2]),
        ms(times[0]),
        ms(times[RUNS - 1])
    );
    let (child, _) = ready(dir.path()).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let pid = child.id().expect("running");
    println!("idle RSS: {} KiB (peak {} KiB)", rss_kib(pid, "VmRSS:"), rss_kib(pid, "VmHWM:"));
}
