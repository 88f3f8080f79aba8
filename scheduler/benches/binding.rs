//! End-to-end scheduling throughput through the API: `cargo bench -p scheduler --bench binding`.
//!
//! For each scenario: starts a real API server in-process (temporary data directory, durable redb store), creates
//! the Node objects (ready, with allocatable resources) and the pending pods through the API, then starts the
//! scheduler service and measures, through a watch of bound pods (`fieldSelector=spec.nodeName!=`), how long it
//! takes until every pod is bound. Everything (server, scheduler, watch) shares this machine's cores, as in
//! `wctl up`. The figure includes the scheduler's initial lists, every decision, every binding (each a durable
//! write) and its `Scheduled` event.
//!
//! `WHARF_BENCH_PODS` overrides the number of pods (5,000 by default).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use apiserver::{Server, ServerConfig};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Api, Client};
use serde_json::json;

/// Requests in flight while setting up.
const SETUP_CLIENTS: usize = 16;

fn from_json<T: k8s_openapi::serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).unwrap_or_else(|e| panic!("bad fixture: {e}"))
}

/// Runs `count` jobs, `SETUP_CLIENTS` at a time.
async fn in_parallel<F, Fut>(count: usize, job: F)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..SETUP_CLIENTS {
        let (next, job) = (next.clone(), job.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return;
                }
                job(i).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap_or_else(|e| panic!("setup task failed: {e}"));
    }
}

async fn create_nodes(client: &Client, count: usize) {
    let nodes: Api<Node> = Api::all(client.clone());
    in_parallel(count, move |i| {
        let nodes = nodes.clone();
        async move {
            let name = format!("node-{i:05}");
            let node = from_json(json!({
                "metadata": {"name": name, "labels": {
                    "kubernetes.io/os": "linux",
                    "topology.kubernetes.io/zone": (["eu-1a", "eu-1b", "eu-1c"][i % 3]),
                }},
            }));
            nodes.create(&PostParams::default(), &node).await.unwrap_or_else(|e| panic!("create node: {e}"));
            let resources = json!({"cpu": "32", "memory": "128Gi", "pods": "110"});
            let status = json!({"status": {"capacity": resources, "allocatable": resources,
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}});
            nodes
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(status))
                .await
                .unwrap_or_else(|e| panic!("node status: {e}"));
        }
    })
    .await;
}

async fn create_pods(client: &Client, count: usize) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    in_parallel(count, move |i| {
        let pods = pods.clone();
        async move {
            let pod = from_json(json!({
                "metadata": {"name": format!("web-{i:05}"), "labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "file:///opt/wharf/web.wasm",
                    "resources": {"requests": {"cpu": (["100m", "250m", "500m"][i % 3]), "memory": "128Mi"}}}]},
            }));
            pods.create(&PostParams::default(), &pod).await.unwrap_or_else(|e| panic!("create pod: {e}"));
        }
    })
    .await;
}

/// Waits until `count` distinct pods have been seen bound; returns when the first and the last were seen.
async fn wait_bound(client: &Client, count: usize, started: Instant) -> (Duration, Duration) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let config = watcher::Config::default().fields("spec.nodeName!=");
    let mut events = watcher(pods, config).boxed();
    let mut bound = HashSet::new();
    let mut first = None;
    while bound.len() < count {
        let event = tokio::time::timeout(Duration::from_secs(120), events.try_next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} pods bound after 2 minutes", bound.len()))
            .unwrap_or_else(|e| panic!("watch failed: {e}"));
        if let Some(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) = event {
            bound.insert(pod.metadata.uid.unwrap_or_default());
            first.get_or_insert_with(|| started.elapsed());
        }
    }
    (first.unwrap_or_default(), started.elapsed())
}

async fn scenario(nodes: usize, pods: usize) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
    let server = Server::start(ServerConfig::new(([127, 0, 0, 1], 0).into(), dir.path()))
        .await
        .unwrap_or_else(|e| panic!("server: {e}"));
    let url = format!("http://{}", server.addr());
    let client = Client::try_from(kube::Config::new(url.parse().unwrap_or_else(|e| panic!("url: {e}"))))
        .unwrap_or_else(|e| panic!("client: {e}"));
    create_nodes(&client, nodes).await;
    create_pods(&client, pods).await;

    let started = Instant::now();
    let service = scheduler::Service::start(client.clone(), scheduler::Options::default());
    let (first, all) = wait_bound(&client, pods, started).await;
    let rate = pods as f64 / all.as_secs_f64();
    println!(
        "{nodes:>5} nodes, {pods} pending pods: all bound in {:.2} s ({rate:.0} pods/s end to end; first bound \
         after {} ms)",
        all.as_secs_f64(),
        first.as_millis()
    );
    // Events are written in the background, after the bindings they report; count them once they settle.
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client.clone(), "default");
    let mut recorded = 0;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = events.list(&kube::api::ListParams::default()).await.map_or(0, |l| l.items.len());
        if now == pods || (now == recorded && now > 0) {
            recorded = now;
            break;
        }
        recorded = now;
    }
    println!("        {recorded} of {pods} Scheduled events recorded");
    service.shutdown().await;
    server.shutdown().await;
}

fn main() {
    let pods = std::env::var("WHARF_BENCH_PODS").ok().and_then(|v| v.parse().ok()).unwrap_or(5_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    runtime.block_on(async {
        for nodes in [100, 1_000, 5_000] {
            scenario(nodes, pods).await;
        }
    });
}
