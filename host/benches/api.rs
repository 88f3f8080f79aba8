//! Pod start through the API, end to end: an API server (in this process) and a node agent (in a child process,
//! so that its memory is measured alone). Pods are created already bound to the node (`spec.nodeName` set, as
//! after a scheduler's binding) with a module the agent has compiled before; a watch sees each one reach
//! Running.
//!
//! Figures: start latency p50/p99 from sending the create to the watch event showing Running (one pod at a time);
//! pods started per second with many creates in flight; the agent's resident memory per idle running pod (a
//! guest sleeping in a host call) at each count reached.
//!
//! Run: `cargo bench -p host --bench api` (`WHARF_BENCH_API_PODS=1000` sets the pods per phase). Needs the guests
//! built (`cargo build --release --target wasm32-wasip1 --manifest-path examples/guests/Cargo.toml
//! --target-dir target/guests`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::PostParams;
use kube::runtime::watcher;
use serde_json::json;
use tokio::sync::mpsc;

/// Set in the child process: the API server's URL.
const AGENT_URL: &str = "WHARF_BENCH_AGENT_URL";
/// Set in the child process: the agent's data directory.
const AGENT_DIR: &str = "WHARF_BENCH_AGENT_DIR";
const NODE: &str = "bench-node";

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let pods: usize = std::env::var("WHARF_BENCH_API_PODS").ok().and_then(|n| n.parse().ok()).unwrap_or(1000);
    if let (Ok(url), Ok(dir)) = (std::env::var(AGENT_URL), std::env::var(AGENT_DIR)) {
        rt.block_on(agent(&url, Path::new(&dir), pods));
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let wasm = root.join("target/guests/wasm32-wasip1/release/hello.wasm");
    assert!(wasm.exists(), "build the guests first (see the module docs)");
    rt.block_on(bench(&wasm, pods));
}

/// The child: a node agent that runs until its stdin closes (the parent ended).
async fn agent(url: &str, dir: &Path, pods: usize) {
    let mut config = kube::Config::new(url.parse().expect("url"));
    config.default_retry = false;
    let client = kube::Client::try_from(config).expect("client");
    let mut node = host::NodeConfig::new(NODE, dir);
    // Both phases' pods stay, plus the warm-up ones.
    node.max_pods = u32::try_from(2 * pods + 100).unwrap_or(u32::MAX);
    node.pod_cidr = "127.64.0.0/18".parse().ok();
    let agent = host::Agent::start(client, node).await.expect("agent starts");
    let mut stdin = tokio::io::stdin();
    let _ = tokio::io::AsyncReadExt::read_to_end(&mut stdin, &mut Vec::new()).await;
    agent.shutdown().await;
}

fn rss_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kib| kib * 1024)
}

/// Memory mappings of a process: Linux caps them (`vm.max_map_count`, 65,530 by default), which bounds the
/// pods one agent can hold before its own allocations fail.
fn mappings_of(pid: u32) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/maps")).map_or(0, |m| m.lines().count())
}

fn pod(name: &str, image: &Path) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"bench": "api"}},
        "spec": {
            "nodeName": NODE,
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": image.display().to_string(), "args": ["forever"]}]
        }
    }))
    .expect("pod")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

/// Sends each bench pod's name the first time a watch shows it Running (or finished).
fn watch_started(api: Api<Pod>) -> mpsc::UnboundedReceiver<(String, Instant)> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut seen = HashSet::new();
        let mut events = watcher(api, watcher::Config::default().labels("bench=api")).boxed();
        while let Some(event) = events.next().await {
            let Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) = event else {
                continue;
            };
            let at = Instant::now();
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or_default();
            let name = pod.metadata.name.unwrap_or_default();
            if matches!(phase, "Running" | "Succeeded" | "Failed") && seen.insert(name.clone()) {
                let _ = tx.send((name, at));
            }
        }
    });
    rx
}

async fn bench(wasm: &Path, pods: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = apiserver::Server::start(apiserver::ServerConfig::new(
        ([127, 0, 0, 1], 0).into(),
        dir.path().join("server"),
    ))
    .await
    .expect("server starts");
    let url = format!("http://{}", server.addr());
    let mut child = tokio::process::Command::new(std::env::current_exe().expect("own path"))
        .env(AGENT_URL, &url)
        .env(AGENT_DIR, dir.path().join("node"))
        .stdin(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("agent process");
    let agent_pid = child.id().expect("pid");
    let mut config = kube::Config::new(url.parse().expect("url"));
    config.default_retry = false;
    let client = kube::Client::try_from(config).expect("client");
    let nodes: Api<Node> = Api::all(client.clone());
    while nodes.get_opt(NODE).await.ok().flatten().is_none() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut started = watch_started(api.clone());
    let image = PathBuf::from(wasm);

    // Warm-up: the agent compiles the module once (and caches it); the first pods also warm its allocators.
    for i in 0..20 {
        api.create(&PostParams::default(), &pod(&format!("warm-{i}"), &image)).await.expect("create");
        started.recv().await.expect("watch");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let base_rss = rss_of(agent_pid);
    let mut running = 20;

    // Latency: one pod at a time, from sending its create to the watch showing it Running.
    let mut samples = Vec::with_capacity(pods);
    for i in 0..pods {
        let name = format!("seq-{i}");
        let sent = Instant::now();
        api.create(&PostParams::default(), &pod(&name, &image)).await.expect("create");
        let (seen, at) = started.recv().await.expect("watch");
        assert_eq!(seen, name);
        samples.push(at - sent);
    }
    running += pods;
    samples.sort();
    println!(
        "start latency, create -> Running seen by a watch ({pods} pods, one at a time): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss = rss_of(agent_pid);
    println!(
        "agent RSS: {:.1} MiB with {running} idle pods ({:.1} MiB before); {:.1} KiB per idle pod; {} mappings",
        rss as f64 / 1_048_576.0,
        base_rss as f64 / 1_048_576.0,
        rss.saturating_sub(base_rss) as f64 / 1024.0 / pods as f64,
        mappings_of(agent_pid)
    );

    // Throughput: many creates in flight; pods/s from the first create to the last pod seen Running.
    let first = Instant::now();
    let creators = 32;
    let api = Arc::new(api);
    let mut tasks = Vec::new();
    for worker in 0..creators {
        let (api, image) = (api.clone(), image.clone());
        tasks.push(tokio::spawn(async move {
            for i in (worker..pods).step_by(creators) {
                api.create(&PostParams::default(), &pod(&format!("burst-{i}"), &image))
                    .await
                    .expect("create");
            }
        }));
    }
    let mut last = first;
    for _ in 0..pods {
        let (_, at) = started.recv().await.expect("watch");
        last = at;
    }
    for task in tasks {
        task.await.expect("creator");
    }
    running += pods;
    let elapsed = last - first;
    println!(
        "throughput: {pods} pods created by {creators} clients, all Running in {:.2} s: {:.0} pods/s",
        elapsed.as_secs_f64(),
        pods as f64 / elapsed.as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss = rss_of(agent_pid);
    println!(
        "agent RSS: {:.1} MiB with {running} idle pods; {:.1} KiB per idle pod; {} mappings",
        rss as f64 / 1_048_576.0,
        rss.saturating_sub(base_rss) as f64 / 1024.0 / (running - 20) as f64,
        mappings_of(agent_pid)
    );
    drop(child.stdin.take());
    let _ = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
}
