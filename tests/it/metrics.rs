//! `kubectl top` through the metrics API, which the API server fills from the node agents' usage summaries
//! (an agent double serves the kubelet's `/stats/summary` shape here).

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, PostParams};
use serde_json::json;
use tests::TestServer;

async fn agent(node: &str) -> u16 {
    let summary = json!({
        "node": {"nodeName": node, "cpu": {"usageNanoCores": 250_000_000u64}, "memory": {"workingSetBytes": 64u64 << 20}},
        "pods": [{"podRef": {"name": "web", "namespace": "default"},
                  "containers": [{"name": "web", "cpu": {"usageNanoCores": 12_000_000u64},
                                  "memory": {"workingSetBytes": 3u64 << 20}}]}],
    });
    let app = axum::Router::new().route(
        "/stats/summary",
        axum::routing::get(move || {
            let body = summary.to_string();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_top_nodes_and_pods() {
    let server = TestServer::start().await;
    let client = server.client();
    let nodes: Api<Node> = Api::all(client.clone());
    nodes
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "n1"}})).unwrap())
        .await
        .unwrap();
    let port = agent("n1").await;
    let status = json!({"status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                                   "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
                                   "allocatable": {"cpu": "2", "memory": "4Gi"}, "capacity": {"cpu": "2", "memory": "4Gi"}}});
    tests::merge_status(&nodes, "n1", status).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let pod = serde_json::from_value(json!({"metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "web", "image": "/opt/web.wasm"}]}}))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();

    let kubectl = server.kubectl();
    let out = kubectl.ok(&["top", "node"]).await;
    let row: Vec<&str> = out.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[..3], ["n1", "250m", "12%"], "{out}");
    assert_eq!(row[3], "64Mi", "{out}");
    let out = kubectl.ok(&["top", "pod"]).await;
    let row: Vec<&str> = out.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row, ["web", "12m", "3Mi"], "{out}");
    let out = kubectl.ok(&["top", "pod", "-l", "app=other"]).await;
    assert!(!out.contains("web"), "{out}");
}
