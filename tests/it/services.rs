//! Service addresses: cluster IPs and node ports are unique even when Services are created at once, a chosen
//! one that is taken or out of range is a 422 that stores nothing, and deleting or retyping a Service frees
//! what it held.

use std::collections::BTreeSet;

use futures::future::join_all;
use k8s_openapi::api::core::v1::Service;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde_json::{Value, json};
use tests::{PATIENCE, TestServer, eventually, merge};

fn service(name: &str, spec: Value) -> Service {
    let mut spec = spec;
    spec["ports"] = spec.get("ports").cloned().unwrap_or(json!([{"port": 80}]));
    serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec})).unwrap()
}

fn cluster_ip(s: &Service) -> String {
    s.spec.as_ref().and_then(|s| s.cluster_ip.clone()).unwrap_or_default()
}

fn node_port(s: &Service) -> i32 {
    s.spec.as_ref().and_then(|s| s.ports.as_ref()?.first()?.node_port).unwrap_or_default()
}

/// The status message of a refused request, after checking it is a 422 Invalid.
fn invalid(result: kube::Result<Service>) -> String {
    match result {
        Err(kube::Error::Api(status)) if status.code == 422 && status.reason == "Invalid" => status.message,
        other => panic!("expected 422 Invalid, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_service_creates_never_share_an_ip_or_node_port() {
    let server = TestServer::start().await;
    let services: Api<Service> = Api::namespaced(server.client(), "default");
    let requests = (0..48).map(|i| {
        let services = services.clone();
        async move {
            let spec =
                json!({"type": "NodePort", "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]});
            services.create(&PostParams::default(), &service(&format!("svc-{i}"), spec)).await
        }
    });
    let created: Vec<Service> = join_all(requests).await.into_iter().map(Result::unwrap).collect();
    let ips: BTreeSet<String> = created.iter().map(cluster_ip).collect();
    assert_eq!(ips.len(), 48, "{ips:?}");
    assert!(ips.iter().all(|ip| ip.starts_with("10.") && ip != "10.96.0.1"), "{ips:?}");
    let ports: Vec<i32> = created
        .iter()
        .flat_map(|s| s.spec.clone().unwrap().ports.unwrap())
        .filter_map(|p| p.node_port)
        .collect();
    assert_eq!(ports.len(), 96);
    assert_eq!(ports.iter().collect::<BTreeSet<_>>().len(), 96, "{ports:?}");
    assert!(ports.iter().all(|p| (30000..=32767).contains(p)), "{ports:?}");
}

#[tokio::test]
async fn a_chosen_address_that_is_taken_or_out_of_range_is_refused_and_freed_ones_are_reused() {
    let server = TestServer::start().await;
    let services: Api<Service> = Api::namespaced(server.client(), "default");
    let pp = PostParams::default();
    let first =
        json!({"type": "NodePort", "clusterIP": "10.96.0.50", "ports": [{"port": 80, "nodePort": 30080}]});
    let created = services.create(&pp, &service("first", first)).await.unwrap();
    // As kube-apiserver shows it from creation, before any load balancer exists.
    assert_eq!(serde_json::to_value(&created.status).unwrap(), json!({"loadBalancer": {}}));

    let same_ip = services.create(&pp, &service("same-ip", json!({"clusterIP": "10.96.0.50"}))).await;
    let message = invalid(same_ip);
    assert!(
        message.contains("spec.clusterIPs[0]") && message.contains("provided IP is already allocated"),
        "{message}"
    );
    let same_port = json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]});
    let message = invalid(services.create(&pp, &service("same-port", same_port)).await);
    assert!(
        message.contains("spec.ports[0].nodePort") && message.contains("provided port is already allocated")
    );
    let outside = services.create(&pp, &service("outside", json!({"clusterIP": "10.200.0.1"}))).await;
    let message = invalid(outside);
    assert!(message.contains("The range of valid IPs is 10.96.0.0/12"), "{message}");
    for name in ["same-ip", "same-port", "outside"] {
        assert!(services.get_opt(name).await.unwrap().is_none(), "{name} was stored");
    }
    // A refused create released what it had claimed: the IP it was given is still free.
    let both =
        json!({"type": "NodePort", "clusterIP": "10.96.0.51", "ports": [{"port": 80, "nodePort": 30080}]});
    invalid(services.create(&pp, &service("both", both)).await);
    services.create(&pp, &service("second", json!({"clusterIP": "10.96.0.51"}))).await.unwrap();

    // Deleting a Service frees its IP and port.
    services.delete("first", &DeleteParams::default()).await.unwrap();
    let reuse =
        json!({"type": "NodePort", "clusterIP": "10.96.0.50", "ports": [{"port": 80, "nodePort": 30080}]});
    let reused = services.create(&pp, &service("reuse", reuse)).await.unwrap();
    assert_eq!((cluster_ip(&reused).as_str(), node_port(&reused)), ("10.96.0.50", 30080));

    // Retyping gives a node port and takes it back.
    let web = services.create(&pp, &service("web", json!({}))).await.unwrap();
    assert_eq!(node_port(&web), 0);
    let web = merge(&services, "web", json!({"spec": {"type": "NodePort"}})).await.unwrap();
    let port = node_port(&web);
    assert!((30000..=32767).contains(&port), "{port}");
    merge(
        &services,
        "web",
        json!({"spec": {"type": "ClusterIP", "ports": [{"port": 80, "nodePort": null}]}}),
    )
    .await
    .unwrap();
    let taker = json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": port}]});
    services.create(&pp, &service("taker", taker)).await.unwrap();
    // A headless Service and an ExternalName hold no IP.
    let headless = services.create(&pp, &service("headless", json!({"clusterIP": "None"}))).await.unwrap();
    assert_eq!(cluster_ip(&headless), "None");
    let external = json!({"type": "ExternalName", "externalName": "db.example.com"});
    let external = services.create(&pp, &service("db", external)).await.unwrap();
    assert_eq!(cluster_ip(&external), "");
}

#[tokio::test]
async fn service_addresses_stay_held_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || apiserver::ServerConfig::new(([127, 0, 0, 1], 0).into(), dir.path());
    let server = apiserver::Server::start(config()).await.unwrap();
    let client = tests::admin_client(&server);
    let services: Api<Service> = Api::namespaced(client, "default");
    let spec =
        json!({"type": "NodePort", "clusterIP": "10.96.7.7", "ports": [{"port": 80, "nodePort": 31000}]});
    services.create(&PostParams::default(), &service("kept", spec)).await.unwrap();
    drop(services);
    server.shutdown().await;

    // The store's file lock goes with the last connection's task, a moment after shutdown.
    let server = eventually("the store to be released", PATIENCE, async || {
        apiserver::Server::start(config()).await.ok()
    })
    .await;
    let client = tests::admin_client(&server);
    let services: Api<Service> = Api::namespaced(client, "default");
    let again =
        services.create(&PostParams::default(), &service("again", json!({"clusterIP": "10.96.7.7"}))).await;
    assert!(invalid(again).contains("provided IP is already allocated"));
    server.shutdown().await;
}

#[tokio::test]
async fn kubectl_creates_and_lists_services_with_their_addresses() {
    let server = TestServer::start().await;
    let kubectl = server.kubectl();
    kubectl.ok(&["create", "service", "nodeport", "web", "--tcp=80:8080", "--node-port=30123"]).await;
    kubectl.ok(&["create", "service", "clusterip", "api", "--tcp=443:8443", "--clusterip=10.96.3.4"]).await;
    let out = kubectl.ok(&["get", "svc", "web", "api", "--no-headers"]).await;
    assert!(out.contains("web   NodePort    10.96.") && out.contains("80:30123/TCP"), "{out}");
    assert!(out.contains("api   ClusterIP   10.96.3.4"), "{out}");
    let err = kubectl
        .fails(&["create", "service", "nodeport", "clash", "--tcp=80:8080", "--node-port=30123"])
        .await;
    assert!(err.contains("provided port is already allocated"), "{err}");
}
