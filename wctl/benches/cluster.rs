//! Whole-cluster benchmark: `cargo bench -p wctl --bench cluster`.
//!
//! Starts the release `wctl up` (API server, scheduler, controllers and one node agent in one process) and
//! measures, through the API as a user sees it: the time from creating a 1,000-replica Deployment to all its pods
//! Running, and the duration of a rolling update of 100 replicas (from the template change until the Deployment
//! reports every replica updated and available). The guest is `hello` from examples/guests, whose compiled code
//! is cached by a first pod before anything is timed.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::watcher;

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

/// When each stage of the pod pipeline was first seen for one app's pods, through a watch (as `kubectl rollout
/// status` and `kubectl get -w` see it): created by the ReplicaSet controller, bound by the scheduler, Running
/// on the node.
#[derive(Default)]
struct Stages {
    created: HashMap<String, Instant>,
    bound: HashMap<String, Instant>,
    running: HashMap<String, Instant>,
}

impl Stages {
    fn record(&mut self, pod: &Pod, at: Instant) {
        let Some(name) = pod.metadata.name.clone() else { return };
        if pod.metadata.deletion_timestamp.is_some() {
            return;
        }
        self.created.entry(name.clone()).or_insert(at);
        if pod.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some() {
            self.bound.entry(name.clone()).or_insert(at);
        }
        if pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") {
            self.running.entry(name).or_insert(at);
        }
    }

    /// When the last pod reached each stage, from `start`.
    fn report(&self, start: Instant) -> String {
        let last = |m: &HashMap<String, Instant>| {
            m.values().max().map_or(Duration::ZERO, |t| t.saturating_duration_since(start)).as_secs_f64()
        };
        format!(
            "all created {:.2} s, all bound {:.2} s, all Running {:.2} s",
            last(&self.created),
            last(&self.bound),
            last(&self.running)
        )
    }
}

/// Watches the pods of `app` until `want` of them are Running; returns the stages seen.
async fn until_running(pods: &Api<Pod>, app: &str, want: usize) -> Stages {
    let config = watcher::Config::default().labels(&format!("app={app}"));
    let mut events = watcher(pods.clone(), config).boxed();
    let mut stages = Stages::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    while stages.running.len() < want {
        let event = tokio::time::timeout_at(deadline, events.next()).await;
        let Ok(Some(event)) = event else {
            panic!("{app}: {} of {want} Running after 300 s", stages.running.len())
        };
        if let Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) = event {
            stages.record(&pod, Instant::now());
        }
    }
    stages
}

/// CPU time (user + system) the process has used so far, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the parenthesised command name; utime and stime are the 12th and 13th of those.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // Linux reports these in clock ticks of 1/100 s.
    (ticks(11) + ticks(12)) / 100.0
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let images = dir.path().join("node/images");
    std::fs::create_dir_all(&images).expect("images dir");
    std::fs::copy(support::hello(), images.join("hello.wasm")).expect("copy guest");
    let mut up = tokio::process::Command::new(env!("CARGO_BIN_EXE_wctl"));
    up.args(["up", "--listen", "127.0.0.1:0", "--max-pods", "2000", "--data-dir"])
        .arg(dir.path())
        .env("WHARF_LOG", "warn");
    let (mut server, _) = support::start(up, "Wharf is up: API at ").await;
    let client = support::admin_client(dir.path()).await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client, "default");

    // Warm the compiled-code cache.
    deploys.create(&PostParams::default(), &deployment("warm", 1, "warm")).await.expect("warm");
    until_running(&pods, "warm", 1).await;

    let watching = tokio::spawn({
        let pods = pods.clone();
        async move { until_running(&pods, "big", 1000).await }
    });
    // Let the watch establish before the clock starts.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid = server.id().expect("wctl up runs");
    let cpu = cpu_seconds(pid);
    let started = Instant::now();
    deploys.create(&PostParams::default(), &deployment("big", 1000, "one")).await.expect("create");
    let stages = watching.await.expect("watch");
    println!("1,000-replica Deployment, create to all Running: {:?}", started.elapsed());
    println!("  ({}; wctl up used {:.2} s of CPU)", stages.report(started), cpu_seconds(pid) - cpu);

    deploys.create(&PostParams::default(), &deployment("roll", 100, "one")).await.expect("create");
    until_running(&pods, "roll", 100).await;
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
