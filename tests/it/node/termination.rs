//! Graceful deletion: the guest's stdin reaching end-of-file is its termination notice. A guest that exits on it
//! ends as it chose; one that never read its stdin ends at once (143, as by SIGTERM's default action); one that
//! reads it but keeps running is killed when the grace period ends (137, Error). Either way the deleted pod ends
//! in a terminal phase before it is removed.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::Api;
use kube::api::{DeleteParams, ListParams, WatchEvent, WatchParams};
use serde_json::json;

use super::{Cluster, TARGETS, guest, phase, terminated, wait_pod};

/// Deletes `name` with `grace` seconds and follows it until it is gone; returns the last state seen and how long
/// it took.
async fn delete_and_follow(api: &Api<Pod>, name: &str, grace: u32) -> (Pod, Duration) {
    let current = api.get(name).await.unwrap();
    let version = current.metadata.resource_version.clone().unwrap();
    let params = WatchParams::default().fields(&format!("metadata.name={name}")).timeout(120);
    let mut events = api.watch(&params, &version).await.unwrap().boxed();
    let started = tokio::time::Instant::now();
    api.delete(name, &DeleteParams { grace_period_seconds: Some(grace), ..Default::default() })
        .await
        .unwrap();
    let mut last = current;
    let follow = async {
        while let Some(event) = events.try_next().await.unwrap() {
            match event {
                WatchEvent::Modified(pod) => last = pod,
                WatchEvent::Deleted(pod) => {
                    last = pod;
                    return;
                }
                _ => {}
            }
        }
        panic!("the watch ended before {name} was deleted");
    };
    tokio::time::timeout(Duration::from_secs(90), follow).await.expect("pod deleted in time");
    (last, started.elapsed())
}

#[tokio::test]
async fn node_guest_exits_on_its_termination_notice() {
    let cluster = Cluster::start(1, |_| {}).await;
    for (i, target) in TARGETS.iter().enumerate() {
        let name = format!("polite-{i}");
        cluster
            .create_pod(
                &name,
                "node-0",
                json!({
                    "containers": [{"name": "main", "image": guest(target, "hello"), "args": ["eof", "exit:0"]}]
                }),
            )
            .await;
        wait_pod(&cluster.pods(), &name, 60, |p| phase(p) == "Running").await;
        // A grace period far longer than the test waits: the pod is gone only because the guest exited.
        let (last, took) = delete_and_follow(&cluster.pods(), &name, 300).await;
        assert!(took < Duration::from_secs(60), "{target}: removal waited for the grace period ({took:?})");
        assert_eq!(terminated(&last), Some((0, "Completed".into())), "{target}: {:?}", last.status);
        assert_eq!(phase(&last), "Succeeded", "a deleted pod ends in a terminal phase, without restarting");
        let restarts = last.status.unwrap().container_statuses.unwrap()[0].restart_count;
        assert_eq!(restarts, 0, "{target}: restarted during termination");
    }
}

#[tokio::test]
async fn node_guest_that_never_reads_stdin_ends_at_once_and_one_that_does_gets_its_grace_period() {
    let cluster = Cluster::start(1, |_| {}).await;
    for (i, target) in TARGETS.iter().enumerate() {
        // No handler installed: like a process without a SIGTERM handler, it ends on the notice, whatever the
        // grace period.
        let name = format!("oblivious-{i}");
        cluster
            .create_pod(&name, "node-0", json!({"containers": [{"name": "main", "image": guest(target, "hello"), "args": ["forever"]}]}))
            .await;
        wait_pod(&cluster.pods(), &name, 60, |p| phase(p) == "Running").await;
        let (last, took) = delete_and_follow(&cluster.pods(), &name, 300).await;
        assert!(took < Duration::from_secs(60), "{target}: removal waited for the grace period ({took:?})");
        assert_eq!(terminated(&last), Some((143, "Error".into())), "{target}: {:?}", last.status);
        assert_eq!(phase(&last), "Failed");
    }

    // Reads its stdin (waits for the notice) but keeps running after it: killed when the grace period ends.
    cluster
        .create_pod(
            "stubborn",
            "node-0",
            json!({
                "containers": [{"name": "main", "image": guest(TARGETS[1], "hello"), "args": ["eof", "forever"]}]
            }),
        )
        .await;
    wait_pod(&cluster.pods(), "stubborn", 60, |p| phase(p) == "Running").await;
    let (last, took) = delete_and_follow(&cluster.pods(), "stubborn", 2).await;
    assert!(took >= Duration::from_secs(2), "killed before the grace period ended ({took:?})");
    assert_eq!(terminated(&last), Some((137, "Error".into())), "{:?}", last.status);
    assert_eq!(phase(&last), "Failed");
    let events: Api<Event> = Api::namespaced(cluster.server.client(), "default");
    let killing = events.list(&ListParams::default()).await.unwrap().items.into_iter().any(|e| {
        e.involved_object.name.as_deref() == Some("stubborn") && e.reason.as_deref() == Some("Killing")
    });
    assert!(killing, "a Killing event tells kubectl describe why the container stopped");
}
