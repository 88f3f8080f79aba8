//! A rolling update end to end: real node agents run the guests and report readiness, the scheduler places the
//! new pods, and the Deployment controller never lets ready replicas fall below what it promised.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::json;

use crate::node::{Cluster, TARGETS, guest};

const REPLICAS: usize = 20;
/// `maxUnavailable: 25%` of 20, rounded down.
const MAX_UNAVAILABLE: usize = 5;

/// Pods of the Deployment whose Ready condition the node agent reports as True.
async fn ready(pods: &Api<Pod>) -> usize {
    let list = pods.list(&ListParams::default().labels("app=roll")).await.unwrap();
    list.items
        .iter()
        .filter(|p| {
            let conditions = p.status.as_ref().and_then(|s| s.conditions.as_ref());
            conditions.into_iter().flatten().any(|c| c.type_ == "Ready" && c.status == "True")
        })
        .count()
}

#[tokio::test]
async fn controllers_roll_twenty_replicas_on_real_agents_without_dropping_below_the_promise() {
    let cluster = Cluster::start(2, |c| c.cpu_millis = Some(4000)).await;
    let client = cluster.server.client();
    let scheduler = scheduler::Service::start(client.clone(), scheduler::Options::default());
    let controllers = controllers::Controllers::start(client.clone());
    let deployment = |greeting: &str| -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "roll", "namespace": "default"},
            "spec": {"replicas": REPLICAS, "selector": {"matchLabels": {"app": "roll"}},
                     "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                     "template": {"metadata": {"labels": {"app": "roll"}}, "spec": {"containers": [{
                         "name": "main", "image": guest(TARGETS[0], "hello"), "args": ["forever"],
                         "env": [{"name": "GREETING", "value": greeting}],
                         "resources": {"requests": {"cpu": "10m"}}}]}}},
        }))
        .unwrap()
    };
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    deployments.create(&Default::default(), &deployment("one")).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while ready(&pods).await < REPLICAS {
        assert!(tokio::time::Instant::now() < deadline, "the first version never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Sample readiness throughout the update.
    let lowest = Arc::new(AtomicUsize::new(REPLICAS));
    let sampling = {
        let (pods, lowest) = (pods.clone(), lowest.clone());
        tokio::spawn(async move {
            loop {
                lowest.fetch_min(ready(&pods).await, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        })
    };
    let change = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "main", "env": [{"name": "GREETING", "value": "two"}]}]}}}});
    deployments.patch("roll", &PatchParams::default(), &Patch::Strategic(change)).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let d = deployments.get("roll").await.unwrap();
        let status = d.status.unwrap_or_default();
        let done = status.observed_generation >= d.metadata.generation
            && status.updated_replicas == Some(REPLICAS as i32)
            && status.available_replicas == Some(REPLICAS as i32)
            && status.replicas == Some(REPLICAS as i32);
        if done {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the rollout did not finish: {status:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sampling.abort();
    let lowest = lowest.load(Ordering::Relaxed);
    assert!(lowest >= REPLICAS - MAX_UNAVAILABLE, "only {lowest} ready replicas during the rollout");
    scheduler.shutdown().await;
    controllers.shutdown().await;
}
