//! Node lifecycle end to end: three real node agents, the scheduler and the controllers. A node whose agent
//! stops becomes unreachable, its pods run again on the others, and it rejoins without duplicates.

use std::time::Duration;

use host::{Agent, NodeConfig};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use serde_json::json;

use tests::eventually;

use crate::node::{Cluster, TARGETS, guest};

const GRACE: Duration = Duration::from_secs(4);
const EVICTION: Duration = Duration::from_secs(3);

fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or_default()
}

fn node_of(pod: &Pod) -> &str {
    pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or_default()
}

fn ready(node: &Node) -> String {
    let conditions = node.status.as_ref().and_then(|s| s.conditions.as_ref());
    conditions
        .into_iter()
        .flatten()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status.clone())
        .unwrap_or_default()
}

fn taints(node: &Node) -> Vec<String> {
    let taints = node.spec.as_ref().and_then(|s| s.taints.as_ref());
    taints.into_iter().flatten().map(|t| format!("{}:{}", t.key, t.effect)).collect()
}

/// The pods of the Deployment that are not being deleted.
async fn live_pods(pods: &Api<Pod>) -> Vec<Pod> {
    let list = pods.list(&ListParams::default().labels("app=spread")).await.unwrap();
    list.items.into_iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect()
}

#[tokio::test]
async fn controllers_move_pods_off_an_unreachable_node_and_take_it_back() {
    let mut cluster = Cluster::start(3, |c| c.cpu_millis = Some(2000)).await;
    let client = cluster.server.client();
    let mut scheduling = scheduler::Options::default();
    scheduling.placement.strategy = scheduler::Strategy::LeastAllocated;
    let scheduler = scheduler::Service::start(client.clone(), scheduling);
    let mut options = controllers::Options::default();
    options.node_lifecycle.grace = GRACE;
    options.node_lifecycle.eviction = EVICTION;
    options.node_lifecycle.period = Duration::from_millis(250);
    let controllers = controllers::Controllers::start_with(client.clone(), options);

    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "spread", "namespace": "default"},
        "spec": {"replicas": 6, "selector": {"matchLabels": {"app": "spread"}},
                 "template": {"metadata": {"labels": {"app": "spread"}}, "spec": {"containers": [{
                     "name": "main", "image": guest(TARGETS[0], "hello"), "args": ["forever"],
                     "resources": {"requests": {"cpu": "100m"}}}]}}},
    }))
    .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deployments.create(&Default::default(), &deployment).await.unwrap();
    let pods = cluster.pods();
    let running = eventually("6 running pods", Duration::from_secs(90), async || {
        let live = live_pods(&pods).await;
        (live.len() == 6 && live.iter().all(|p| phase(p) == "Running")).then_some(live)
    })
    .await;

    // Stop the agent with the most pods.
    let victim =
        (0..3).max_by_key(|i| running.iter().filter(|p| node_of(p) == format!("node-{i}")).count()).unwrap();
    let victim_name = format!("node-{victim}");
    assert!(running.iter().any(|p| node_of(p) == victim_name), "no pod on {victim_name}");
    let (_, agent) = cluster.agents.remove(victim);
    agent.shutdown().await;

    let nodes: Api<Node> = Api::all(client.clone());
    eventually("the node to be Unknown", Duration::from_secs(60), async || {
        let node = nodes.get(&victim_name).await.unwrap();
        (ready(&node) == "Unknown").then_some(())
    })
    .await;
    let node = nodes.get(&victim_name).await.unwrap();
    let reason =
        node.status.unwrap().conditions.unwrap().into_iter().find(|c| c.type_ == "Ready").unwrap().reason;
    assert_eq!(reason.as_deref(), Some("NodeStatusUnknown"));
    // The taint comes with the condition, and its pods are gone within the eviction time (+5 s to run again).
    let moved =
        eventually("the pods to run on the other nodes", EVICTION + Duration::from_secs(5), async || {
            let live = live_pods(&pods).await;
            let moved = live.len() == 6
                && live
                    .iter()
                    .all(|p| phase(p) == "Running" && !node_of(p).is_empty() && node_of(p) != victim_name);
            moved.then_some(live)
        })
        .await;
    let node = nodes.get(&victim_name).await.unwrap();
    assert!(
        taints(&node).contains(&"node.kubernetes.io/unreachable:NoExecute".to_owned()),
        "{:?}",
        taints(&node)
    );
    let all = pods.list(&ListParams::default().labels("app=spread")).await.unwrap().items;
    assert!(all.iter().all(|p| node_of(p) != victim_name), "evicted pods are removed, not left terminating");

    // The node comes back: ready, untainted, and the Deployment still has exactly its 6 pods.
    let agent = Agent::start(client.clone(), node_config(&cluster, victim)).await.unwrap();
    cluster.agents.push((victim_name.clone(), agent));
    eventually("the node to be ready and untainted", Duration::from_secs(60), async || {
        let node = nodes.get(&victim_name).await.unwrap();
        (ready(&node) == "True" && taints(&node).is_empty()).then_some(())
    })
    .await;
    // The ReplicaSet controller has counted its pods since the node came back: a pod the returning node
    // brought back would show in its status.
    let deployment = deployments.get("spread").await.unwrap();
    let set = eventually("the ReplicaSet's status to be current", Duration::from_secs(30), async || {
        let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
        let list = sets.list(&ListParams::default().labels("app=spread")).await.unwrap().items;
        let set = list
            .into_iter()
            .find(|s| s.owner_references().iter().any(|o| o.uid == deployment.uid().unwrap()))?;
        let status = set.status.clone()?;
        (status.observed_generation == set.metadata.generation && status.ready_replicas == Some(6))
            .then_some(set)
    })
    .await;
    assert_eq!(set.status.unwrap().replicas, 6, "no duplicates after the node returned");
    let live = live_pods(&pods).await;
    assert_eq!(live.len(), 6, "no duplicates after the node returned");
    let names: Vec<_> = moved.iter().map(|p| p.metadata.name.clone()).collect();
    assert!(live.iter().all(|p| names.contains(&p.metadata.name)), "the replacements stay");

    controllers.shutdown().await;
    scheduler.shutdown().await;
    for (_, agent) in cluster.agents {
        agent.shutdown().await;
    }
}

/// The configuration node `i` was started with.
fn node_config(cluster: &Cluster, i: usize) -> NodeConfig {
    let mut config = NodeConfig::new(format!("node-{i}"), cluster.data_dir(i));
    config.heartbeat = Duration::from_secs(1);
    config.cpu_millis = Some(2000);
    config.pod_cidr = Some(cluster.pod_cidrs[i]);
    let node_ip = cluster.pod_cidrs[i].hosts().next().unwrap();
    config.node_ip = node_ip.into();
    config.log_listen = std::net::SocketAddr::new(node_ip.into(), 0);
    config
}
