//! Whole-cluster benchmark: `cargo bench -p wctl --bench cluster`.
//!
//! Starts the release `wctl up` (API server, scheduler, controllers and one node agent in one process) and
//! measures, through the API as a user sees it: the time from creating a 1,000-replica Deployment to all its pods
//! Running, and the duration of a rolling update of 100 replicas (from the template change until the Deployment
//! reports every replica updated and available). The guest is `hello` from examples/guests, whose compiled code
//! is cached by a first pod before anything is timed.

use std::process::Stdio;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Builds the guests as the tests do and returns the hello module.
fn hello_guest() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf();
    let target = root.join("target/guests");
    let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--release",
            "--quiet",
            "--target",
            "wasm32-wasip1",
            "--bin",
            "hello",
            "--manifest-path",
        ])
        .arg(root.join("examples/guests/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the guests failed (run scripts/setup.sh)");
    target.join("wasm32-wasip1/release/hello.wasm")
}

fn deployment(name: &str, replicas: i32, greeting: &str) -> Deployment {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "main", "image": "hello.wasm", "args": ["forever"],
                                                        "env": [{"name": "GREETING", "value": greeting}],
                                                        "resources": {"requests": {"cpu": "1m", "memory": "1Mi"}}}]}}},
    }))
    .expect("deployment")
}

async fn running(pods: &Api<Pod>, app: &str) -> usize {
    let list = pods.list(&ListParams::default().labels(&format!("app={app}"))).await.expect("list");
    list.items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .count()
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let images = dir.path().join("node/images");
    std::fs::create_dir_all(&images).expect("images dir");
    std::fs::copy(hello_guest(), images.join("hello.wasm")).expect("copy guest");
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_wctl"))
        .args(["up", "--listen", "127.0.0.1:0", "--max-pods", "2000", "--data-dir"])
        .arg(dir.path())
        .env("WHARF_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("wctl up");
    let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
    let mut url = String::new();
    while let Some(line) = lines.next_line().await.expect("stdout") {
        if let Some(u) = line.strip_prefix("Wharf is up: API at ") {
            u.clone_into(&mut url);
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let client = kube::Client::try_from(kube::Config::new(url.parse().expect("url"))).expect("client");
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let wait = |what: &'static str, app: &'static str, want: usize| {
        let pods = pods.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(300);
            while running(&pods, app).await < want {
                assert!(Instant::now() < deadline, "{what}: not done in 300 s");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };

    // Warm the compiled-code cache.
    deploys.create(&PostParams::default(), &deployment("warm", 1, "warm")).await.expect("warm");
    wait("warm-up", "warm", 1).await;

    let started = Instant::now();
    deploys.create(&PostParams::default(), &deployment("big", 1000, "one")).await.expect("create");
    wait("1,000 replicas", "big", 1000).await;
    println!("1,000-replica Deployment, create to all Running: {:?}", started.elapsed());

    deploys.create(&PostParams::default(), &deployment("roll", 100, "one")).await.expect("create");
    wait("100 replicas", "roll", 100).await;
    let started = Instant::now();
    let change = serde_json::json!({"spec": {"template": {"spec": {"containers": [
        {"name": "main", "env": [{"name": "GREETING", "value": "two"}]}]}}}});
    deploys.patch("roll", &PatchParams::default(), &Patch::Strategic(change)).await.expect("rollout");
    loop {
        let d = deploys.get("roll").await.expect("get");
        let status = d.status.unwrap_or_default();
        let generation = d.metadata.generation.unwrap_or(0);
        let done = status.observed_generation.unwrap_or(0) >= generation
            && status.updated_replicas == Some(100)
            && status.available_replicas == Some(100)
            && status.replicas == Some(100);
        if done {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "rollout not done in 300 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("100-replica rolling update (25% surge, 25% unavailable): {:?}", started.elapsed());
    server.start_kill().ok();
}
