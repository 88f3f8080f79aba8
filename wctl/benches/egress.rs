//! Egress benchmark: `cargo bench -p wctl --bench egress` (no tools beyond the Rust toolchain).
//!
//! Starts the release `wctl up` (node `local` at 127.0.0.1) and joins a second agent (`wctl node`, node `far` at
//! 127.0.0.2), and runs the `http-hello` component as a pod on `local` in two namespaces, one with an egress
//! address. Each request asks the guest to open a `wasi:sockets` TCP connection to a server outside the cluster
//! (`?tcp=`: connect, send `ping`, read the answer), and 2,000 sequential requests are timed for each route:
//! - no connection out (the request's own cost);
//! - a namespace without an egress address: straight out;
//! - a namespace whose egress address the pod's own node holds: through the agent's relay, which binds it;
//! - the same namespace after the address moved to the other node: relay, then that node's agent's tunnel.
//!
//! The p50 above the first line is the cost of the connection out on that route.

mod support;

use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use support::{http_hello, json, two_nodes};
use tokio::io::AsyncWriteExt;

const REQUESTS: usize = 2_000;
const EGRESS_IP: &str = "127.0.0.60";

type Http = Client<HttpConnector, Empty<bytes::Bytes>>;

/// Sequential GETs of `url`: p50 and p99 in milliseconds. Every answer must contain `expect`.
async fn time(http: &Http, url: &str, expect: &str) -> (f64, f64) {
    let mut took = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let started = Instant::now();
        let response = http.get(url.parse().expect("url")).await.expect("the pod answers");
        let body = response.into_body().collect().await.expect("body").to_bytes();
        took.push(started.elapsed());
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains(expect), "{url}: {body}");
    }
    took.sort();
    let at = |p: f64| took[((took.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
    (at(0.5), at(0.99))
}

/// Puts the egress-assignable label on `node` alone.
async fn assignable(nodes: &Api<Node>, node: &str) {
    for name in ["local", "far"] {
        let value = if name == node { serde_json::json!("") } else { serde_json::Value::Null };
        let patch = serde_json::json!({"metadata": {"labels": {"wharf.dev/egress-assignable": value}}});
        nodes.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await.expect("label");
    }
    // Every agent's Node cache learns it.
    tokio::time::sleep(Duration::from_secs(2)).await;
}

#[tokio::main]
async fn main() {
    let component = http_hello();
    let dir = tempfile::tempdir().expect("tempdir");
    let _cluster = two_nodes(dir.path()).await;

    let client = support::admin_client(dir.path()).await;

    // The server outside the cluster: one answer per connection.
    let outside = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listener");
    let target = outside.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = outside.accept().await {
            tokio::spawn(async move {
                let _ = stream.write_all(b"pong\n").await;
            });
        }
    });

    let nodes: Api<Node> = Api::all(client.clone());
    for _ in 0..100 {
        if nodes.get_opt("far").await.ok().flatten().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let image = component.display().to_string();
    let mut pod_ips = Vec::new();
    for (name, annotations) in [
        ("plain", serde_json::json!({})),
        ("egressed", serde_json::json!({"wharf.dev/egress-ip": EGRESS_IP})),
    ] {
        let namespace = serde_json::json!({"metadata": {"name": name, "annotations": annotations}});
        namespaces.create(&PostParams::default(), &json(namespace)).await.expect("namespace");
        let pods: Api<Pod> = Api::namespaced(client.clone(), name);
        let pod = serde_json::json!({"metadata": {"name": "caller",
                "annotations": {"wharf.dev/allowed-hosts": format!("tcp://{target}")}},
            "spec": {"nodeName": "local", "containers": [{"name": "hello", "image": image,
                "ports": [{"name": "http", "containerPort": 8080}]}]}});
        pods.create(&PostParams::default(), &json(pod)).await.expect("pod");
        let ip = loop {
            let pod = pods.get("caller").await.expect("pod");
            let status = pod.status.unwrap_or_default();
            if status.phase.as_deref() == Some("Running")
                && let Some(ip) = status.pod_ip
            {
                break ip;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        pod_ips.push(ip);
    }
    let http: Http = Client::builder(TokioExecutor::new()).build_http();
    let (plain, egressed) = (&pod_ips[0], &pod_ips[1]);
    let out = |ip: &str| format!("http://{ip}:8080/?tcp={target}");

    let mut rows = vec![("no connection out", time(&http, &format!("http://{plain}:8080/"), "hello").await)];
    rows.push(("straight out, no egress address", time(&http, &out(plain), "echoed: pong").await));
    assignable(&nodes, "local").await;
    rows.push(("egress address held by the pod's node", time(&http, &out(egressed), "echoed: pong").await));
    assignable(&nodes, "far").await;
    rows.push(("egress address held by the other node", time(&http, &out(egressed), "echoed: pong").await));
    let far = nodes.get("far").await.expect("node far").status.unwrap_or_default();
    let port = far.daemon_endpoints.and_then(|d| d.kubelet_endpoint).map_or(0, |k| k.port);
    let metrics =
        http.get(format!("http://127.0.0.2:{port}/metrics").parse().expect("url")).await.expect("metrics");
    let metrics = metrics.into_body().collect().await.expect("body").to_bytes();
    let counted = format!("wharf_egress_connections_total{{address=\"{EGRESS_IP}\"}} {REQUESTS}");
    assert!(
        String::from_utf8_lossy(&metrics).contains(&counted),
        "the far node opened the last run's connections"
    );
    let base = rows[0].1.0;
    for (what, (p50, p99)) in &rows {
        println!(
            "{what:<40} p50 {p50:>6.3} ms  p99 {p99:>6.3} ms  (p50 +{:.3} ms over a request alone)",
            p50 - base
        );
    }
}
