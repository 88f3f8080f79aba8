//! Carrying out decisions through the API: bindings, the `PodScheduled` condition and nominations, and
//! preemption's evictions. Each runs as its own task, at most [`Options::max_in_flight`](super::Options) at a
//! time, so that the loop never waits for the API server; what the loop must know comes back as an
//! [`Outcome`].

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::placement::Preemption;
use events::{Kind, Recorder};

/// What the loop learns from an action.
#[derive(Debug)]
pub enum Outcome {
    /// The pod is bound.
    Bound {
        /// The pod's key.
        key: String,
    },
    /// The binding failed; the assumption must go.
    BindFailed {
        /// The pod's key.
        key: String,
        /// Whether to try again after a backoff (false when the pod is gone or already bound).
        retry: bool,
    },
    /// A victim could not be evicted; the nomination must go and the pod is retried after a backoff.
    PreemptionFailed {
        /// The pod's key.
        key: String,
        /// The pod without the nomination.
        pod: Arc<Pod>,
    },
}

/// What to do with a pending pod's `status.nominatedNodeName`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nomination {
    /// Leave it as it is.
    Keep,
    /// Nominate this node.
    Set(String),
    /// Remove it: the node no longer helps.
    Clear,
}

/// Starts API writes. Cheap to share: every method spawns a task and returns.
pub struct Actions {
    client: kube::Client,
    name: String,
    limit: Arc<Semaphore>,
    tracker: TaskTracker,
    stop: CancellationToken,
    outcomes: mpsc::UnboundedSender<Outcome>,
    events: Recorder,
}

impl Actions {
    /// Actions by the scheduler `name`, at most `max_in_flight` writes at a time, reporting to `outcomes`.
    pub fn new(
        client: kube::Client,
        name: String,
        max_in_flight: usize,
        tracker: TaskTracker,
        stop: CancellationToken,
        outcomes: mpsc::UnboundedSender<Outcome>,
        events: Recorder,
    ) -> Self {
        let limit = Arc::new(Semaphore::new(max_in_flight.max(1)));
        Self { client, name, limit, tracker, stop, outcomes, events }
    }

    /// Binds `pod` to `node` (`pods/{name}/binding`) and records the `Scheduled` event.
    pub fn bind(&self, key: String, pod: Arc<Pod>, node: String) {
        let (client, events, outcomes) = (self.client.clone(), self.events.clone(), self.outcomes.clone());
        self.spawn(
            async move {
                let (namespace, name) = names(&pod);
                let api: Api<Pod> = Api::namespaced(client, namespace);
                let binding = json!({
                    "apiVersion": "v1",
                    "kind": "Binding",
                    // The UID makes the binding apply to this pod only, not to a namesake created meanwhile.
                    "metadata": {"name": name, "namespace": namespace, "uid": pod.metadata.uid},
                    "target": {"kind": "Node", "name": node},
                });
                let result = api
                    .create_subresource::<_, Value>("binding", name, &PostParams::default(), &binding)
                    .await;
                let outcome = match result {
                    Ok(_) => {
                        let message = format!("Successfully assigned {namespace}/{name} to {node}");
                        events.event(&*pod, Kind::Normal, "Scheduled", "Binding", message);
                        Outcome::Bound { key }
                    }
                    // Deleted, already bound, or being deleted: nothing left to do for this pod.
                    Err(kube::Error::Api(status)) if matches!(status.code, 404 | 409) => {
                        tracing::debug!(pod = %name, %node, reason = %status.message, "binding refused");
                        Outcome::BindFailed { key, retry: false }
                    }
                    Err(e) => {
                        tracing::warn!(pod = %name, %node, error = %e, "binding failed; retrying");
                        let message = format!("Binding rejected: running Bind plugin \"DefaultBinder\": {e}");
                        events.event(&*pod, Kind::Warning, "FailedScheduling", "Scheduling", message);
                        Outcome::BindFailed { key, retry: true }
                    }
                };
                Some(outcome)
            },
            outcomes,
        );
    }

    /// Records why `pod` fits nowhere: its `PodScheduled` condition (unless it already says so) and a
    /// `FailedScheduling` event.
    pub fn unschedulable(&self, pod: Arc<Pod>, message: String, nomination: Nomination) {
        let (client, events) = (self.client.clone(), self.events.clone());
        self.spawn(
            async move {
                record_failure(&client, &events, pod, message, &nomination).await;
                None
            },
            self.outcomes.clone(),
        );
    }

    /// Preempts for `pod`: marks and deletes each victim, then nominates the node and records the failure
    /// that made preemption necessary, as kube-scheduler does.
    pub fn preempt(&self, key: String, pod: Arc<Pod>, preemption: Preemption, message: String) {
        let (client, events, name) = (self.client.clone(), self.events.clone(), self.name.clone());
        self.spawn(async move {
            for victim in &preemption.victims {
                let victim_pod = Arc::new(Pod {
                    metadata: ObjectMeta {
                        name: Some(victim.name.clone()),
                        namespace: Some(victim.namespace.clone()),
                        uid: Some(victim.uid.clone()),
                        ..ObjectMeta::default()
                    },
                    ..Pod::default()
                });
                if let Err(e) = evict(&client, &victim_pod, &name).await {
                    tracing::warn!(pod = ?pod.metadata.name, victim = %victim.name, error = %e, "preemption failed");
                    let mut plain = (*pod).clone();
                    if let Some(status) = plain.status.as_mut() {
                        status.nominated_node_name = None;
                    }
                    return Some(Outcome::PreemptionFailed { key, pod: Arc::new(plain) });
                }
                let uid = pod.metadata.uid.as_deref().unwrap_or_default();
                let message = format!("Preempted by pod {uid} on node {}", preemption.node);
                events.event(&*victim_pod, Kind::Normal, "Preempted", "Preempting", message);
            }
            record_failure(&client, &events, pod, message, &Nomination::Set(preemption.node)).await;
            None
        }, self.outcomes.clone());
    }

    /// Runs `work` as a tracked task once a write slot is free (or not at all after `stop`), then reports
    /// its outcome. The slot is released before the outcome is sent, so the loop never waits for a slot held
    /// by a finished task.
    fn spawn(
        &self,
        work: impl Future<Output = Option<Outcome>> + Send + 'static,
        outcomes: mpsc::UnboundedSender<Outcome>,
    ) {
        let (limit, stop) = (self.limit.clone(), self.stop.clone());
        self.tracker.spawn(async move {
            let Some(Ok(permit)) = stop.run_until_cancelled(limit.acquire_owned()).await else { return };
            let outcome = stop.run_until_cancelled(work).await.flatten();
            drop(permit);
            if let Some(outcome) = outcome {
                // The loop is gone only at shutdown, when nobody needs the outcome.
                let _ = outcomes.send(outcome);
            }
        });
    }
}

/// The pod's namespace and name.
fn names(pod: &Pod) -> (&str, &str) {
    (pod.metadata.namespace.as_deref().unwrap_or("default"), pod.metadata.name.as_deref().unwrap_or_default())
}

/// Patches the pod's status with the failure (when it changes anything) and records the event.
async fn record_failure(
    client: &kube::Client,
    events: &Recorder,
    pod: Arc<Pod>,
    message: String,
    nomination: &Nomination,
) {
    if let Some(patch) = failure_patch(&pod, &message, nomination, Timestamp::now()) {
        let (namespace, name) = names(&pod);
        let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
        match api.patch_status(name, &PatchParams::default(), &Patch::Strategic(patch)).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => return,
            Err(e) => {
                tracing::warn!(pod = %name, error = %e, "cannot update the pod's PodScheduled condition");
            }
        }
    }
    events.event(&*pod, Kind::Warning, "FailedScheduling", "Scheduling", message);
}

/// Sets the `DisruptionTarget` condition on a victim, then deletes it (only that very pod, by UID). A victim
/// already gone counts as evicted.
async fn evict(client: &kube::Client, victim: &Pod, scheduler: &str) -> Result<(), kube::Error> {
    let (namespace, name) = names(victim);
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let condition = json!({"status": {"conditions": [{
        "type": "DisruptionTarget",
        "status": "True",
        "reason": "PreemptionByScheduler",
        "message": format!("{scheduler}: preempting to accommodate a higher priority pod"),
        "lastTransitionTime": Time(Timestamp::now()),
    }]}});
    let gone = |e: &kube::Error| matches!(e, kube::Error::Api(status) if status.code == 404);
    match api.patch_status(name, &PatchParams::default(), &Patch::Strategic(condition)).await {
        Err(e) if gone(&e) => return Ok(()),
        other => other.map(|_| ())?,
    }
    let params = DeleteParams {
        preconditions: Some(Preconditions { uid: victim.metadata.uid.clone(), resource_version: None }),
        ..DeleteParams::default()
    };
    match api.delete(name, &params).await {
        Err(e) if gone(&e) => Ok(()),
        // Its UID differs: the victim is gone and a namesake took its place.
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        other => other.map(|_| ()),
    }
}

/// The strategic merge patch of `pod`'s status that records the scheduling failure `message` and applies
/// `nomination`, or `None` when the pod already shows exactly that (kube-scheduler skips such updates too).
/// The condition's `lastTransitionTime` moves only when its status changes.
pub fn failure_patch(pod: &Pod, message: &str, nomination: &Nomination, now: Timestamp) -> Option<Value> {
    let status = pod.status.as_ref();
    let current: Option<&PodCondition> =
        status.and_then(|s| s.conditions.as_ref()).and_then(|c| c.iter().find(|c| c.type_ == "PodScheduled"));
    let nominated = status.and_then(|s| s.nominated_node_name.as_deref()).filter(|n| !n.is_empty());
    let nominated_patch = match nomination {
        Nomination::Set(node) if nominated != Some(node.as_str()) => Some(json!(node)),
        Nomination::Clear if nominated.is_some() => Some(Value::Null),
        _ => None,
    };
    let same_condition = current.is_some_and(|c| {
        c.status == "False"
            && c.reason.as_deref() == Some("Unschedulable")
            && c.message.as_deref() == Some(message)
    });
    if same_condition && nominated_patch.is_none() {
        return None;
    }
    let transition = match current {
        Some(c) if c.status == "False" => c.last_transition_time.clone().unwrap_or(Time(now)),
        _ => Time(now),
    };
    let mut patch = json!({"status": {"conditions": [{
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": message,
        "lastProbeTime": null,
        "lastTransitionTime": transition,
    }]}});
    if let Some(value) = nominated_patch {
        patch["status"]["nominatedNodeName"] = value;
    }
    Some(patch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(status: Value) -> Pod {
        serde_json::from_value(
            json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": {"containers": []},
                                      "status": status}),
        )
        .unwrap_or_else(|e| panic!("bad fixture: {e}"))
    }

    const NOW: &str = "2024-05-01T10:00:00Z";

    fn now() -> Timestamp {
        NOW.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_new_failure_sets_the_condition() {
        let patch = failure_patch(
            &pod(json!({"phase": "Pending"})),
            "0/1 nodes are available: 1 Insufficient cpu.",
            &Nomination::Keep,
            now(),
        );
        assert_eq!(
            patch,
            Some(json!({"status": {"conditions": [{"type": "PodScheduled", "status": "False",
                "reason": "Unschedulable", "message": "0/1 nodes are available: 1 Insufficient cpu.",
                "lastProbeTime": null, "lastTransitionTime": NOW}]}}))
        );
    }

    #[test]
    fn the_same_failure_changes_nothing_and_a_new_message_keeps_the_transition_time() {
        let earlier = "2024-05-01T09:00:00Z";
        let failing = pod(json!({"conditions": [{"type": "PodScheduled", "status": "False",
            "reason": "Unschedulable", "message": "old", "lastTransitionTime": earlier}]}));
        assert_eq!(failure_patch(&failing, "old", &Nomination::Keep, now()), None);
        let patch = failure_patch(&failing, "new", &Nomination::Keep, now()).unwrap_or_default();
        assert_eq!(patch.pointer("/status/conditions/0/lastTransitionTime"), Some(&json!(earlier)));
        assert_eq!(patch.pointer("/status/conditions/0/message"), Some(&json!("new")));
    }

    #[test]
    fn nominations_are_set_and_cleared_only_when_they_change() {
        let nominated = pod(json!({"nominatedNodeName": "n1", "conditions": [{"type": "PodScheduled",
            "status": "False", "reason": "Unschedulable", "message": "m", "lastTransitionTime": NOW}]}));
        assert_eq!(failure_patch(&nominated, "m", &Nomination::Set("n1".into()), now()), None);
        let moved = failure_patch(&nominated, "m", &Nomination::Set("n2".into()), now()).unwrap_or_default();
        assert_eq!(moved.pointer("/status/nominatedNodeName"), Some(&json!("n2")));
        let cleared = failure_patch(&nominated, "m", &Nomination::Clear, now()).unwrap_or_default();
        assert_eq!(cleared.pointer("/status/nominatedNodeName"), Some(&Value::Null));
        assert_eq!(
            failure_patch(&pod(json!({})), "m", &Nomination::Clear, now())
                .map(|p| p["status"].get("nominatedNodeName").is_some()),
            Some(false)
        );
    }
}
