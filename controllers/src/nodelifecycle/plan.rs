//! The node lifecycle decision: which nodes stopped renewing their Lease, the `Ready` condition and
//! `NoExecute`/`NoSchedule` taints that follow, and which of their pods to evict when. Pure: no IO, no clock.
//!
//! Eviction: a pod goes when its toleration of the node's `NoExecute` taint runs out
//! (`tolerationSeconds` after the taint was added), or, when it has no such toleration, after
//! [`Config::eviction`]. Kubernetes' taint manager would delete an intolerant pod at once, but its
//! `DefaultTolerationSeconds` admission gives every pod 300 s of toleration; Wharf has no such admission and
//! uses the node-level default instead.
//!
//! Pods of an unreachable node are deleted with a zero grace period: no agent is there to stop them and
//! report, and Kubernetes' graceful delete would leave them `Terminating` until the node returns (its pod GC
//! force-deletes only on out-of-service or vanished nodes). Removing them at once lets owners replace them
//! and keeps `kubectl get pods` truthful; an agent that comes back stops the guests whose pods are gone. Pods
//! of a node that is reachable but not ready are deleted gracefully, since its agent can still stop them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use crate::pods;

/// The taint of a node whose agent stopped reporting.
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// The taint of a node that reports it is not ready.
pub const NOT_READY: &str = "node.kubernetes.io/not-ready";

/// Timings of the node lifecycle controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// How long a node may go without renewing its Lease before it is `Ready=Unknown` (Kubernetes' node
    /// monitor grace period, 40 s there).
    pub grace: Duration,
    /// How long pods without a toleration for the node's `NoExecute` taint stay (300 s in Kubernetes,
    /// through `DefaultTolerationSeconds`).
    pub eviction: Duration,
    /// How often nodes are looked at.
    pub period: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(20),
            eviction: Duration::from_secs(30),
            period: Duration::from_secs(1),
        }
    }
}

/// What the plan is given.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// Every node.
    pub nodes: &'a [Arc<Node>],
    /// When each node was last seen renewing its Lease (see [`super::heartbeats`]).
    pub heartbeats: &'a BTreeMap<String, Timestamp>,
    /// Every pod.
    pub pods: &'a [Arc<Pod>],
    /// The time now.
    pub now: Timestamp,
    /// The timings.
    pub config: Config,
}

/// A change to one node.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeUpdate {
    /// The node.
    pub name: String,
    /// Its resource version as decided from (taints are replaced only on that version).
    pub resource_version: Option<String>,
    /// Set `Ready=Unknown` (`NodeStatusUnknown`): the agent stopped reporting.
    pub mark_unknown: bool,
    /// The node's taints, when they change.
    pub taints: Option<Vec<Taint>>,
}

/// A pod to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eviction {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its uid, as a precondition.
    pub uid: Option<String>,
    /// With a zero grace period (the node is unreachable).
    pub force: bool,
}

/// What one pass should do.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Node changes.
    pub nodes: Vec<NodeUpdate>,
    /// Pods to delete now.
    pub evict: Vec<Eviction>,
    /// When the next eviction is due, if one is.
    pub next_eviction: Option<Duration>,
}

/// Plans one pass over every node.
pub fn plan(input: Input<'_>) -> Plan {
    let Input { now, config, .. } = input;
    let mut plan = Plan::default();
    let mut pods_by_node: BTreeMap<&str, Vec<&Pod>> = BTreeMap::new();
    for pod in input.pods {
        if let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) {
            pods_by_node.entry(node).or_default().push(pod);
        }
    }
    for node in input.nodes {
        let name = node.metadata.name.clone().unwrap_or_default();
        let created = node.metadata.creation_timestamp.as_ref().map_or(now, |t| t.0);
        let last = input.heartbeats.get(&name).copied().unwrap_or(created).max(created);
        let stale =
            now.duration_since(last) > SignedDuration::try_from(config.grace).unwrap_or(SignedDuration::MAX);
        let reported = ready_status(node);
        let ready = if stale { "Unknown" } else { reported };
        let current = node.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default();
        let taints = desired_taints(&current, ready, now);
        let update = NodeUpdate {
            name: name.clone(),
            resource_version: node.metadata.resource_version.clone(),
            mark_unknown: stale && reported != "Unknown",
            taints: (taints != current).then(|| taints.clone()),
        };
        if update.mark_unknown || update.taints.is_some() {
            plan.nodes.push(update);
        }
        let Some(taint) = taints.iter().find(|t| t.effect == "NoExecute" && is_ours(t)) else { continue };
        let unreachable = taint.key == UNREACHABLE;
        for pod in pods_by_node.get(name.as_str()).into_iter().flatten() {
            // A reachable node's agent stops its terminating pods itself.
            if pods::is_finished(pod) || (pod.metadata.deletion_timestamp.is_some() && !unreachable) {
                continue;
            }
            let Some(at) = evict_at(pod, taint, config.eviction) else { continue };
            if at <= now {
                plan.evict.push(Eviction {
                    namespace: pod.metadata.namespace.clone().unwrap_or_default(),
                    name: pod.metadata.name.clone().unwrap_or_default(),
                    uid: pod.metadata.uid.clone(),
                    force: unreachable,
                });
            } else {
                let wait = now.duration_until(at).unsigned_abs();
                plan.next_eviction = Some(plan.next_eviction.map_or(wait, |w| w.min(wait)));
            }
        }
    }
    plan
}

/// The node's `Ready` status as it reports it (`Unknown` without one).
fn ready_status(node: &Node) -> &str {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map_or("Unknown", |c| c.status.as_str())
}

fn is_ours(taint: &Taint) -> bool {
    taint.key == UNREACHABLE || taint.key == NOT_READY
}

/// The node's taints for this `Ready` status: the unreachable or not-ready pair (`NoSchedule` keeps new
/// pods away, `NoExecute` evicts) or neither, keeping every other taint and the time ours were added.
fn desired_taints(current: &[Taint], ready: &str, now: Timestamp) -> Vec<Taint> {
    let key = match ready {
        "True" => None,
        "False" => Some(NOT_READY),
        _ => Some(UNREACHABLE),
    };
    let mut taints: Vec<Taint> =
        current.iter().filter(|t| !is_ours(t) || Some(t.key.as_str()) == key).cloned().collect();
    if let Some(key) = key {
        for effect in ["NoSchedule", "NoExecute"] {
            if !taints.iter().any(|t| t.key == key && t.effect == effect) {
                taints.push(Taint {
                    key: key.to_owned(),
                    effect: effect.to_owned(),
                    value: None,
                    time_added: (effect == "NoExecute").then_some(Time(now)),
                });
            }
        }
    }
    taints
}

/// When a pod on a node with `taint` must go, or `None` when it tolerates the taint for ever.
fn evict_at(pod: &Pod, taint: &Taint, default: Duration) -> Option<Timestamp> {
    let added = taint.time_added.as_ref().map_or(Timestamp::UNIX_EPOCH, |t| t.0);
    let tolerations = pod.spec.as_ref().and_then(|s| s.tolerations.as_deref()).unwrap_or_default();
    let seconds = match tolerations
        .iter()
        .filter(|t| tolerates(t, taint))
        .map(|t| t.toleration_seconds)
        .min_by_key(|s| s.unwrap_or(i64::MAX))
    {
        // A toleration without seconds tolerates for ever; with several, the shortest wins.
        Some(None) => return None,
        Some(Some(seconds)) => SignedDuration::from_secs(seconds.max(0)),
        None => SignedDuration::try_from(default).unwrap_or(SignedDuration::MAX),
    };
    Some(added.checked_add(seconds).unwrap_or(Timestamp::MAX))
}

/// Whether a toleration matches a `NoExecute` taint (Kubernetes' `ToleratesTaint`).
fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect = toleration.effect.as_deref().unwrap_or_default();
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = toleration.key.as_deref().unwrap_or_default();
    match toleration.operator.as_deref().unwrap_or("Equal") {
        "Exists" => key.is_empty() || key == taint.key,
        "Equal" => {
            key == taint.key
                && toleration.value.as_deref().unwrap_or_default()
                    == taint.value.as_deref().unwrap_or_default()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
