//! Probes on a real node agent: readiness gates the pod's Ready condition and its Service traffic, a failing
//! liveness probe restarts the container with the kubelet's events, and an exec probe fails with a reason.

use k8s_openapi::api::core::v1::{ConfigMap, Event, Pod, Service};
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::json;
use tests::{PATIENCE, eventually, merge};

use super::serving::request;
use super::{Cluster, TARGETS, guest, phase, wait_pod};

fn is_ready(pod: &Pod) -> bool {
    let conditions = pod.status.as_ref().and_then(|s| s.conditions.as_ref());
    conditions.is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn restarts(pod: &Pod) -> i32 {
    pod.status.as_ref().and_then(|s| s.container_statuses.as_ref()).map_or(0, |c| c[0].restart_count)
}

async fn events_of(client: &kube::Client, pod: &str) -> Vec<(String, String)> {
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let fields = format!("involvedObject.name={pod}");
    let list = events.list(&ListParams::default().fields(&fields)).await.unwrap().items;
    list.into_iter().map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readiness_gates_traffic_and_liveness_restarts() {
    let cluster = Cluster::start(1, |_| {}).await;
    let client = cluster.server.client();
    let controllers = controllers::Controllers::start(client.clone());
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let health = json!({"metadata": {"name": "health"}, "data": {"ready": "no", "alive": "ok"}});
    config_maps.create(&PostParams::default(), &serde_json::from_value(health).unwrap()).await.unwrap();
    let probe = |file: &str, failures: i32| {
        json!({"httpGet": {"path": format!("/?health=/health/{file}"), "port": "http"},
               "periodSeconds": 1, "failureThreshold": failures})
    };
    let pod = json!({"metadata": {"name": "probed", "labels": {"app": "probed"}},
        "spec": {"nodeName": "node-0", "volumes": [{"name": "health", "configMap": {"name": "health"}}],
            "containers": [{"name": "web", "image": guest(TARGETS[1], "http_hello"),
                "ports": [{"name": "http", "containerPort": 8080}],
                "volumeMounts": [{"name": "health", "mountPath": "/health"}],
                "readinessProbe": probe("ready", 1), "livenessProbe": probe("alive", 2)}]}});
    let pods = cluster.pods();
    pods.create(&PostParams::default(), &serde_json::from_value(pod).unwrap()).await.unwrap();
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let service = json!({"metadata": {"name": "probed"}, "spec": {"type": "NodePort",
        "selector": {"app": "probed"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}});
    let service: Service =
        services.create(&PostParams::default(), &serde_json::from_value(service).unwrap()).await.unwrap();
    let node_ip = cluster.pod_cidrs[0].hosts().next().unwrap();
    let front = format!("{node_ip}:{}", service.spec.unwrap().ports.unwrap()[0].node_port.unwrap());

    // Running but not ready: the Service has no endpoint for it.
    wait_pod(&pods, "probed", 60, |p| phase(p) == "Running").await;
    eventually("a failed readiness probe event", PATIENCE, async || {
        events_of(&client, "probed").await.iter().any(|(reason, message)| {
            reason == "Unhealthy"
                && message.contains("Readiness probe failed: HTTP probe failed with statuscode: 503")
        })
    })
    .await;
    assert!(!is_ready(&pods.get("probed").await.unwrap()));
    eventually("the node port to answer 503 with no ready endpoint", PATIENCE, async || {
        request(&front, "GET", "/", b"").await.0 == 503
    })
    .await;

    // Ready: traffic flows.
    merge(&config_maps, "health", json!({"data": {"ready": "ok"}})).await.unwrap();
    wait_pod(&pods, "probed", 60, is_ready).await;
    eventually("traffic through the node port", PATIENCE, async || {
        request(&front, "GET", "/", b"").await.0 == 200
    })
    .await;

    // Liveness fails: the container restarts, with the kubelet's events.
    merge(&config_maps, "health", json!({"data": {"alive": "no"}})).await.unwrap();
    wait_pod(&pods, "probed", 60, |p| restarts(p) >= 1).await;
    let events = events_of(&client, "probed").await;
    assert!(
        events
            .iter()
            .any(|(r, m)| r == "Killing" && m == "Container web failed liveness probe, will be restarted"),
        "{events:?}"
    );
    controllers.shutdown().await;
}

#[tokio::test]
async fn exec_probes_fail_with_a_reason() {
    let cluster = Cluster::start(1, |_| {}).await;
    let pod = json!({"metadata": {"name": "exec"}, "spec": {"nodeName": "node-0", "containers": [{"name": "main",
        "image": guest(TARGETS[0], "hello"), "args": ["forever"],
        "readinessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 1}}]}});
    let pods = cluster.pods();
    pods.create(&PostParams::default(), &serde_json::from_value(pod).unwrap()).await.unwrap();
    let client = cluster.server.client();
    eventually("the exec probe's Unhealthy event", PATIENCE, async || {
        events_of(&client, "exec").await.iter().any(|(r, m)| r == "Unhealthy" && m.contains("no shell"))
    })
    .await;
    let pod = pods.get("exec").await.unwrap();
    assert_eq!(phase(&pod), "Running");
    assert!(!is_ready(&pod), "never ready");
}
