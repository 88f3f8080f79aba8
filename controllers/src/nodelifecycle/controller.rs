//! The node lifecycle loop: every [`Config::period`] it plans a pass over all nodes from the caches and
//! applies it. A periodic pass rather than a reconcile per change, since what it reacts to is the absence of
//! changes (a Lease that is no longer renewed).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use kube::{Api, Client};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::heartbeats::Heartbeats;
use super::plan::{self, Config, Eviction, NodeUpdate};
use crate::error::{self, Result, is_status};
use crate::informer::Informer;
use events::Recorder;

/// The component named in its Events and logs.
const COMPONENT: &str = "node-controller";
/// Deletions in flight at once.
const WRITES_IN_FLIGHT: usize = 32;
/// How long an evicted pod is not evicted again while the cache catches up.
const EVICTION_MEMORY: Duration = Duration::from_secs(10);

/// Runs the node lifecycle controller until `stop`. The caches must hold a first list.
pub async fn run(
    client: Client,
    nodes: &Informer<Node>,
    leases: &Informer<Lease>,
    pods: &Informer<Pod>,
    config: Config,
    stop: CancellationToken,
) {
    let events =
        Recorder::start(client.clone(), events::Source { component: COMPONENT.to_owned(), host: None });
    let (nodes, leases, pods) = (nodes.store(), leases.store(), pods.store());
    let mut heartbeats = Heartbeats::default();
    let mut evicted: HashMap<String, Instant> = HashMap::new();
    let mut tick = tokio::time::interval(config.period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let span = tracing::info_span!("reconcile", controller = COMPONENT);
        let now = Timestamp::now();
        let nodes = nodes.state();
        let seen = heartbeats.observe(&nodes, &leases.state(), now);
        let pods = pods.state();
        let plan = plan::plan(plan::Input { nodes: &nodes, heartbeats: &seen, pods: &pods, now, config });
        for update in &plan.nodes {
            if let Err(error) =
                update_node(&client, &events, &nodes, update, now).instrument(span.clone()).await
            {
                // The next pass plans again from the caches: the period is the retry.
                span.in_scope(|| tracing::warn!(node = %update.name, error = %error::chain(&error), "cannot update node"));
            }
        }
        evicted.retain(|_, at| at.elapsed() < EVICTION_MEMORY);
        let due: Vec<Eviction> = plan
            .evict
            .into_iter()
            .filter(|e| !evicted.contains_key(e.uid.as_deref().unwrap_or(&e.name)))
            .collect();
        for eviction in &due {
            evicted.insert(eviction.uid.clone().unwrap_or_else(|| eviction.name.clone()), Instant::now());
        }
        evict(&client, &events, &pods, due).instrument(span).await;
    }
}

async fn update_node(
    client: &Client,
    events: &Recorder,
    nodes: &[Arc<Node>],
    update: &NodeUpdate,
    now: Timestamp,
) -> Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    if let Some(taints) = &update.taints {
        // Conditional on the version decided from: a concurrent change is decided again next pass.
        let body =
            json!({"metadata": {"resourceVersion": update.resource_version}, "spec": {"taints": taints}});
        match api.patch(&update.name, &PatchParams::default(), &Patch::Merge(body)).await {
            Err(e) if is_status(&e, 404) || is_status(&e, 409) => return Ok(()),
            other => {
                other?;
            }
        }
    }
    if update.mark_unknown {
        let condition = json!({"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
            "message": "Kubelet stopped posting node status.", "lastTransitionTime": now.to_string()});
        let body = json!({"status": {"conditions": [condition]}});
        api.patch_status(&update.name, &PatchParams::default(), &Patch::Strategic(body)).await?;
        if let Some(node) = nodes.iter().find(|n| n.metadata.name.as_deref() == Some(update.name.as_str())) {
            let message = format!("Node {} status is now: NodeNotReady", update.name);
            events.normal(node.as_ref(), "NodeNotReady", message);
        }
    }
    Ok(())
}

async fn evict(client: &Client, events: &Recorder, pods: &[Arc<Pod>], due: Vec<Eviction>) {
    let results: Vec<(Eviction, Result<(), kube::Error>)> = stream::iter(due)
        .map(|eviction| {
            let api: Api<Pod> = Api::namespaced(client.clone(), &eviction.namespace);
            async move {
                let params = DeleteParams {
                    grace_period_seconds: eviction.force.then_some(0),
                    preconditions: Some(Preconditions { uid: eviction.uid.clone(), resource_version: None }),
                    ..DeleteParams::default()
                };
                let result = match api.delete(&eviction.name, &params).await {
                    Err(e) if !is_status(&e, 404) && !is_status(&e, 409) => Err(e),
                    _ => Ok(()),
                };
                (eviction, result)
            }
        })
        .buffer_unordered(WRITES_IN_FLIGHT)
        .collect()
        .await;
    for (eviction, result) in results {
        match result {
            Ok(()) => {
                let pod = pods.iter().find(|p| {
                    p.metadata.name.as_deref() == Some(eviction.name.as_str())
                        && p.metadata.namespace.as_deref() == Some(eviction.namespace.as_str())
                });
                if let Some(pod) = pod {
                    let message =
                        format!("Marking for deletion Pod {}/{}", eviction.namespace, eviction.name);
                    events.normal(pod.as_ref(), "TaintManagerEviction", message);
                }
            }
            Err(error) => {
                let pod = format!("{}/{}", eviction.namespace, eviction.name);
                tracing::warn!(%pod, error = %error::chain(&error), "cannot evict pod");
            }
        }
    }
}
