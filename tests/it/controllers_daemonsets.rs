//! DaemonSets against a real API server: Node objects without agents, the controllers, and a helper that
//! acts as the node agents would (marks pods ready after a moment, finishes terminating pods). One pod per
//! eligible node, nodes joining later, taints, and a rolling update held to `maxUnavailable`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::{Value, json};
use tests::{PATIENCE, TestServer, eventually, merge, merge_status, running_and_ready};
use tokio_util::sync::CancellationToken;

fn is_ready(pod: &Pod) -> bool {
    let conditions = pod.status.as_ref().and_then(|s| s.conditions.as_ref());
    conditions.is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn node_of(pod: &Pod) -> String {
    pod.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default()
}

fn generation_of(pod: &Pod) -> String {
    pod.labels().get("pod-template-generation").cloned().unwrap_or_default()
}

/// Acts as the node agents: a pod becomes running and ready a moment after it is first seen (so a rollout
/// has unavailable pods to wait for), and a terminating pod is removed. Until `stop`.
fn fake_agents(client: kube::Client, stop: CancellationToken) {
    tokio::spawn(async move {
        let pods: Api<Pod> = Api::namespaced(client, "default");
        let mut seen: BTreeMap<String, u32> = BTreeMap::new();
        while !stop.is_cancelled() {
            for pod in pods.list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default() {
                let name = pod.name_any();
                if pod.metadata.deletion_timestamp.is_some() {
                    let _ = pods.delete(&name, &DeleteParams::default().grace_period(0)).await;
                    continue;
                }
                let rounds = seen.entry(pod.uid().unwrap_or_default()).or_default();
                *rounds += 1;
                if is_ready(&pod) || *rounds < 3 {
                    continue;
                }
                let _ = merge_status(&pods, &name, running_and_ready()).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
}

async fn add_node(client: &kube::Client, name: &str, role: &str, taints: Value) {
    let node: Node = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"role": role}},
        "spec": {"taints": taints},
        "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                   "conditions": [{"type": "Ready", "status": "True"}]},
    }))
    .unwrap();
    Api::<Node>::all(client.clone()).create(&PostParams::default(), &node).await.unwrap();
}

/// The live (not terminating) pods of the DaemonSet, by node.
async fn pods_by_node(pods: &Api<Pod>) -> BTreeMap<String, Vec<Pod>> {
    let mut by_node: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
    let list = pods.list(&ListParams::default().labels("app=agent")).await.unwrap();
    for pod in list.items.into_iter().filter(|p| p.metadata.deletion_timestamp.is_none()) {
        by_node.entry(node_of(&pod)).or_default().push(pod);
    }
    by_node
}

fn daemon_set(image: &str) -> DaemonSet {
    serde_json::from_value(json!({
        "metadata": {"name": "agent", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}},
                 "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}},
                 "template": {"metadata": {"labels": {"app": "agent"}},
                              "spec": {"nodeSelector": {"role": "worker"},
                                       "containers": [{"name": "main", "image": image}]}}},
    }))
    .unwrap()
}

#[tokio::test]
async fn controllers_run_one_daemon_pod_per_eligible_node_and_roll_it_over() {
    let server = TestServer::start().await;
    let client = server.client();
    for (name, role, taints) in [
        ("w1", "worker", json!([])),
        ("w2", "worker", json!([])),
        ("w3", "worker", json!([])),
        ("other", "other", json!([])),
        ("tainted", "worker", json!([{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])),
    ] {
        add_node(&client, name, role, taints).await;
    }
    let stop = CancellationToken::new();
    fake_agents(client.clone(), stop.clone());
    let controllers = controllers::Controllers::start(client.clone());
    let sets: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    sets.create(&PostParams::default(), &daemon_set("agent:v1")).await.unwrap();

    let workers = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    eventually("one pod on each untainted worker", PATIENCE, || async {
        let by_node = pods_by_node(&pods).await;
        by_node.keys().cloned().collect::<Vec<_>>() == workers(&["w1", "w2", "w3"])
            && by_node.values().all(|p| p.len() == 1)
    })
    .await;
    let by_node = pods_by_node(&pods).await;
    let pod = &by_node["w1"][0];
    let owner = &pod.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller, owner.block_owner_deletion),
        ("DaemonSet", Some(true), Some(true))
    );
    assert_eq!(generation_of(pod), "1");

    add_node(&client, "w4", "worker", json!([])).await;
    eventually("a pod on the node that joined", PATIENCE, || async {
        let by_node = pods_by_node(&pods).await;
        by_node.keys().cloned().collect::<Vec<_>>() == workers(&["w1", "w2", "w3", "w4"])
    })
    .await;
    eventually("the status to count four ready pods", PATIENCE, || async {
        let status = sets.get_status("agent").await.unwrap().status.unwrap_or_default();
        (
            status.desired_number_scheduled,
            status.current_number_scheduled,
            status.number_ready,
            status.number_misscheduled,
        ) == (4, 4, 4, 0)
            && status.number_available == Some(4)
            && status.updated_number_scheduled == Some(4)
    })
    .await;

    // Watch the rollout: never more than maxUnavailable (2) nodes without a ready pod.
    let worst = Arc::new(AtomicUsize::new(0));
    let watching = CancellationToken::new();
    {
        let (pods, worst, watching) = (pods.clone(), worst.clone(), watching.clone());
        tokio::spawn(async move {
            while !watching.is_cancelled() {
                let by_node = pods_by_node(&pods).await;
                let ready = ["w1", "w2", "w3", "w4"]
                    .iter()
                    .filter(|n| by_node.get(**n).is_some_and(|p| p.iter().any(is_ready)))
                    .count();
                worst.fetch_max(4 - ready, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }
    let change =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "agent:v2"}]}}}});
    merge(&sets, "agent", change).await.unwrap();
    eventually("every node to run a ready pod of the new template", PATIENCE, || async {
        let by_node = pods_by_node(&pods).await;
        by_node.len() == 4
            && by_node.values().all(|p| p.len() == 1 && generation_of(&p[0]) == "2" && is_ready(&p[0]))
    })
    .await;
    eventually("the status to report the rollout done", PATIENCE, || async {
        let set = sets.get_status("agent").await.unwrap();
        let status = set.status.unwrap_or_default();
        status.observed_generation == Some(2)
            && status.updated_number_scheduled == Some(4)
            && status.number_available == Some(4)
    })
    .await;
    watching.cancel();
    let worst = worst.load(Ordering::SeqCst);
    assert!((1..=2).contains(&worst), "nodes without a ready pod during the rollout: at most {worst}");

    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let list = events.list(&ListParams::default().fields("involvedObject.name=agent")).await.unwrap();
    let reasons: Vec<String> = list.items.into_iter().filter_map(|e| e.reason).collect();
    for reason in ["SuccessfulCreate", "SuccessfulDelete"] {
        assert!(reasons.iter().any(|r| r == reason), "{reason} missing from {reasons:?}");
    }

    // A worker that changes role loses its pod.
    let relabel = json!({"metadata": {"labels": {"role": "other"}}});
    merge(&Api::<Node>::all(client.clone()), "w4", relabel).await.unwrap();
    eventually("the pod to leave the node that no longer matches", PATIENCE, || async {
        !pods_by_node(&pods).await.contains_key("w4")
    })
    .await;

    stop.cancel();
    controllers.shutdown().await;
}

#[tokio::test]
async fn controllers_replace_on_delete_daemon_pods_only_when_deleted() {
    let server = TestServer::start().await;
    let client = server.client();
    for name in ["w1", "w2"] {
        add_node(&client, name, "worker", json!([])).await;
    }
    let stop = CancellationToken::new();
    fake_agents(client.clone(), stop.clone());
    let controllers = controllers::Controllers::start(client.clone());
    let sets: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut set = daemon_set("agent:v1");
    set.spec.update_strategy = serde_json::from_value(json!({"type": "OnDelete"})).unwrap();
    sets.create(&PostParams::default(), &set).await.unwrap();
    eventually("a ready pod on each worker", PATIENCE, || async {
        let by_node = pods_by_node(&pods).await;
        by_node.len() == 2 && by_node.values().all(|p| p.len() == 1 && is_ready(&p[0]))
    })
    .await;

    let change =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "agent:v2"}]}}}});
    merge(&sets, "agent", change).await.unwrap();
    eventually("the status to see the new generation", PATIENCE, || async {
        let status = sets.get_status("agent").await.unwrap().status.unwrap_or_default();
        status.observed_generation == Some(2) && status.updated_number_scheduled == Some(0)
    })
    .await;
    // The controller has decided on generation 2 (its status says so): with OnDelete the old pods stay.
    let by_node = pods_by_node(&pods).await;
    let generations: Vec<_> =
        by_node.values().map(|p| p.iter().map(generation_of).collect::<Vec<_>>()).collect();
    assert_eq!(generations, [["1"], ["1"]], "OnDelete replaced pods by itself");

    pods.delete(&by_node["w1"][0].name_any(), &DeleteParams::default()).await.unwrap();
    eventually("the deleted pod to come back with the new template", PATIENCE, || async {
        let by_node = pods_by_node(&pods).await;
        by_node.get("w1").is_some_and(|p| p.len() == 1 && generation_of(&p[0]) == "2")
            && by_node.get("w2").is_some_and(|p| p.len() == 1 && generation_of(&p[0]) == "1")
    })
    .await;

    // An untolerated NoExecute taint removes the pod; the automatic ones do not.
    let taints = json!({"spec": {"taints": [
        {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"},
        {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]}});
    let nodes: Api<Node> = Api::all(client.clone());
    merge(&nodes, "w1", taints).await.unwrap();
    let evict = json!({"spec": {"taints": [{"key": "dedicated", "effect": "NoExecute"}]}});
    merge(&nodes, "w2", evict).await.unwrap();
    // The status counts w1 and not w2 once the controller has seen both nodes' taints.
    eventually("the pod to leave the NoExecute node, and the status to show it", PATIENCE, || async {
        let status = sets.get_status("agent").await.unwrap().status.unwrap_or_default();
        let gone = !pods_by_node(&pods).await.contains_key("w2");
        gone && status.desired_number_scheduled == 1 && status.current_number_scheduled == 1
    })
    .await;
    assert!(pods_by_node(&pods).await.contains_key("w1"), "the daemon left a node with tolerated taints");

    stop.cancel();
    controllers.shutdown().await;
}
