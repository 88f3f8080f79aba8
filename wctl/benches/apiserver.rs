//! API server benchmark: `cargo bench -p wctl --bench apiserver`.
//!
//! Starts the release `wctl up` in a temporary data directory and drives it over HTTP with kube-rs from this
//! process, on the same machine (so client and server share the cores). Prints one line per figure; the
//! numbers recorded in BENCHMARKS.md come from this program.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use tokio::io::{AsyncBufReadExt, BufReader};

const POD_COUNT: usize = 10_000;
const WATCHERS: usize = 100;
const WATCHED_WRITES: usize = 200;

fn pod(name: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "labels": {"app": "bench", "tier": "web"}},
        "spec": {"containers": [{"name": "web", "image": "file:///opt/wharf/web.wasm",
                                  "env": [{"name": "GREETING", "value": "hello"}],
                                  "ports": [{"containerPort": 8080}],
                                  "resources": {"requests": {"cpu": "50m", "memory": "16Mi"},
                                                "limits": {"memory": "64Mi"}}}]},
    }))
    .expect("pod")
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn create_pods(api: &Api<Pod>, prefix: &str, count: usize, clients: usize) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (api, next, prefix) = (api.clone(), next.clone(), prefix.to_owned());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return;
                }
                api.create(&PostParams::default(), &pod(&format!("{prefix}-{i}"))).await.expect("create");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    count as f64 / start.elapsed().as_secs_f64()
}

async fn namespace(client: &kube::Client, name: &str) {
    let ns: Namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).expect("ns");
    Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await.expect("namespace");
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_wctl"))
        .args(["up", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("WHARF_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("wctl up");
    let pid = server.id().expect("pid");
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
    println!(
        "machine: {} cores; server pid {pid}; idle RSS {} KiB",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        rss_kib(pid)
    );

    for ns in ["one", "many", "watch"] {
        namespace(&client, ns).await;
    }
    let one: Api<Pod> = Api::namespaced(client.clone(), "one");
    let rate = create_pods(&one, "p", 1_000, 1).await;
    println!("durable creates/s, 1 client: {rate:.0}");
    let many: Api<Pod> = Api::namespaced(client.clone(), "many");
    let rate = create_pods(&many, "p", POD_COUNT, 64).await;
    println!("durable creates/s, 64 clients: {rate:.0}");
    println!("server RSS holding {} pods: {:.1} MiB", POD_COUNT + 1_000, rss_kib(pid) as f64 / 1024.0);

    let mut list_times = Vec::new();
    for _ in 0..10 {
        let start = Instant::now();
        let list = many.list(&ListParams::default()).await.expect("list");
        list_times.push(start.elapsed());
        assert_eq!(list.items.len(), POD_COUNT);
    }
    list_times.sort();
    println!(
        "list of {POD_COUNT} pods (decoded by kube-rs): p50 {:?}, max {:?}",
        percentile(&list_times, 0.5),
        list_times[9]
    );

    let gets = Arc::new(AtomicUsize::new(0));
    let until = Instant::now() + Duration::from_secs(5);
    let mut tasks = Vec::new();
    for c in 0..64 {
        let (many, gets) = (many.clone(), gets.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = c;
            while Instant::now() < until {
                many.get(&format!("p-{}", i % POD_COUNT)).await.expect("get");
                gets.fetch_add(1, Ordering::Relaxed);
                i += 64;
            }
        }));
    }
    for t in tasks {
        t.await.expect("reader");
    }
    println!("gets/s, 64 clients: {:.0}", gets.load(Ordering::Relaxed) as f64 / 5.0);

    // Watch delivery: 100 watchers, one writer; latency from the write's acknowledgement to each delivery.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "watch");
    let rv = cms.list(&ListParams::default()).await.expect("list").metadata.resource_version.expect("rv");
    let acked: Arc<std::sync::Mutex<std::collections::HashMap<String, Instant>>> = Arc::default();
    let mut watchers = Vec::new();
    for _ in 0..WATCHERS {
        let mut stream = cms.watch(&WatchParams::default().timeout(120), &rv).await.expect("watch").boxed();
        let acked = acked.clone();
        watchers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(WATCHED_WRITES);
            while latencies.len() < WATCHED_WRITES {
                let Some(Ok(WatchEvent::Added(cm))) = stream.next().await else { continue };
                let received = Instant::now();
                let name = cm.metadata.name.unwrap_or_default();
                // The writer records the acknowledgement time after the event may already be here.
                loop {
                    if let Some(at) = acked.lock().expect("lock").get(&name) {
                        latencies.push(received.saturating_duration_since(*at));
                        break;
                    }
                    tokio::task::yield_now().await;
                }
            }
            latencies
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = Instant::now();
    for i in 0..WATCHED_WRITES {
        let cm: ConfigMap =
            serde_json::from_value(serde_json::json!({"metadata": {"name": format!("c{i}")}})).expect("cm");
        let before = Instant::now();
        cms.create(&PostParams::default(), &cm).await.expect("create");
        acked.lock().expect("lock").insert(format!("c{i}"), before);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut all = Vec::new();
    for w in watchers {
        all.extend(w.await.expect("watcher"));
    }
    all.sort();
    println!(
        "watch delivery, {WATCHERS} watchers x {WATCHED_WRITES} writes in {:?} (from write start): p50 {:?}, p99 {:?}, max {:?}",
        sent.elapsed(),
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        all[all.len() - 1]
    );
    server.start_kill().ok();
}
