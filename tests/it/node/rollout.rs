//! A rolling restart of an HTTP Deployment behind a NodePort Service, on two node agents with the scheduler and
//! the controllers: a client sending requests all along sees none fail.

use k8s_openapi::api::core::v1::Service;
use kube::Api;
use kube::api::PostParams;
use serde_json::json;

use super::serving::request;
use super::{Cluster, TARGETS, guest};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rolling_restart_drops_no_request() {
    let cluster = Cluster::start(2, |_| {}).await;
    let client = cluster.server.client();
    let scheduler = scheduler::Service::start(client.clone(), scheduler::Options::default());
    let controllers = controllers::Controllers::start(client.clone());
    let kubectl = cluster.server.kubectl();
    let image = guest(TARGETS[1], "http_hello");
    let manifest = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"terminationGracePeriodSeconds": 10,
                "containers": [{"name": "web", "image": image, "ports": [{"name": "http", "containerPort": 8080}],
                    "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1}}]}}}});
    let file = kubectl.write("web.yaml", &manifest.to_string());
    kubectl.ok(&["apply", "-f", &file]).await;
    kubectl.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]).await;
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let service = json!({"metadata": {"name": "web"}, "spec": {"type": "NodePort", "selector": {"app": "web"},
        "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}});
    let service: Service =
        services.create(&PostParams::default(), &serde_json::from_value(service).unwrap()).await.unwrap();
    let node_ip = cluster.pod_cidrs[0].hosts().next().unwrap();
    let front = format!("{node_ip}:{}", service.spec.unwrap().ports.unwrap()[0].node_port.unwrap());
    tests::eventually("the Service to answer", tests::PATIENCE, async || {
        let front = front.clone();
        tokio::spawn(async move { request(&front, "GET", "/", b"").await.0 }).await.ok() == Some(200)
    })
    .await;

    let (sent, failed) = failures_during(&front, async {
        kubectl.ok(&["rollout", "restart", "deployment/web"]).await;
        kubectl.ok(&["rollout", "status", "deployment/web", "--timeout=90s"]).await;
    })
    .await;
    assert!(sent > 20, "only {sent} requests were sent during the rollout");
    assert_eq!(failed, 0, "{failed} of {sent} requests failed during the rollout");
    controllers.shutdown().await;
    scheduler.shutdown().await;
}

/// Sends GETs to `front`, one after another, until `until` completes; returns how many were sent and how many of
/// those did not answer 200.
pub(super) async fn failures_during(front: &str, until: impl Future<Output = ()>) -> (usize, usize) {
    let (mut sent, mut failed) = (0, 0);
    let load = async {
        loop {
            let front = front.to_owned();
            // A refused or reset connection panics `request`: that is a failed request too.
            let status = tokio::spawn(async move { request(&front, "GET", "/", b"").await.0 }).await.ok();
            sent += 1;
            if status != Some(200) {
                failed += 1;
            }
        }
    };
    tokio::select! {
        () = until => {}
        () = load => {}
    }
    (sent, failed)
}
