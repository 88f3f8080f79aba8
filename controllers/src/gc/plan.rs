//! Garbage-collection decisions, as Kubernetes' garbage collector makes them. Pure: the caller says which
//! owners exist and which dependents an owner has.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

/// The finalizer of a Foreground delete: the owner waits for its blocking dependents.
pub const FOREGROUND: &str = "foregroundDeletion";
/// The finalizer of an Orphan delete: dependents lose their reference to the owner, then the owner goes.
pub const ORPHAN: &str = "orphan";

/// What an owner reference points at, as observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// No object with that uid exists.
    Absent,
    /// It exists and is not waiting for its dependents.
    Present,
    /// It exists, being deleted in the foreground: it waits for its dependents to go.
    WaitingForDependents,
}

/// How to delete an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Delete now; the collector removes dependents afterwards.
    Background,
    /// Delete dependents first.
    Foreground,
    /// Keep dependents.
    Orphan,
}

impl Propagation {
    /// The `propagationPolicy` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Background => "Background",
            Self::Foreground => "Foreground",
            Self::Orphan => "Orphan",
        }
    }
}

/// What to do with an object because of its owners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsDependent {
    /// Nothing: no owners, an owner still holds it, or it is already going.
    Keep,
    /// Some owners are gone or waiting but another holds it: drop the references to those (by uid).
    DropReferences(Vec<String>),
    /// No owner holds it any more: delete it.
    Delete(Propagation),
}

/// Decides for an object given its owners (Kubernetes' `attemptToDeleteItem`). `owner` looks one reference
/// up; `has_dependents` says whether the object owns anything itself.
pub fn as_dependent(
    meta: &ObjectMeta,
    owner: impl Fn(&OwnerReference) -> Owner,
    has_dependents: impl FnOnce() -> bool,
) -> AsDependent {
    let refs = meta.owner_references.as_deref().unwrap_or_default();
    if refs.is_empty() || (meta.deletion_timestamp.is_some() && !has_finalizer(meta, FOREGROUND)) {
        return AsDependent::Keep;
    }
    let (mut solid, mut dangling, mut waiting) = (0, Vec::new(), Vec::new());
    for r in refs {
        match owner(r) {
            Owner::Present => solid += 1,
            Owner::Absent => dangling.push(r.uid.clone()),
            Owner::WaitingForDependents => waiting.push(r.uid.clone()),
        }
    }
    if solid > 0 {
        if dangling.is_empty() && waiting.is_empty() {
            return AsDependent::Keep;
        }
        dangling.extend(waiting);
        return AsDependent::DropReferences(dangling);
    }
    if meta.deletion_timestamp.is_some() {
        // Already being deleted in the foreground; its own dependents are handled as an owner.
        return AsDependent::Keep;
    }
    if !waiting.is_empty() && has_dependents() {
        // An owner waits for this one, which has dependents of its own: they must go first.
        return AsDependent::Delete(Propagation::Foreground);
    }
    let propagation = if has_finalizer(meta, ORPHAN) {
        Propagation::Orphan
    } else if has_finalizer(meta, FOREGROUND) {
        Propagation::Foreground
    } else {
        Propagation::Background
    };
    AsDependent::Delete(propagation)
}

/// What an owner being deleted with a finalizer needs, given its dependents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsOwner {
    /// Not being deleted with a collector finalizer.
    Nothing,
    /// Remove the owner reference (to this owner) from these dependents, then the `orphan` finalizer.
    Orphan(Vec<DependentRef>),
    /// Delete these dependents (those not already going); the owner keeps waiting while any blocks it.
    DeleteDependents(Vec<DependentRef>),
    /// Remove this finalizer: its work is done.
    RemoveFinalizer(&'static str),
}

/// One dependent of an owner, as the owner's decision needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependentRef {
    /// Index into the caller's list of dependents.
    pub index: usize,
    /// Whether it blocks the owner's deletion (`blockOwnerDeletion: true` on its reference).
    pub blocking: bool,
    /// Whether it is already being deleted.
    pub deleting: bool,
}

/// Decides for an owner being deleted (Kubernetes' `processDeletingDependentsItem` and `orphanDependents`).
/// Orphaning comes first when both finalizers are present, as in Kubernetes.
pub fn as_owner(meta: &ObjectMeta, dependents: &[DependentRef]) -> AsOwner {
    if meta.deletion_timestamp.is_none() {
        return AsOwner::Nothing;
    }
    if has_finalizer(meta, ORPHAN) {
        return if dependents.is_empty() {
            AsOwner::RemoveFinalizer(ORPHAN)
        } else {
            AsOwner::Orphan(dependents.to_vec())
        };
    }
    if has_finalizer(meta, FOREGROUND) {
        if !dependents.iter().any(|d| d.blocking) {
            return AsOwner::RemoveFinalizer(FOREGROUND);
        }
        let to_delete: Vec<_> = dependents.iter().filter(|d| !d.deleting).cloned().collect();
        return AsOwner::DeleteDependents(to_delete);
    }
    AsOwner::Nothing
}

/// Whether the object has this finalizer.
pub fn has_finalizer(meta: &ObjectMeta, finalizer: &str) -> bool {
    meta.finalizers.iter().flatten().any(|f| f == finalizer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use serde_json::json;

    fn meta(owners: &[&str], deleting: bool, finalizers: &[&str]) -> ObjectMeta {
        let refs: Vec<_> = owners
            .iter()
            .map(|uid| json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": uid, "uid": uid}))
            .collect();
        let mut m: ObjectMeta =
            serde_json::from_value(json!({"name": "x", "ownerReferences": refs, "finalizers": finalizers}))
                .unwrap();
        if deleting {
            m.deletion_timestamp = Some(Time("2026-01-01T00:00:00Z".parse().unwrap()));
        }
        m
    }

    fn lookup(r: &OwnerReference) -> Owner {
        match r.uid.as_str() {
            "present" => Owner::Present,
            "waiting" => Owner::WaitingForDependents,
            _ => Owner::Absent,
        }
    }

    #[test]
    fn dependents_follow_their_owners() {
        use AsDependent::{Delete, DropReferences, Keep};
        let cases = [
            ("no owners", meta(&[], false, &[]), false, Keep),
            ("owner present", meta(&["present"], false, &[]), false, Keep),
            ("owner gone", meta(&["gone"], false, &[]), false, Delete(Propagation::Background)),
            (
                "one of two gone",
                meta(&["present", "gone"], false, &[]),
                false,
                DropReferences(vec!["gone".into()]),
            ),
            (
                "waiting owner, other holds",
                meta(&["present", "waiting"], false, &[]),
                false,
                DropReferences(vec!["waiting".into()]),
            ),
            (
                "waiting owner, no dependents",
                meta(&["waiting"], false, &[]),
                false,
                Delete(Propagation::Background),
            ),
            (
                "waiting owner, has dependents",
                meta(&["waiting"], false, &[]),
                true,
                Delete(Propagation::Foreground),
            ),
            ("already going", meta(&["gone"], true, &[]), false, Keep),
            ("going in foreground", meta(&["gone"], true, &[FOREGROUND]), false, Keep),
            ("orphan finalizer kept", meta(&["gone"], false, &[ORPHAN]), false, Delete(Propagation::Orphan)),
        ];
        for (name, m, has_dependents, expected) in cases {
            assert_eq!(as_dependent(&m, lookup, || has_dependents), expected, "{name}");
        }
    }

    #[test]
    fn owners_wait_orphan_or_finish() {
        let blocking = DependentRef { index: 0, blocking: true, deleting: false };
        let going = DependentRef { index: 1, blocking: true, deleting: true };
        let loose = DependentRef { index: 2, blocking: false, deleting: false };
        let cases = [
            ("not deleting", meta(&[], false, &[FOREGROUND]), vec![blocking.clone()], AsOwner::Nothing),
            ("no finalizer", meta(&[], true, &["other"]), vec![blocking.clone()], AsOwner::Nothing),
            (
                "orphan with dependents",
                meta(&[], true, &[ORPHAN]),
                vec![loose.clone()],
                AsOwner::Orphan(vec![loose.clone()]),
            ),
            ("orphan done", meta(&[], true, &[ORPHAN]), vec![], AsOwner::RemoveFinalizer(ORPHAN)),
            (
                "foreground deletes what is not going yet",
                meta(&[], true, &[FOREGROUND]),
                vec![blocking.clone(), going.clone(), loose.clone()],
                AsOwner::DeleteDependents(vec![blocking.clone(), loose.clone()]),
            ),
            (
                "foreground waits for blocking",
                meta(&[], true, &[FOREGROUND]),
                vec![going.clone()],
                AsOwner::DeleteDependents(vec![]),
            ),
            (
                "foreground done when only loose ones remain",
                meta(&[], true, &[FOREGROUND]),
                vec![loose],
                AsOwner::RemoveFinalizer(FOREGROUND),
            ),
        ];
        for (name, m, dependents, expected) in cases {
            assert_eq!(as_owner(&m, &dependents), expected, "{name}");
        }
    }
}
