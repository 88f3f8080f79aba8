//! emptyDir `sizeLimit`, as the kubelet's eviction manager honours it: a pod that writes past the limit is evicted
//! (killed and not restarted whatever its restartPolicy, Failed with reason Evicted, a Warning Event), and a pod
//! within its limit keeps running.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::Api;
use kube::api::DeleteParams;
use serde_json::{Value, json};

use super::{Cluster, TARGETS, guest, phase, terminated, wait_pod};

/// The kubelet's message for the volume below (it ends with a space, which Kubernetes keeps too).
const MESSAGE: &str = r#"Usage of EmptyDir volume "scratch" exceeds the limit "1Mi". "#;

/// A pod (restartPolicy Always) that writes `bytes` into its 1Mi emptyDir, then sleeps.
fn filler(target: &str, bytes: u64) -> Value {
    json!({
        "volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "1Mi"}}],
        "containers": [{"name": "main", "image": guest(target, "hello"),
            "args": [format!("fill:/scratch/data:{bytes}"), "forever"],
            "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}]
    })
}

fn restarts(pod: &Pod) -> i32 {
    pod.status.as_ref().and_then(|s| s.container_statuses.as_ref()).map_or(-1, |c| c[0].restart_count)
}

#[tokio::test]
async fn node_evicts_a_pod_whose_empty_dir_exceeds_its_size_limit() {
    let cluster = Cluster::start(1, |c| c.eviction_interval = Duration::from_millis(200)).await;
    let pods = cluster.pods();
    cluster.create_pod("within", "node-0", filler(TARGETS[1], 512 << 10)).await;
    cluster.create_pod("over", "node-0", filler(TARGETS[0], 2 << 20)).await;

    let evicted = wait_pod(&pods, "over", 60, |p| phase(p) == "Failed").await;
    let status = evicted.status.clone().unwrap_or_default();
    assert_eq!(status.reason.as_deref(), Some("Evicted"));
    assert_eq!(status.message.as_deref(), Some(MESSAGE));
    assert_eq!(terminated(&evicted), Some((137, "Error".into())), "killed as by SIGKILL");
    assert_eq!(restarts(&evicted), 0);

    let events: Api<Event> = Api::namespaced(cluster.server.client(), "default");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let list = events.list(&Default::default()).await.unwrap();
        let found = list.items.iter().any(|e| {
            e.involved_object.name.as_deref() == Some("over")
                && e.type_.as_deref() == Some("Warning")
                && e.reason.as_deref() == Some("Evicted")
                && e.message.as_deref() == Some(MESSAGE)
        });
        if found {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no Evicted event: {:#?}", list.items);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The pod within its limit has written its data and outlives many more measurements.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !cluster.logs(0, "within", "main", "").await.contains("fill /scratch/data: ok") {
        assert!(tokio::time::Instant::now() < deadline, "the pod within its limit did not write");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let within = pods.get("within").await.unwrap();
    assert_eq!((phase(&within), restarts(&within)), ("Running", 0));
    assert!(within.status.and_then(|s| s.reason).is_none());

    // The evicted pod stayed down, whatever its restartPolicy, and is still deleted as usual.
    let evicted = pods.get("over").await.unwrap();
    assert_eq!((phase(&evicted), restarts(&evicted)), ("Failed", 0));
    pods.delete("over", &DeleteParams::default()).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while pods.get_opt("over").await.unwrap().is_some() {
        assert!(tokio::time::Instant::now() < deadline, "evicted pod not removed after deletion");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
