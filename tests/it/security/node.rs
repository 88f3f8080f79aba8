//! The Node authoriser: a node identity reads only what the pods bound to it use, and writes only its own Node,
//! Lease and pods.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod, Secret};
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use serde::de::DeserializeOwned;
use serde_json::json;
use tests::TestServer;

fn object<T: DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).unwrap()
}

fn code<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> u16 {
    match result {
        Ok(_) => 200,
        Err(kube::Error::Api(status)) => status.code,
        Err(other) => panic!("not an API answer: {other}"),
    }
}

#[tokio::test]
async fn a_node_reads_only_what_its_pods_use_and_writes_only_itself() {
    let server = TestServer::start().await;
    let admin = server.client();
    let nodes: Api<Node> = Api::all(admin.clone());
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "default");
    let pp = PostParams::default();
    for n in ["n1", "n2"] {
        nodes.create(&pp, &object(json!({"metadata": {"name": n}}))).await.unwrap();
        let secret = format!("{n}-secret");
        secrets
            .create(&pp, &object(json!({"metadata": {"name": secret}, "stringData": {"k": "v"}})))
            .await
            .unwrap();
        let pod = json!({"metadata": {"name": format!("{n}-pod")}, "spec": {"nodeName": n,
            "containers": [{"name": "c", "image": "app.wasm", "env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": secret, "key": "k"}}}]}]}});
        pods.create(&pp, &object(pod)).await.unwrap();
    }
    secrets
        .create(&pp, &object(json!({"metadata": {"name": "unused"}, "stringData": {"k": "v"}})))
        .await
        .unwrap();

    let n1 = server.client_as("system:node:n1", &["system:nodes"]);
    let n1_secrets: Api<Secret> = Api::namespaced(n1.clone(), "default");
    assert_eq!(code(n1_secrets.get("n1-secret").await), 200);
    assert_eq!(code(n1_secrets.get("n2-secret").await), 403);
    assert_eq!(code(n1_secrets.get("unused").await), 403);
    assert_eq!(code(n1_secrets.list(&ListParams::default()).await), 403);
    let pinned = ListParams::default().fields("metadata.name=n1-secret");
    assert_eq!(n1_secrets.list(&pinned).await.unwrap().items.len(), 1);
    assert_eq!(code(n1_secrets.list(&ListParams::default().fields("metadata.name=n2-secret")).await), 403);

    let n1_pods: Api<Pod> = Api::namespaced(n1.clone(), "default");
    assert_eq!(code(n1_pods.get("n1-pod").await), 200);
    assert_eq!(code(n1_pods.get("n2-pod").await), 403);
    let status = Patch::Merge(json!({"status": {"phase": "Running"}}));
    assert_eq!(code(n1_pods.patch_status("n1-pod", &PatchParams::default(), &status).await), 200);
    assert_eq!(code(n1_pods.patch_status("n2-pod", &PatchParams::default(), &status).await), 403);

    let n1_nodes: Api<Node> = Api::all(n1.clone());
    assert_eq!(code(n1_nodes.get("n2").await), 200, "nodes read every Node");
    let label = Patch::Merge(json!({"metadata": {"labels": {"touched": "yes"}}}));
    assert_eq!(code(n1_nodes.patch("n1", &PatchParams::default(), &label).await), 200);
    assert_eq!(code(n1_nodes.patch("n2", &PatchParams::default(), &label).await), 403);
    assert_eq!(code(n1_nodes.create(&pp, &object(json!({"metadata": {"name": "n3"}}))).await), 403);
    assert!(nodes.get("n2").await.unwrap().metadata.labels.is_none_or(|l| !l.contains_key("touched")));

    let leases: Api<Lease> = Api::namespaced(n1, "kube-node-lease");
    assert_eq!(code(leases.create(&pp, &object(json!({"metadata": {"name": "n1"}}))).await), 200);
    assert_eq!(code(leases.create(&pp, &object(json!({"metadata": {"name": "n2"}}))).await), 403);
}
