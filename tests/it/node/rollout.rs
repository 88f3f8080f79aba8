//! A rolling restart of an HTTP Deployment behind a NodePort Service, on two node agents with the scheduler and
//! the controllers: a client sending requests all along sees none fail.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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

    let done = Arc::new(AtomicBool::new(false));
    let (sent, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let load = {
        let (done, sent, failed, front) = (done.clone(), sent.clone(), failed.clone(), front.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let front = front.clone();
                let status = tokio::spawn(async move { request(&front, "GET", "/", b"").await.0 }).await.ok();
                sent.fetch_add(1, Ordering::Relaxed);
                if status != Some(200) {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    kubectl.ok(&["rollout", "restart", "deployment/web"]).await;
    kubectl.ok(&["rollout", "status", "deployment/web", "--timeout=90s"]).await;
    done.store(true, Ordering::Relaxed);
    load.await.unwrap();
    let (sent, failed) = (sent.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert!(sent > 20, "only {sent} requests were sent during the rollout");
    assert_eq!(failed, 0, "{failed} of {sent} requests failed during the rollout");
    controllers.shutdown().await;
    scheduler.shutdown().await;
}
