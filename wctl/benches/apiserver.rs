//! API server benchmark: `cargo bench -p wctl --bench apiserver`.
//!
//! Starts the release `wctl up` in a temporary data directory, with only the API server (`--disable-agent
//! --disable-scheduler --disable-controllers`; `WHARF_BENCH_ALL=1` keeps every component, whose caches of the
//! pods then share the process), and drives it over HTTP from this process, on the same machine, so client and
//! server share the cores. The load generator is deliberately thin (pre-serialised
//! bodies, responses checked by status code, watch events located by a substring search) so that the figures
//! describe the server rather than a client's JSON decoding. Prints one line per figure; the numbers recorded in
//! BENCHMARKS.md come from this program.

use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use support::ApiClient;
use tokio::io::{AsyncBufReadExt, BufReader};

mod support;

const POD_COUNT: usize = 10_000;
const WATCHERS: usize = 100;
const WATCHED_WRITES: usize = 300;

fn pod(name: &str) -> Bytes {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench", "tier": "web"}},
        // A scheduler name nobody serves keeps the pods pending: this measures the API server, not a rollout.
        "spec": {"schedulerName": "bench-unscheduled",
                 "containers": [{"name": "web", "image": "file:///opt/wharf/web.wasm",
                                  "env": [{"name": "GREETING", "value": "hello"}],
                                  "ports": [{"containerPort": 8080}],
                                  "resources": {"requests": {"cpu": "50m", "memory": "16Mi"},
                                                "limits": {"memory": "64Mi"}}}]},
    })
    .to_string()
    .into()
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

async fn create_pods(http: &ApiClient, ns: &str, count: usize, clients: usize) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let url = format!("/api/v1/namespaces/{ns}/pods");
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, next, url) = (http.clone(), next.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return;
                }
                let (status, _) = http.request("POST", &url, pod(&format!("p-{i}"))).await;
                assert_eq!(status, 201);
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    count as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let everything = std::env::var_os("WHARF_BENCH_ALL").is_some();
    let alone: &[&str] =
        if everything { &[] } else { &["--disable-agent", "--disable-scheduler", "--disable-controllers"] };
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_wctl"))
        .args(["up", "--listen", "127.0.0.1:0"])
        .args(alone)
        .arg("--data-dir")
        .arg(dir.path())
        .env("WHARF_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("wctl up");
    let pid = server.id().expect("pid");
    let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
    while let Some(line) = lines.next_line().await.expect("stdout") {
        if line.starts_with("Wharf is up: API at ") {
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let http = ApiClient::from_kubeconfig(&dir.path().join("kubeconfig"));
    println!("wctl up with {}", if everything { "every component" } else { "the API server alone" });
    println!(
        "machine: {} cores; server pid {pid}; idle RSS {} KiB",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        rss_kib(pid)
    );
    for ns in ["one", "many", "watch"] {
        let body = serde_json::json!({"metadata": {"name": ns}}).to_string().into();
        assert_eq!(http.request("POST", "/api/v1/namespaces", body).await.0, 201);
    }

    let rate = create_pods(&http, "one", 1_000, 1).await;
    println!("durable creates/s, 1 client: {rate:.0}");
    let rate = create_pods(&http, "many", POD_COUNT, 64).await;
    println!("durable creates/s, 64 clients: {rate:.0}");
    println!("server RSS holding {} pods: {:.1} MiB", POD_COUNT + 1_000, rss_kib(pid) as f64 / 1024.0);

    let mut list_times = Vec::new();
    let mut size = 0;
    for _ in 0..10 {
        let start = Instant::now();
        let (status, body) = http.request("GET", "/api/v1/namespaces/many/pods", Bytes::new()).await;
        list_times.push(start.elapsed());
        assert_eq!(status, 200);
        size = body.len();
    }
    list_times.sort();
    println!(
        "list of {POD_COUNT} pods ({:.1} MiB of JSON, received whole): p50 {:?}, max {:?}",
        size as f64 / 1_048_576.0,
        percentile(&list_times, 0.5),
        list_times[9]
    );
    let mut table_times = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let table = Some("application/json;as=Table;v=v1;g=meta.k8s.io");
        let response = http.send("GET", "/api/v1/namespaces/many/pods", table).await.expect("table");
        response.into_body().collect().await.expect("body");
        table_times.push(start.elapsed());
    }
    table_times.sort();
    println!("table of {POD_COUNT} pods (kubectl get): p50 {:?}", percentile(&table_times, 0.5));

    let gets = Arc::new(AtomicUsize::new(0));
    let until = Instant::now() + Duration::from_secs(5);
    let mut tasks = Vec::new();
    for c in 0..64 {
        let (http, gets) = (http.clone(), gets.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = c;
            while Instant::now() < until {
                let url = format!("/api/v1/namespaces/many/pods/p-{}", i % POD_COUNT);
                assert_eq!(http.request("GET", &url, Bytes::new()).await.0, 200);
                gets.fetch_add(1, Ordering::Relaxed);
                i += 64;
            }
        }));
    }
    for t in tasks {
        t.await.expect("reader");
    }
    println!("gets/s, 64 clients: {:.0}", gets.load(Ordering::Relaxed) as f64 / 5.0);

    // Watch delivery: 100 watchers, one writer creating objects at ~100/s. Latency runs from the moment the
    // write was acknowledged to its client to each watcher's receipt; an event that arrives before the
    // acknowledgement counts as zero.
    let (_, list) = http.request("GET", "/api/v1/namespaces/watch/configmaps", Bytes::new()).await;
    let list: serde_json::Value = serde_json::from_slice(&list).expect("list");
    let rv = list["metadata"]["resourceVersion"].as_str().expect("rv").to_owned();
    let acked: Arc<Mutex<std::collections::HashMap<String, Instant>>> = Arc::default();
    let mut watchers = Vec::new();
    for _ in 0..WATCHERS {
        let url =
            format!("/api/v1/namespaces/watch/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=120");
        let response = http.send("GET", &url, None).await.expect("watch");
        let mut body = response.into_body();
        watchers.push(tokio::spawn(async move {
            let mut received = Vec::with_capacity(WATCHED_WRITES);
            let mut pending = Vec::new();
            while received.len() < WATCHED_WRITES {
                let Some(Ok(frame)) = body.frame().await else { break };
                let Ok(chunk) = frame.into_data() else { continue };
                let now = Instant::now();
                pending.extend_from_slice(&chunk);
                while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    let text = String::from_utf8_lossy(&line);
                    if let Some(at) = text.find("\"name\":\"c") {
                        let rest = &text[at + 8..];
                        let name = rest[..rest.find('"').unwrap_or(0)].to_owned();
                        received.push((name, now));
                    }
                }
            }
            received
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    for i in 0..WATCHED_WRITES {
        let name = format!("c{i}");
        let body = serde_json::json!({"metadata": {"name": name}}).to_string().into();
        let (status, _) = http.request("POST", "/api/v1/namespaces/watch/configmaps", body).await;
        assert_eq!(status, 201);
        acked.lock().expect("lock").insert(name, Instant::now());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let acked = acked.lock().expect("lock").clone();
    let mut latencies = Vec::new();
    for w in watchers {
        for (name, at) in w.await.expect("watcher") {
            latencies.push(at.saturating_duration_since(acked[&name]));
        }
    }
    latencies.sort();
    println!(
        "watch delivery, {WATCHERS} watchers x {WATCHED_WRITES} writes in {:?} ({} deliveries): p50 {:?}, p99 {:?}, max {:?}",
        started.elapsed(),
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
    server.start_kill().ok();
}
