//! The ReplicaSet decision: from a ReplicaSet and the pods of its namespace, which pods to adopt, release,
//! create and delete, and the status to report. Pure: no IO, no clock (the caller passes `now`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use api::selector::LabelSelector;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

use crate::owners;
use crate::pods;

/// What one reconcile of a ReplicaSet should do.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Orphan pods matching the selector, to take ownership of.
    pub adopt: Vec<String>,
    /// Owned pods that no longer match the selector, to let go.
    pub release: Vec<String>,
    /// How many pods to create from the template.
    pub create: usize,
    /// Owned active pods to delete, first to go first.
    pub delete: Vec<String>,
    /// The status to write.
    pub status: ReplicaSetStatus,
    /// When a ready pod becomes available (`minReadySeconds`), so the status can be brought up to date.
    pub recheck_after: Option<Duration>,
}

/// Why a ReplicaSet cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The selector does not parse (validation should have refused it).
    #[error("invalid selector: {0}")]
    Selector(String),
}

/// Plans one reconcile. `pods` are the pods of the ReplicaSet's namespace, in any order.
///
/// `manage` is false while earlier creations or deletions have not been observed yet (or when the
/// ReplicaSet is being deleted): the plan then only reports status, as Kubernetes does while its
/// expectations are unmet.
pub fn plan(rs: &ReplicaSet, pods: &[Arc<Pod>], manage: bool, now: Timestamp) -> Result<Plan, PlanError> {
    let uid = rs.metadata.uid.as_deref().unwrap_or_default();
    let selector =
        LabelSelector::from_k8s(&rs.spec.selector).map_err(|e| PlanError::Selector(e.to_string()))?;
    let deleting = rs.metadata.deletion_timestamp.is_some();
    // Kubernetes claims only active pods: finished or terminating ones are neither adopted nor released.
    let claim = owners::claim(
        uid,
        &selector,
        deleting,
        pods.iter().map(AsRef::as_ref).filter(|p| pods::is_active(p)),
    );
    let mut plan = Plan { adopt: claim.adopt, release: claim.release, ..Plan::default() };
    let mut active = claim.owned;
    let desired = usize::try_from(rs.spec.replicas.unwrap_or(1)).unwrap_or(0);
    if manage && !deleting {
        if active.len() < desired {
            plan.create = desired - active.len();
        } else if active.len() > desired {
            active.sort_by(|a, b| pods::deletion_order(a, b));
            plan.delete =
                active[..active.len() - desired].iter().filter_map(|p| p.metadata.name.clone()).collect();
        }
    }
    plan.status = status(rs, &active, now, &mut plan.recheck_after);
    Ok(plan)
}

/// The status Kubernetes reports: counts over the active owned pods as observed (before this plan's
/// changes, which later reconciles observe).
fn status(
    rs: &ReplicaSet,
    active: &[&Pod],
    now: Timestamp,
    recheck: &mut Option<Duration>,
) -> ReplicaSetStatus {
    let min_ready = rs.spec.min_ready_seconds.unwrap_or(0);
    let template_labels: BTreeMap<String, String> = rs
        .spec
        .template
        .as_ref()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let (mut labeled, mut ready, mut available) = (0, 0, 0);
    for pod in active {
        let labels = pod.metadata.labels.as_ref();
        if template_labels.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v)) {
            labeled += 1;
        }
        if pods::is_ready(pod) {
            ready += 1;
        }
        match pods::availability(pod, min_ready, now) {
            (true, _) => available += 1,
            (false, Some(wait)) => *recheck = Some(recheck.map_or(wait, |r| r.min(wait))),
            (false, None) => {}
        }
    }
    ReplicaSetStatus {
        replicas: active.len() as i32,
        fully_labeled_replicas: Some(labeled),
        ready_replicas: Some(ready),
        available_replicas: Some(available),
        observed_generation: rs.metadata.generation,
        // Kept as the last write left them: this controller sets no conditions yet.
        conditions: rs.status.as_ref().and_then(|s| s.conditions.clone()),
        terminating_replicas: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn rs(replicas: i32) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {"name": "web-abc", "namespace": "d", "uid": "rs-uid", "generation": 3},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web", "tier": "f"}}, "spec": {"containers": []}}},
        }))
        .unwrap()
    }

    fn pod(name: &str, labels: Value, owner: Option<&str>, extra: Value) -> Arc<Pod> {
        let mut value = json!({
            "metadata": {"name": name, "namespace": "d", "labels": labels,
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"containers": []},
            "status": {"phase": "Pending"},
        });
        if let Some(uid) = owner {
            value["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "name": "x", "uid": uid, "controller": true}]);
        }
        merge(&mut value, extra);
        Arc::new(serde_json::from_value(value).unwrap())
    }

    fn merge(into: &mut Value, from: Value) {
        match (into, from) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in b {
                    merge(a.entry(k).or_insert(Value::Null), v);
                }
            }
            (slot, v) => *slot = v,
        }
    }

    fn ready() -> Value {
        json!({"spec": {"nodeName": "n"}, "status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}})
    }

    fn now() -> Timestamp {
        "2026-01-01T00:10:00Z".parse().unwrap()
    }

    #[test]
    fn decides_creations_deletions_adoptions_and_releases() {
        let web = json!({"app": "web", "tier": "f"});
        let cases: Vec<(&str, i32, Vec<Arc<Pod>>, Plan)> = vec![
            ("empty: create all", 3, vec![], Plan { create: 3, ..Plan::default() }),
            (
                "orphan matching pod is adopted and counts",
                2,
                vec![pod("orphan", web.clone(), None, json!({}))],
                Plan { adopt: vec!["orphan".into()], create: 1, ..Plan::default() },
            ),
            (
                "pod owned by another controller is left alone",
                1,
                vec![pod("other", web.clone(), Some("other-uid"), json!({}))],
                Plan { create: 1, ..Plan::default() },
            ),
            (
                "owned pod that stopped matching is released and replaced",
                1,
                vec![pod("moved", json!({"app": "db"}), Some("rs-uid"), json!({}))],
                Plan { release: vec!["moved".into()], create: 1, ..Plan::default() },
            ),
            (
                "terminating and finished pods do not count",
                2,
                vec![
                    pod(
                        "going",
                        web.clone(),
                        Some("rs-uid"),
                        json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}}),
                    ),
                    pod("done", web.clone(), Some("rs-uid"), json!({"status": {"phase": "Succeeded"}})),
                    pod("live", web.clone(), Some("rs-uid"), json!({})),
                ],
                Plan { create: 1, ..Plan::default() },
            ),
            (
                "scale down removes unscheduled, then not ready, keeping ready",
                1,
                vec![
                    pod("ready", web.clone(), Some("rs-uid"), ready()),
                    pod("bound", web.clone(), Some("rs-uid"), json!({"spec": {"nodeName": "n"}})),
                    pod("unscheduled", web.clone(), Some("rs-uid"), json!({})),
                ],
                Plan { delete: vec!["unscheduled".into(), "bound".into()], ..Plan::default() },
            ),
        ];
        for (name, replicas, pods, expected) in cases {
            let got = plan(&rs(replicas), &pods, true, now()).unwrap();
            assert_eq!(
                (got.adopt, got.release, got.create, got.delete),
                (expected.adopt, expected.release, expected.create, expected.delete),
                "{name}"
            );
        }
    }

    #[test]
    fn waits_for_expectations_and_deletion() {
        let mut deleting = rs(3);
        deleting.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now()));
        let orphan = pod("orphan", json!({"app": "web"}), None, json!({}));
        for (name, rs, manage) in [("unmet expectations", rs(3), false), ("being deleted", deleting, true)] {
            let got = plan(&rs, std::slice::from_ref(&orphan), manage, now()).unwrap();
            assert_eq!((got.create, got.delete.len()), (0, 0), "{name}");
        }
        let got = plan(&rs(3), &[orphan], false, now()).unwrap();
        assert_eq!(got.adopt, ["orphan"], "adoption does not wait for expectations");
    }

    #[test]
    fn status_counts_ready_available_and_labeled() {
        let mut r = rs(3);
        r.spec.min_ready_seconds = Some(600);
        let just_ready = json!({"spec": {"nodeName": "n"}, "status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:09:30Z"}]}});
        let pods = vec![
            pod("a", json!({"app": "web", "tier": "f"}), Some("rs-uid"), ready()),
            pod("b", json!({"app": "web"}), Some("rs-uid"), just_ready),
            pod("c", json!({"app": "web", "tier": "f"}), Some("rs-uid"), json!({})),
        ];
        let got = plan(&r, &pods, true, now()).unwrap();
        let s = got.status;
        assert_eq!(
            (
                s.replicas,
                s.fully_labeled_replicas,
                s.ready_replicas,
                s.available_replicas,
                s.observed_generation
            ),
            (3, Some(2), Some(2), Some(1), Some(3))
        );
        assert_eq!(got.recheck_after, Some(Duration::from_secs(570)));
    }

    #[test]
    fn refuses_a_bad_selector() {
        let mut r = rs(1);
        r.spec.selector.match_labels = Some([("bad key!".to_owned(), "x".to_owned())].into());
        assert!(matches!(plan(&r, &[], true, now()), Err(PlanError::Selector(_))));
    }
}
