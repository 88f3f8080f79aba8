//! Revision bookkeeping on ReplicaSet annotations, as `kubectl rollout history` and `rollout undo` read it.
//!
//! Each ReplicaSet of a Deployment carries `deployment.kubernetes.io/revision`. The ReplicaSet that runs the
//! current template gets the highest number; when an undo makes an older ReplicaSet current again, it gets a
//! new number (max + 1) and its earlier numbers go to `deployment.kubernetes.io/revision-history`.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The revision annotation (on ReplicaSets and on the Deployment).
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// Earlier revisions of a ReplicaSet made current again by a rollback.
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// `spec.replicas` of the Deployment when the ReplicaSet was last scaled.
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
/// `spec.replicas + maxSurge` of the Deployment when the ReplicaSet was last scaled.
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// The change cause, copied from the Deployment so that `rollout history` shows it per revision.
pub const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";

/// Deployment annotations that are not copied to its ReplicaSets.
const NOT_COPIED: [&str; 6] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
];

/// The longest `revision-history` Kubernetes keeps, in characters.
const MAX_HISTORY_CHARS: usize = 2000;

/// The revision of an object, 0 when it has none or it is not a number.
pub fn revision(meta: &ObjectMeta) -> i64 {
    meta.annotations.as_ref().and_then(|a| a.get(REVISION)).and_then(|r| r.parse().ok()).unwrap_or(0)
}

/// Brings a ReplicaSet's annotations in line with its Deployment (Kubernetes' `SetNewReplicaSetAnnotations`):
/// copies the Deployment's own annotations, raises the revision to `new_revision` (recording the previous one
/// in the history), and on creation (`exists == false`) sets the replica annotations. Returns whether
/// anything changed.
pub fn sync_new_replica_set(
    deployment: &BTreeMap<String, String>,
    rs: &mut BTreeMap<String, String>,
    new_revision: i64,
    exists: bool,
    replicas: (i32, i32),
) -> bool {
    let mut changed = false;
    for (key, value) in deployment {
        if NOT_COPIED.contains(&key.as_str()) || rs.get(key) == Some(value) {
            continue;
        }
        rs.insert(key.clone(), value.clone());
        changed = true;
    }
    let old = rs.get(REVISION).cloned();
    let old_number = match old.as_deref() {
        None | Some("") => 0,
        Some(text) => match text.parse::<i64>() {
            Ok(n) => n,
            // Kubernetes leaves a ReplicaSet with an unreadable revision alone.
            Err(_) => return changed,
        },
    };
    if old_number < new_revision {
        rs.insert(REVISION.to_owned(), new_revision.to_string());
        changed = true;
        if let Some(old) = old.filter(|o| !o.is_empty()) {
            record_history(rs, &old);
        }
    }
    if !exists {
        changed |= set_replicas(rs, replicas.0, replicas.1);
    }
    changed
}

/// Appends `old` to the revision history, dropping the oldest entries to stay within Kubernetes' limit.
fn record_history(rs: &mut BTreeMap<String, String>, old: &str) {
    let history = rs.get(REVISION_HISTORY).cloned().unwrap_or_default();
    if history.is_empty() {
        rs.insert(REVISION_HISTORY.to_owned(), old.to_owned());
        return;
    }
    let mut entries: Vec<&str> = history.split(',').collect();
    let mut total = history.len() + old.len() + 1;
    let mut start = 0;
    while total > MAX_HISTORY_CHARS && start < entries.len() {
        total -= entries[start].len() + 1;
        start += 1;
    }
    if total <= MAX_HISTORY_CHARS {
        entries.drain(..start);
        entries.push(old);
        rs.insert(REVISION_HISTORY.to_owned(), entries.join(","));
    }
}

/// Sets the desired and max replica annotations; returns whether they changed.
pub fn set_replicas(annotations: &mut BTreeMap<String, String>, desired: i32, max: i32) -> bool {
    let mut changed = false;
    for (key, value) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        let value = value.to_string();
        if annotations.get(key) != Some(&value) {
            annotations.insert(key.to_owned(), value);
            changed = true;
        }
    }
    changed
}

/// The `desired-replicas` annotation, when present and numeric.
pub fn desired_replicas(meta: &ObjectMeta) -> Option<i32> {
    meta.annotations.as_ref()?.get(DESIRED_REPLICAS)?.parse().ok()
}

/// The `max-replicas` annotation, when present and numeric.
pub fn max_replicas(meta: &ObjectMeta) -> Option<i32> {
    meta.annotations.as_ref()?.get(MAX_REPLICAS)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn revisions_rise_and_keep_their_history() {
        let deployment = map(&[
            (CHANGE_CAUSE, "kubectl set image"),
            ("kubectl.kubernetes.io/last-applied-configuration", "{}"),
            (REVISION, "7"),
        ]);
        let cases = [
            (
                "new replica set",
                map(&[]),
                3,
                false,
                map(&[
                    (CHANGE_CAUSE, "kubectl set image"),
                    (REVISION, "3"),
                    (DESIRED_REPLICAS, "4"),
                    (MAX_REPLICAS, "5"),
                ]),
                true,
            ),
            (
                "rollback to revision 1",
                map(&[(REVISION, "1")]),
                4,
                true,
                map(&[(CHANGE_CAUSE, "kubectl set image"), (REVISION, "4"), (REVISION_HISTORY, "1")]),
                true,
            ),
            (
                "second rollback appends",
                map(&[(REVISION, "4"), (REVISION_HISTORY, "1"), (CHANGE_CAUSE, "kubectl set image")]),
                6,
                true,
                map(&[(CHANGE_CAUSE, "kubectl set image"), (REVISION, "6"), (REVISION_HISTORY, "1,4")]),
                true,
            ),
            (
                "already current",
                map(&[(REVISION, "5"), (CHANGE_CAUSE, "kubectl set image")]),
                5,
                true,
                map(&[(REVISION, "5"), (CHANGE_CAUSE, "kubectl set image")]),
                false,
            ),
            (
                "unreadable revision is left alone",
                map(&[(REVISION, "x"), (CHANGE_CAUSE, "kubectl set image")]),
                5,
                true,
                map(&[(REVISION, "x"), (CHANGE_CAUSE, "kubectl set image")]),
                false,
            ),
        ];
        for (name, mut rs, new_revision, exists, expected, changed) in cases {
            assert_eq!(
                sync_new_replica_set(&deployment, &mut rs, new_revision, exists, (4, 5)),
                changed,
                "{name}"
            );
            assert_eq!(rs, expected, "{name}");
        }
    }

    #[test]
    fn history_is_bounded() {
        let long = (1..600).map(|n| n.to_string()).collect::<Vec<_>>().join(",");
        let mut rs = map(&[(REVISION, "600"), (REVISION_HISTORY, &long)]);
        sync_new_replica_set(&BTreeMap::new(), &mut rs, 601, true, (1, 1));
        let history = &rs[REVISION_HISTORY];
        assert!(history.len() <= MAX_HISTORY_CHARS);
        assert!(history.ends_with(",599,600"), "{history}");
    }
}
