//! Pod addresses: the node IPAM controller gives each node its share of the cluster CIDR, node agents wait
//! for it, and every pod gets an address of its own inside its node's range. A node agent registers the
//! address it was given, and the API server reaches it there.

use std::collections::BTreeSet;

use host::{Agent, Ipv4Net, NodeConfig};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{DeleteParams, LogParams};
use serde_json::json;
use tests::{PATIENCE, TestServer, eventually};

use crate::node::{Cluster, TARGETS, guest, phase, wait_pod};

fn pod_cidr(node: &Node) -> Option<Ipv4Net> {
    node.spec.as_ref()?.pod_cidr.as_deref()?.parse().ok()
}

fn internal_ip(node: &Node) -> Option<String> {
    let addresses = node.status.as_ref()?.addresses.as_ref()?;
    addresses.iter().find(|a| a.type_ == "InternalIP").map(|a| a.address.clone())
}

#[tokio::test]
async fn node_ipam_gives_each_node_a_range_and_each_pod_an_address_inside_it() {
    let server = TestServer::start().await;
    let client = server.client();
    let nodes: Api<Node> = Api::all(client.clone());
    // A node that brings its own range (the kubelet's --pod-cidr) keeps it, and IPAM hands out the others.
    let preset: Node = serde_json::from_value(json!({
        "metadata": {"name": "preset"}, "spec": {"podCIDR": "127.64.0.0/18", "podCIDRs": ["127.64.0.0/18"]}}))
    .unwrap();
    nodes.create(&Default::default(), &preset).await.unwrap();
    let controllers = controllers::Controllers::start(client.clone());

    let mut agents = Vec::new();
    let mut dirs = Vec::new();
    for (i, ip) in ["127.0.0.1", "127.0.0.2"].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = NodeConfig::new(format!("node-{i}"), dir.path());
        config.node_ip = ip.parse().unwrap();
        config.log_listen = format!("{ip}:0").parse().unwrap();
        agents.push(Agent::start(client.clone(), config).await.expect("agent starts"));
        dirs.push(dir);
    }

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let names: Vec<String> = (0..6).map(|i| format!("addressed-{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        let pod = serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"nodeName": format!("node-{}", i % 2), "containers": [{
                "name": "main", "image": guest(TARGETS[i % 2], "hello"), "args": ["forever"]}]}}))
        .unwrap();
        pods.create(&Default::default(), &pod).await.unwrap();
    }
    let mut ranges = Vec::new();
    for i in 0..2 {
        // IPAM assigns ranges as it sees nodes register; the pods' addresses below show none started before.
        let node = eventually("IPAM to assign the node a range", PATIENCE, async || {
            nodes.get(&format!("node-{i}")).await.ok().filter(|n| pod_cidr(n).is_some())
        })
        .await;
        let range = pod_cidr(&node).expect("a range");
        assert_eq!(range.prefix_len(), 18, "{range}");
        assert_eq!(node.spec.as_ref().unwrap().pod_cidrs, Some(vec![range.to_string()]));
        ranges.push(range);
    }
    let preset = pod_cidr(&nodes.get("preset").await.unwrap()).unwrap();
    assert_eq!(preset.to_string(), "127.64.0.0/18", "a range a node brings is kept");
    for (a, b) in [(ranges[0], ranges[1]), (ranges[0], preset), (ranges[1], preset)] {
        assert!(!a.contains(&b.network()) && !b.contains(&a.network()), "{a} and {b} overlap");
    }
    assert!(ranges.iter().all(|r| "127.64.0.0/10".parse::<Ipv4Net>().unwrap().contains(r)), "{ranges:?}");

    let mut addresses = BTreeSet::new();
    for (i, name) in names.iter().enumerate() {
        let pod = wait_pod(&pods, name, 60, |p| phase(p) == "Running").await;
        let status = pod.status.unwrap();
        let ip: std::net::Ipv4Addr = status.pod_ip.as_deref().unwrap().parse().unwrap();
        let range = ranges[i % 2];
        assert!(
            range.contains(&ip) && ip != range.network() && ip != range.broadcast(),
            "{ip} outside {range}"
        );
        assert_eq!(status.pod_ips.unwrap()[0].ip, ip.to_string());
        assert_eq!(status.host_ip.as_deref(), Some(["127.0.0.1", "127.0.0.2"][i % 2]));
        assert!(addresses.insert(ip), "{ip} given twice");
    }

    // The second node registered its own address, and its pods' logs come through it.
    let node = nodes.get("node-1").await.unwrap();
    assert_eq!(internal_ip(&node).as_deref(), Some("127.0.0.2"));
    let logs = pods.logs("addressed-1", &LogParams::default()).await.unwrap();
    assert!(logs.contains("args: "), "{logs}");

    for agent in agents {
        agent.shutdown().await;
    }
    controllers.shutdown().await;
}

/// A deleted pod's guests may go on serving at its address through their grace period, so the address stays
/// theirs until the pod is gone: a pod started meanwhile gets another, and the address is given again only after.
#[tokio::test]
async fn a_terminating_pod_keeps_its_address_until_it_is_gone() {
    let cluster = Cluster::start(1, |_| {}).await;
    let pods = cluster.pods();
    let ip = |pod: &Pod| pod.status.as_ref().and_then(|s| s.pod_ip.clone());
    // Reads its termination notice and runs on: it stays terminating for its grace period.
    let lingering = json!({"terminationGracePeriodSeconds": 300,
        "containers": [{"name": "main", "image": guest(TARGETS[0], "hello"), "args": ["eof", "forever"]}]});
    cluster.create_pod("old", "node-0", lingering).await;
    let old = wait_pod(&pods, "old", 60, |p| phase(p) == "Running").await;
    pods.delete("old", &DeleteParams::default()).await.unwrap();
    let plain = || json!({"containers": [{"name": "main", "image": guest(TARGETS[0], "hello"), "args": ["forever"]}]});
    cluster.create_pod("new", "node-0", plain()).await;
    let new = wait_pod(&pods, "new", 60, |p| ip(p).is_some()).await;
    assert!(pods.get("old").await.unwrap().metadata.deletion_timestamp.is_some(), "old is still terminating");
    assert_ne!(ip(&new), ip(&old), "an address in use by a terminating pod is not given again");

    pods.delete("old", &DeleteParams { grace_period_seconds: Some(0), ..Default::default() }).await.unwrap();
    eventually("the old pod to be gone", PATIENCE, async || pods.get_opt("old").await.unwrap().is_none())
        .await;
    cluster.create_pod("third", "node-0", plain()).await;
    let third = wait_pod(&pods, "third", 60, |p| ip(p).is_some()).await;
    assert_eq!(ip(&third), ip(&old), "the address is free again once its pod is gone");
}
