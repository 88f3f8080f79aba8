//! The EndpointSlice controller on a real node agent: a Service's slices list the pods it selects with their
//! addresses and conditions, follow pods that terminate or change labels, and leave hand-written slices of a
//! Service without a selector alone; kubectl shows them as Kubernetes does.

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde_json::json;
use tests::{PATIENCE, eventually, merge};

use crate::node::{Cluster, TARGETS, guest};

/// (address, ready, serving, terminating) of every endpoint of the Service's managed slices, sorted.
async fn endpoints(slices: &Api<EndpointSlice>, service: &str) -> Vec<(String, bool, bool, bool)> {
    let selector = format!(
        "kubernetes.io/service-name={service},endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io"
    );
    let list = slices.list(&ListParams::default().labels(&selector)).await.unwrap().items;
    let mut all: Vec<_> = list
        .iter()
        .flat_map(|s| s.endpoints.iter().flatten())
        .map(|e| {
            let c = e.conditions.clone().unwrap_or_default();
            (
                e.addresses[0].clone(),
                c.ready == Some(true),
                c.serving == Some(true),
                c.terminating == Some(true),
            )
        })
        .collect();
    all.sort();
    all
}

fn pod_ip(pod: &Pod) -> String {
    pod.status.as_ref().and_then(|s| s.pod_ip.clone()).unwrap_or_default()
}

#[tokio::test]
async fn endpoint_slices_follow_the_pods_a_service_selects() {
    let cluster = Cluster::start(1, |_| {}).await;
    let client = cluster.server.client();
    let controllers = controllers::Controllers::start(client.clone());
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "default");
    let pods = cluster.pods();

    let service = json!({"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"},
        "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}});
    services.create(&PostParams::default(), &serde_json::from_value(service).unwrap()).await.unwrap();
    // A Service without a selector, backed by a slice its user wrote.
    let external = json!({"metadata": {"name": "db"}, "spec": {"ports": [{"port": 5432}]}});
    services.create(&PostParams::default(), &serde_json::from_value(external).unwrap()).await.unwrap();
    let by_hand = json!({"metadata": {"name": "db-1", "labels": {"kubernetes.io/service-name": "db"}},
        "addressType": "IPv4", "ports": [{"port": 5432}], "endpoints": [{"addresses": ["127.0.0.1"]}]});
    slices.create(&PostParams::default(), &serde_json::from_value(by_hand).unwrap()).await.unwrap();

    for (i, name) in ["web-0", "web-1", "web-2"].iter().enumerate() {
        // web-2 reads its termination notice and then takes 3 s to stop: it stays terminating meanwhile.
        let args = if i == 2 { json!(["eof", "sleep:3000"]) } else { json!(["forever"]) };
        let pod = json!({"metadata": {"name": name, "labels": {"app": "web"}}, "spec": {"nodeName": "node-0",
            "containers": [{"name": "main", "image": guest(TARGETS[1], "hello"), "args": args,
                            "ports": [{"name": "http", "containerPort": 8080}]}]}});
        pods.create(&PostParams::default(), &serde_json::from_value(pod).unwrap()).await.unwrap();
    }
    let ips = eventually("three ready endpoints", PATIENCE, async || {
        let running = pods.list(&ListParams::default().labels("app=web")).await.unwrap().items;
        let mut ips: Vec<String> = running.iter().map(pod_ip).filter(|ip| !ip.is_empty()).collect();
        ips.sort();
        let expected: Vec<_> = ips.iter().map(|ip| (ip.clone(), true, true, false)).collect();
        (ips.len() == 3 && endpoints(&slices, "web").await == expected).then_some(ips)
    })
    .await;
    let managed =
        slices.list(&ListParams::default().labels("kubernetes.io/service-name=web")).await.unwrap().items;
    assert_eq!(managed.len(), 1);
    let port = &managed[0].ports.as_ref().unwrap()[0];
    assert_eq!(
        (port.name.as_deref(), port.port, port.protocol.as_deref()),
        (Some("http"), Some(8080), Some("TCP"))
    );
    assert_eq!(managed[0].metadata.owner_references.as_ref().unwrap()[0].name, "web");

    let kubectl = cluster.server.kubectl();
    let listed = kubectl.ok(&["get", "endpointslices", "-l", "kubernetes.io/service-name=web"]).await;
    assert!(listed.contains("IPv4") && listed.contains("8080") && listed.contains(&ips[0]), "{listed}");
    let described = kubectl.ok(&["describe", "service", "web"]).await;
    assert!(described.contains(&format!("{}:8080", ips[0])), "{described}");

    // Terminating: still serving while it drains, no longer ready; then gone.
    let web2 = pods.get("web-2").await.unwrap();
    pods.delete("web-2", &DeleteParams::default()).await.unwrap();
    eventually("web-2 to be a terminating endpoint", PATIENCE, async || {
        endpoints(&slices, "web").await.contains(&(pod_ip(&web2), false, true, true))
    })
    .await;
    eventually("web-2 to leave the slice", PATIENCE, async || {
        endpoints(&slices, "web").await.iter().all(|e| e.0 != pod_ip(&web2))
    })
    .await;

    // Relabelled out of the selector: its endpoint goes.
    let web1 = pods.get("web-1").await.unwrap();
    merge(&pods, "web-1", json!({"metadata": {"labels": {"app": "elsewhere"}}})).await.unwrap();
    let web0 = pods.get("web-0").await.unwrap();
    eventually("only web-0 to remain", PATIENCE, async || {
        endpoints(&slices, "web").await == [(pod_ip(&web0), true, true, false)]
    })
    .await;
    assert_ne!(pod_ip(&web1), pod_ip(&web0));

    // The hand-written slice is as its user wrote it.
    let by_hand = slices.get("db-1").await.unwrap();
    assert_eq!(by_hand.endpoints.unwrap()[0].addresses, ["127.0.0.1"]);
    let db_slices =
        slices.list(&ListParams::default().labels("kubernetes.io/service-name=db")).await.unwrap().items;
    assert_eq!(db_slices.len(), 1, "no managed slice for a Service without a selector");

    // Deleting the Service collects its slices.
    services.delete("web", &DeleteParams::default()).await.unwrap();
    eventually("the Service's slices to be collected", PATIENCE, async || {
        endpoints(&slices, "web").await.is_empty()
    })
    .await;
    controllers.shutdown().await;
}
