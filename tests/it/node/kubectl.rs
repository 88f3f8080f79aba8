//! The real kubectl against a real agent: `top` from the agent's usage summary, `run` with an image name from
//! the node's images directory, and `drain` evicting through PodDisruptionBudgets while the agent stops the
//! guests.

use std::time::Duration;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde_json::json;

use super::{Cluster, TARGETS, guest, phase, wait_pod};

/// Millicores from a `kubectl top` CPU cell (`250m`, or whole cores `2`).
fn millicores(cell: &str) -> u64 {
    match cell.strip_suffix('m') {
        Some(m) => m.parse().unwrap(),
        None => cell.parse::<u64>().unwrap() * 1000,
    }
}

#[tokio::test]
async fn node_kubectl_top_shows_the_spinning_pod_busier() {
    let cluster = Cluster::start(1, |_| {}).await;
    cluster
        .create_pod(
            "spinner",
            "node-0",
            json!({"containers": [{"name": "main", "image": guest(TARGETS[0], "spin")}]}),
        )
        .await;
    cluster
        .create_pod(
            "idler",
            "node-0",
            json!({"containers": [{"name": "main", "image": guest(TARGETS[1], "hello"), "args": ["forever"]}]}),
        )
        .await;
    for name in ["spinner", "idler"] {
        wait_pod(&cluster.pods(), name, 60, |p| phase(p) == "Running").await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let kubectl = cluster.server.kubectl();
    let out = kubectl.ok(&["top", "pod"]).await;
    let row = |name: &str| -> Vec<String> {
        let line =
            out.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name} in:\n{out}"));
        line.split_whitespace().map(str::to_owned).collect()
    };
    let (spinner, idler) = (row("spinner"), row("idler"));
    let (busy, idle) = (millicores(&spinner[1]), millicores(&idler[1]));
    // A spinning guest keeps a thread busy; an idle one sleeps in a host call. Machines are shared, so only ask
    // for a clear difference.
    assert!(busy >= 100 && busy > 5 * idle, "spinner {busy}m vs idler {idle}m:\n{out}");
    assert_ne!(idler[2], "0Mi", "the idle guest's memories are counted:\n{out}");

    let out = kubectl.ok(&["top", "node"]).await;
    let row: Vec<&str> = out.lines().nth(1).unwrap_or_default().split_whitespace().collect();
    assert_eq!(row.first(), Some(&"node-0"), "{out}");
    assert!(millicores(row[1]) >= 100, "the node's usage includes the spinning guest:\n{out}");
}

#[tokio::test]
async fn node_kubectl_run_finds_images_by_name() {
    let cluster = Cluster::start(1, |_| {}).await;
    let images = cluster.data_dir(0).join("images");
    std::fs::copy(guest(TARGETS[0], "hello"), images.join("hello.wasm")).unwrap();
    std::fs::create_dir_all(images.join("guests")).unwrap();
    std::fs::copy(guest(TARGETS[1], "hello"), images.join("guests/hello.wasm")).unwrap();
    let kubectl = cluster.server.kubectl();
    // No scheduler runs here: the override binds the pod, as a scheduler would.
    let bind = r#"{"spec": {"nodeName": "node-0"}}"#;
    for (name, image) in [("hello", "hello.wasm"), ("tagged", "guests/hello:v1")] {
        kubectl
            .ok(&[
                "run",
                name,
                &format!("--image={image}"),
                "--restart=Never",
                "--overrides",
                bind,
                "--",
                "ran",
            ])
            .await;
        wait_pod(&cluster.pods(), name, 60, |p| phase(p) == "Succeeded").await;
        let logs = kubectl.ok(&["logs", name]).await;
        assert!(logs.contains("args: hello ran"), "{image}: {logs}");
    }
    kubectl.ok(&["run", "absent", "--image=absent.wasm", "--restart=Never", "--overrides", bind]).await;
    let pod = wait_pod(&cluster.pods(), "absent", 30, |p| {
        super::waiting(p).is_some_and(|r| r.contains("ImagePull"))
    })
    .await;
    let message =
        pod.status.unwrap().container_statuses.unwrap()[0].state.clone().unwrap().waiting.unwrap().message;
    assert!(message.unwrap_or_default().contains("absent.wasm"), "the message names the file looked for");
}

/// Three pods of a ReplicaSet on node-0 that exit on their termination notice, and a budget over them.
async fn replica_set_with_budget(cluster: &Cluster, min_available: i32) {
    let client = cluster.server.client();
    let template = json!({
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "main", "image": guest(TARGETS[0], "hello"), "args": ["eof"]}]}
    });
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let set = sets
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "web"},
                "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template}
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let owner = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                        "uid": set.metadata.uid, "controller": true, "blockOwnerDeletion": true}]);
    for i in 0..3 {
        let mut pod = template.clone();
        pod["metadata"]["name"] = json!(format!("web-{i}"));
        pod["metadata"]["ownerReferences"] = owner.clone();
        pod["spec"]["nodeName"] = json!("node-0");
        let pod: Pod = serde_json::from_value(pod).unwrap();
        cluster.pods().create(&PostParams::default(), &pod).await.unwrap();
    }
    for i in 0..3 {
        wait_pod(&cluster.pods(), &format!("web-{i}"), 60, |p| phase(p) == "Running").await;
    }
    let budgets: Api<PodDisruptionBudget> = Api::namespaced(client, "default");
    budgets
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "web"},
                "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": "web"}}}
            }))
            .unwrap(),
        )
        .await
        .unwrap();
}

async fn remaining(cluster: &Cluster) -> usize {
    cluster.pods().list(&Default::default()).await.unwrap().items.len()
}

#[tokio::test]
async fn node_kubectl_drain_evicts_within_the_budget() {
    let cluster = Cluster::start(1, |_| {}).await;
    replica_set_with_budget(&cluster, 2).await;
    let kubectl = cluster.server.kubectl();
    let drain = ["drain", "node-0", "--ignore-daemonsets", "--delete-emptydir-data", "--force"];

    // The budget lets one pod go; evicting the others answers 429, which kubectl retries until its timeout.
    let mut args = drain.to_vec();
    args.push("--timeout=15s");
    let stderr = kubectl.fails(&args).await;
    assert!(stderr.contains("disruption budget"), "{stderr}");
    let nodes: Api<Node> = Api::all(cluster.server.client());
    let node = nodes.get("node-0").await.unwrap();
    assert_eq!(node.spec.unwrap().unschedulable, Some(true), "drain cordons first");
    assert_eq!(remaining(&cluster).await, 2, "exactly one pod was evicted");

    // Without the budget, drain evicts the rest and waits until the agent stopped them and removed the pods.
    let budgets: Api<PodDisruptionBudget> = Api::namespaced(cluster.server.client(), "default");
    budgets.delete("web", &DeleteParams::default()).await.unwrap();
    let mut args = drain.to_vec();
    args.push("--timeout=50s");
    let out = kubectl.ok(&args).await;
    assert!(out.contains("drained"), "{out}");
    assert_eq!(remaining(&cluster).await, 0);
}
