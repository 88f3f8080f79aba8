//! Owner references: which object controls another, and the reference a controller puts on what it creates.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::error::{Result, is_status};

/// The reference with `controller: true`, if any (Kubernetes' `GetControllerOf`).
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references.iter().flatten().find(|r| r.controller == Some(true))
}

/// Whether `meta` is controlled by the object with this uid (Kubernetes' `IsControlledBy`).
pub fn is_controlled_by(meta: &ObjectMeta, uid: &str) -> bool {
    controller_of(meta).is_some_and(|r| r.uid == uid)
}

/// The reference a controller sets on what it creates: `controller: true, blockOwnerDeletion: true`, so
/// that a foreground delete of the owner waits for it.
pub fn controller_ref<K: Resource<DynamicType = ()>>(owner: &K) -> OwnerReference {
    OwnerReference {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name: owner.meta().name.clone().unwrap_or_default(),
        uid: owner.meta().uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Sets the owner references of the object `meta` describes, conditional on the version they were decided from;
/// an object gone meanwhile needs nothing.
pub async fn set_owner_references<K, R>(api: &Api<K>, meta: &ObjectMeta, refs: &[R]) -> Result<()>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
    R: Serialize,
{
    let body = json!({"metadata": {"resourceVersion": meta.resource_version, "ownerReferences": refs}});
    let name = meta.name.as_deref().unwrap_or_default();
    match api.patch(name, &PatchParams::default(), &Patch::Merge(body)).await {
        Ok(_) => Ok(()),
        Err(e) if is_status(&e, 404) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The owner references of `meta` with `uid` removed, or `None` when there was none with that uid.
pub fn without_owner(meta: &ObjectMeta, uid: &str) -> Option<Vec<OwnerReference>> {
    let refs = meta.owner_references.as_deref().unwrap_or_default();
    refs.iter().any(|r| r.uid == uid).then(|| refs.iter().filter(|r| r.uid != uid).cloned().collect())
}

/// How a controller's selector splits the objects of its namespace (Kubernetes' `ClaimObjects`).
#[derive(Debug)]
pub struct Claim<'a, K> {
    /// Objects it controls and keeps: controlled and matching, plus the adopted ones.
    pub owned: Vec<&'a K>,
    /// Orphans that match, to adopt (they are also in `owned`).
    pub adopt: Vec<String>,
    /// Controlled objects that no longer match, to release.
    pub release: Vec<String>,
}

/// Splits `objects` for the controller with `uid` and `selector`. A controller being deleted adopts and
/// releases nothing (what it controls stays with it until the garbage collector acts); an empty selector
/// adopts nothing, since it would take the whole namespace.
pub fn claim<'a, K: Resource>(
    uid: &str,
    selector: &api::selector::LabelSelector,
    owner_deleting: bool,
    objects: impl IntoIterator<Item = &'a K>,
) -> Claim<'a, K> {
    let mut claim = Claim { owned: Vec::new(), adopt: Vec::new(), release: Vec::new() };
    for object in objects {
        let meta = object.meta();
        let matches = selector.matches_optional(meta.labels.as_ref());
        let name = meta.name.clone().unwrap_or_default();
        match controller_of(meta) {
            Some(r) if r.uid == uid => {
                if matches || owner_deleting {
                    claim.owned.push(object);
                } else {
                    claim.release.push(name);
                }
            }
            None if matches
                && !owner_deleting
                && !selector.is_empty()
                && meta.deletion_timestamp.is_none() =>
            {
                claim.adopt.push(name);
                claim.owned.push(object);
            }
            _ => {}
        }
    }
    claim
}

/// The owners of kind `K` a pod change concerns: its controller when that is a `K`, or, for an orphan, every `K`
/// in its namespace whose (non-empty) selector matches it, since one of them may adopt it.
pub fn owners_of_pod<K>(
    owners: &kube::runtime::reflector::Store<K>,
    pod: &k8s_openapi::api::core::v1::Pod,
    selector: impl Fn(&K) -> Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
) -> Vec<kube::runtime::reflector::ObjectRef<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    use kube::ResourceExt;
    use kube::runtime::reflector::ObjectRef;
    let namespace = pod.namespace().unwrap_or_default();
    if let Some(owner) = controller_of(&pod.metadata) {
        if owner.kind == K::kind(&()) {
            return vec![ObjectRef::new(&owner.name).within(&namespace)];
        }
        return Vec::new();
    }
    owners
        .state_filter(|candidate| {
            candidate.namespace().as_deref() == Some(namespace.as_str())
                && selector(candidate).is_some_and(|selector| {
                    api::selector::LabelSelector::from_k8s(selector)
                        .is_ok_and(|s| !s.is_empty() && s.matches_optional(pod.metadata.labels.as_ref()))
                })
        })
        .iter()
        .map(|owner| ObjectRef::from_obj(owner.as_ref()))
        .collect()
}
