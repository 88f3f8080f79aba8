//! HTTP workloads benchmark: `cargo bench -p wctl --bench http` (after `scripts/bench-setup.sh`, which installs
//! Debian's `wrk` and wasmtime-cli 48 under target/bench-tools).
//!
//! Starts the release `wctl up` (node `local` at 127.0.0.1) and joins a second agent (`wctl node`, node `far` at
//! 127.0.0.2), runs the `http-hello` component from examples/guests as one pod on each node behind a NodePort
//! Service each, and drives them with wrk at 1, 16 and 64 connections:
//! - through the local node's node port to its own pod (an in-process route), beside `wasmtime serve` (pooling
//!   allocator) serving the same component on the same machine in the same run;
//! - through the local node's node port to the other node's pod (forwarded through that node's agent), beside the
//!   other node's own node port, which gives the forwarding cost.
//!
//! Then it measures the cost of NetworkPolicy checks: the local route again at 16 connections, kept alive and one
//! request per connection (each new connection is checked), with no policies and with 100 policies selecting the
//! pod (each allowing loopback clients, so all of them are evaluated). Last, it scales a Deployment of the
//! component to 100 idle replicas and reports the agent's resident memory per replica.

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, PostParams};
use support::{http_hello, json, root, two_nodes};
use tokio::process::Command;

const CONNECTIONS: [u32; 3] = [1, 16, 64];
const SECONDS: u32 = 10;
const IDLE_REPLICAS: usize = 100;

/// wasmtime-cli 48, from `scripts/bench-setup.sh` or the PATH.
fn wasmtime() -> PathBuf {
    let local = root().join("target/bench-tools/bin/wasmtime");
    if local.exists() { local } else { PathBuf::from("wasmtime") }
}

/// One wrk run: requests/s, p50 and p99 in milliseconds.
struct Run {
    rps: f64,
    p50: f64,
    p99: f64,
}

async fn wrk(url: &str, connections: u32) -> Run {
    wrk_with(url, connections, &[]).await
}

/// [`wrk`] with more of its arguments (`-H "Connection: close"`).
async fn wrk_with(url: &str, connections: u32, extra: &[&str]) -> Run {
    let threads = connections.min(2).to_string();
    let out = Command::new("wrk")
        .args(["-t", &threads, "-c", &connections.to_string(), "-d", &format!("{SECONDS}s"), "--latency"])
        .args(extra)
        .arg(url)
        .output()
        .await
        .expect("wrk runs (scripts/bench-setup.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("no `{prefix}` in wrk's output:\n{text}"))
    };
    assert!(!text.contains("Non-2xx"), "failed requests:\n{text}");
    Run {
        rps: field("Requests/sec:").parse().unwrap_or(0.0),
        p50: millis(&field("50%")),
        p99: millis(&field("99%")),
    }
}

/// wrk's `812.00us`, `1.20ms`, `1.01s` in milliseconds.
fn millis(value: &str) -> f64 {
    let split = value.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        _ => f64::NAN,
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Starts `command` and returns it with the first stdout line starting with `prefix`, minus the prefix.
async fn wait_running(pods: &Api<Pod>, label: &str, want: usize) {
    for _ in 0..600 {
        let list = pods.list(&kube::api::ListParams::default().labels(label)).await.expect("list");
        let running = list
            .items
            .iter()
            .filter(|p| {
                p.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            })
            .count();
        if running >= want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{label}: fewer than {want} pods ready after a minute");
}

fn report(name: &str, runs: &[(u32, Run)]) {
    for (connections, run) in runs {
        println!(
            "{name:<40} {connections:>3} conn: {:>9.0} req/s  p50 {:>6.3} ms  p99 {:>6.3} ms",
            run.rps, run.p50, run.p99
        );
    }
}

#[tokio::main]
async fn main() {
    let component = http_hello();
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = two_nodes(dir.path()).await;
    let server = &cluster.server;
    let client = support::admin_client(dir.path()).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let image = component.display().to_string();
    let mut node_ports = Vec::new();
    for (name, node) in [("near", "local"), ("far", "far")] {
        let pod = serde_json::json!({"metadata": {"name": name, "labels": {"app": name}},
            "spec": {"nodeName": node, "containers": [{"name": "hello", "image": image,
                "ports": [{"name": "http", "containerPort": 8080}],
                "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1}}]}});
        // The second node may still be registering.
        for _ in 0..100 {
            if pods.create(&PostParams::default(), &json(pod.clone())).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let service = serde_json::json!({"metadata": {"name": name}, "spec": {"type": "NodePort",
            "selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}});
        let service: Service =
            services.create(&PostParams::default(), &json(service)).await.expect("service");
        node_ports.push(service.spec.and_then(|s| s.ports).expect("ports")[0].node_port.expect("node port"));
        wait_running(&pods, &format!("app={name}"), 1).await;
    }
    let (near_port, far_port) = (node_ports[0], node_ports[1]);
    // Let both proxies learn the endpoints.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut serve = Command::new(wasmtime());
    serve
        .args(["serve", "-O", "pooling-allocator=y", "-S", "cli=y", "--addr", "127.0.0.1:18090"])
        .arg(&component)
        // What the guest prints goes to a file, as a Wharf pod's log does.
        .stdout(std::fs::File::create(dir.path().join("wasmtime-serve.log")).expect("log file"))
        .stderr(Stdio::null());
    let mut wasmtime_serve =
        serve.kill_on_drop(true).spawn().expect("wasmtime serve (scripts/bench-setup.sh)");
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut through_node_port = Vec::new();
    let mut beside = Vec::new();
    for c in CONNECTIONS {
        through_node_port.push((c, wrk(&format!("http://127.0.0.1:{near_port}/"), c).await));
        beside.push((c, wrk("http://127.0.0.1:18090/", c).await));
    }
    report("NodePort, pod on the same node", &through_node_port);
    report("wasmtime serve (pooling allocator)", &beside);
    let _ = wasmtime_serve.start_kill();

    let mut forwarded = Vec::new();
    let mut direct = Vec::new();
    for c in CONNECTIONS {
        forwarded.push((c, wrk(&format!("http://127.0.0.1:{far_port}/"), c).await));
        direct.push((c, wrk(&format!("http://127.0.0.2:{far_port}/"), c).await));
    }
    report("NodePort, pod forwarded to another node", &forwarded);
    report("NodePort, the same pod from its node", &direct);

    let near = format!("http://127.0.0.1:{near_port}/");
    let close: &[&str] = &["-H", "Connection: close"];
    let mut checks = vec![
        ("no policies, kept alive", wrk(&near, 16).await),
        ("no policies, a connection per request", wrk_with(&near, 16, close).await),
    ];
    let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), "default");
    for i in 0..100 {
        let policy = serde_json::json!({"metadata": {"name": format!("allow-{i}")}, "spec": {
            "podSelector": {"matchLabels": {"app": "near"}},
            "ingress": [{"from": [{"ipBlock": {"cidr": "127.0.0.0/8"}}], "ports": [{"port": 8080 + i}]}]}});
        policies.create(&PostParams::default(), &json(policy)).await.expect("policy");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    checks.push(("100 policies, kept alive", wrk(&near, 16).await));
    checks.push(("100 policies, a connection per request", wrk_with(&near, 16, close).await));
    for (what, run) in &checks {
        println!(
            "NodePort, {what:<36} 16 conn: {:>9.0} req/s  p50 {:>6.3} ms  p99 {:>6.3} ms",
            run.rps, run.p50, run.p99
        );
    }
    for i in 0..100 {
        let _ = policies.delete(&format!("allow-{i}"), &kube::api::DeleteParams::default()).await;
    }

    let pid = server.id().expect("wctl up runs");
    let before = rss_kib(pid);
    let deploys: Api<Deployment> = Api::namespaced(client, "default");
    let deployment = serde_json::json!({"metadata": {"name": "idle"}, "spec": {"replicas": IDLE_REPLICAS,
        "selector": {"matchLabels": {"app": "idle"}}, "template": {"metadata": {"labels": {"app": "idle"}},
            "spec": {"nodeSelector": {"kubernetes.io/hostname": "local"}, "containers": [{"name": "hello",
                "image": image, "ports": [{"name": "http", "containerPort": 8080}],
                "resources": {"requests": {"cpu": "1m", "memory": "1Mi"}}}]}}}});
    deploys.create(&PostParams::default(), &json(deployment)).await.expect("deployment");
    wait_running(&pods, "app=idle", IDLE_REPLICAS).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = rss_kib(pid);
    println!(
        "{IDLE_REPLICAS} idle HTTP replicas: wctl up RSS {before} KiB -> {after} KiB ({:.1} KiB per replica)",
        (after.saturating_sub(before)) as f64 / IDLE_REPLICAS as f64
    );
}
