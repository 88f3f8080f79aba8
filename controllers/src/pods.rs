//! What controllers read from pods: whether a pod still counts, is ready, is available, and which pods to
//! remove first when there are too many.

use std::cmp::Ordering;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// Whether a pod counts towards its controller: not being deleted and not finished (Kubernetes'
/// `IsPodActive`).
pub fn is_active(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none() && !is_finished(pod)
}

/// Whether the pod ran to its end (`Succeeded` or `Failed`).
pub fn is_finished(pod: &Pod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

/// The pod's phase, `""` when it has none yet.
pub fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or_default()
}

/// Whether the pod's `Ready` condition is `True`.
pub fn is_ready(pod: &Pod) -> bool {
    ready_condition(pod).is_some_and(|(status, _)| status == "True")
}

/// When the pod became ready, if it is (the `Ready` condition's transition time; the epoch when it has none,
/// so a ready pod without a time counts as ready for long).
pub fn ready_since(pod: &Pod) -> Option<Timestamp> {
    match ready_condition(pod) {
        Some(("True", since)) => Some(since.unwrap_or(Timestamp::UNIX_EPOCH)),
        _ => None,
    }
}

fn ready_condition(pod: &Pod) -> Option<(&str, Option<Timestamp>)> {
    let condition = pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "Ready")?;
    Some((condition.status.as_str(), condition.last_transition_time.as_ref().map(|t| t.0)))
}

/// Whether the pod is available: ready for at least `min_ready_seconds` at `now`. When it is ready but not
/// yet available, the second value says how long until it is.
pub fn availability(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> (bool, Option<Duration>) {
    let Some(since) = ready_since(pod) else { return (false, None) };
    if min_ready_seconds <= 0 {
        return (true, None);
    }
    let available_at =
        since.checked_add(SignedDuration::from_secs(i64::from(min_ready_seconds))).unwrap_or(Timestamp::MAX);
    if available_at <= now {
        (true, None)
    } else {
        let wait = now.duration_until(available_at).unsigned_abs();
        (false, Some(wait))
    }
}

/// The order in which surplus pods are deleted, first to go first (Kubernetes' `ActivePods` ranking):
/// unscheduled before scheduled, pending before unknown before running, not ready before ready, ready for
/// less time before ready for longer, more restarts before fewer, newer before older.
pub fn deletion_order(a: &Pod, b: &Pod) -> Ordering {
    let scheduled =
        |p: &Pod| p.spec.as_ref().and_then(|s| s.node_name.as_deref()).is_some_and(|n| !n.is_empty());
    let phase_rank = |p: &Pod| match phase(p) {
        "Pending" | "" => 0,
        "Unknown" => 1,
        _ => 2,
    };
    let restarts = |p: &Pod| -> i32 {
        p.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .map_or(0, |c| c.iter().map(|c| c.restart_count).max().unwrap_or(0))
    };
    let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
    scheduled(a)
        .cmp(&scheduled(b))
        .then_with(|| phase_rank(a).cmp(&phase_rank(b)))
        .then_with(|| is_ready(a).cmp(&is_ready(b)))
        // Both ready: the one ready for less time (the later time) goes first.
        .then_with(|| ready_since(b).cmp(&ready_since(a)))
        .then_with(|| restarts(b).cmp(&restarts(a)))
        .then_with(|| created(b).cmp(&created(a)))
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, node: Option<&str>, phase: &str, ready_at: Option<&str>, created: &str) -> Pod {
        let mut conditions = vec![];
        if let Some(at) = ready_at {
            conditions.push(json!({"type": "Ready", "status": "True", "lastTransitionTime": at}));
        }
        serde_json::from_value(json!({
            "metadata": {"name": name, "creationTimestamp": created},
            "spec": {"containers": [], "nodeName": node},
            "status": {"phase": phase, "conditions": conditions},
        }))
        .unwrap()
    }

    #[test]
    fn surplus_pods_go_in_kubernetes_order() {
        let t0 = "2026-01-01T00:00:00Z";
        let t1 = "2026-01-01T00:01:00Z";
        let mut pods = [
            pod("ready-old", Some("n"), "Running", Some(t0), t0),
            pod("ready-new", Some("n"), "Running", Some(t1), t0),
            pod("running-not-ready", Some("n"), "Running", None, t0),
            pod("pending-bound", Some("n"), "Pending", None, t0),
            pod("unscheduled", None, "Pending", None, t0),
            pod("unscheduled-newer", None, "Pending", None, t1),
        ];
        pods.sort_by(deletion_order);
        let names: Vec<_> = pods.iter().map(|p| p.metadata.name.clone().unwrap()).collect();
        assert_eq!(
            names,
            [
                "unscheduled-newer",
                "unscheduled",
                "pending-bound",
                "running-not-ready",
                "ready-new",
                "ready-old"
            ]
        );
    }

    #[test]
    fn availability_waits_for_min_ready_seconds() {
        let ready = pod("p", Some("n"), "Running", Some("2026-01-01T00:00:00Z"), "2026-01-01T00:00:00Z");
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let cases = [
            (0, "2026-01-01T00:00:00Z", (true, None)),
            (10, "2026-01-01T00:00:04Z", (false, Some(Duration::from_secs(6)))),
            (10, "2026-01-01T00:00:10Z", (true, None)),
        ];
        for (min_ready, now, expected) in cases {
            assert_eq!(availability(&ready, min_ready, at(now)), expected, "{min_ready} at {now}");
        }
        let not_ready = pod("p", Some("n"), "Running", None, "2026-01-01T00:00:00Z");
        assert_eq!(availability(&not_ready, 0, at("2026-01-01T00:00:00Z")), (false, None));
    }
}
