//! What every workload controller that owns pods does alike: its kube-runtime wiring (woken by its objects and
//! their pods), adopting and releasing pods, and creating and deleting them with bounded concurrency, the
//! expectations recorded so a stale cache cannot cause duplicates, and the SuccessfulCreate, FailedCreate and
//! SuccessfulDelete events Kubernetes' controllers record.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use futures::{StreamExt, stream};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{DeleteParams, PostParams, Preconditions};
use kube::runtime::Controller;
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use crate::error::{Result, is_status};
use crate::expectations::Expectations;
use crate::informer::Informer;
use crate::owners;
use events::Recorder;

/// How many pod writes one reconcile keeps in flight.
const WRITES_IN_FLIGHT: usize = 32;

/// What the writes record into.
pub struct Bookkeeping<'a> {
    /// Creations and deletions the cache has not shown yet.
    pub expectations: &'a Expectations,
    /// Events about the owner.
    pub events: &'a Recorder,
}

/// A kube-runtime controller for a kind that owns pods (ReplicaSet, Job, DaemonSet): woken by changes of its
/// objects and of the pods they own or could adopt, every pod change being shown to `expectations` first.
pub fn controller_for_pod_owners<K>(
    owners: &Informer<K>,
    pods: &Informer<Pod>,
    expectations: Arc<Expectations>,
    selector: fn(&K) -> Option<&LabelSelector>,
) -> Controller<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let store = owners.store();
    Controller::for_shared_stream(owners.subscribe(), owners.store()).watches_shared_stream(
        pods.subscribe(),
        move |pod: Arc<Pod>| {
            expectations.observe(&pod);
            owners::owners_of_pod(&store, &pod, selector)
        },
    )
}

/// Creates `pods` for `owner`; each comes with the node it is for, when there is one, for the event message.
pub async fn create<K>(
    books: &Bookkeeping<'_>,
    owner: &K,
    api: &Api<Pod>,
    pods: Vec<(Pod, Option<String>)>,
) -> Result<()>
where
    K: Resource<DynamicType = ()>,
{
    let uid = owner.uid().unwrap_or_default();
    books.expectations.expect(&uid);
    let params = PostParams::default();
    let results: Vec<(Option<String>, Result<Pod, kube::Error>)> = stream::iter(pods)
        .map(|(pod, node)| {
            let params = &params;
            async move { (node, api.create(params, &pod).await) }
        })
        .buffer_unordered(WRITES_IN_FLIGHT)
        .collect()
        .await;
    let mut created = Vec::new();
    let mut failure = None;
    for (node, result) in results {
        match result {
            Ok(pod) => created.push((pod.name_any(), node)),
            Err(e) => failure = Some(e),
        }
    }
    books.expectations.created(&uid, created.iter().map(|(name, _)| name.clone()));
    for (name, node) in &created {
        let message = match node {
            Some(node) => format!("Created pod: {name} on node {node}"),
            None => format!("Created pod: {name}"),
        };
        books.events.normal(owner, "SuccessfulCreate", message);
    }
    if let Some(error) = failure {
        books.events.warning(owner, "FailedCreate", format!("Error creating: {error}"));
        return Err(error.into());
    }
    Ok(())
}

/// Adopts the named orphans (adding `owner` as their controller) and releases the named pods that stopped
/// matching (removing its reference), as the owner's plan decided.
pub async fn adopt_and_release<K>(
    owner: &K,
    api: &Api<Pod>,
    adopt: &[String],
    release: &[String],
    pods: &HashMap<&str, &Arc<Pod>>,
) -> Result<()>
where
    K: Resource<DynamicType = ()>,
{
    let uid = owner.uid().unwrap_or_default();
    for pod in adopt.iter().filter_map(|name| pods.get(name.as_str())) {
        let mut refs = pod.metadata.owner_references.clone().unwrap_or_default();
        refs.push(owners::controller_ref(owner));
        owners::set_owner_references(api, &pod.metadata, &refs).await?;
    }
    for pod in release.iter().filter_map(|name| pods.get(name.as_str())) {
        if let Some(refs) = owners::without_owner(&pod.metadata, &uid) {
            owners::set_owner_references(api, &pod.metadata, &refs).await?;
        }
    }
    Ok(())
}

/// Deletes the named pods of `owner`, each only if it is still the pod the decision was made about (uid
/// precondition); a pod already gone counts as deleted.
pub async fn delete<K>(
    books: &Bookkeeping<'_>,
    owner: &K,
    api: &Api<Pod>,
    names: &[String],
    pods: &HashMap<&str, &Arc<Pod>>,
) -> Result<()>
where
    K: Resource<DynamicType = ()>,
{
    let uid = owner.uid().unwrap_or_default();
    books.expectations.expect(&uid);
    books.expectations.deleted(&uid, names.iter().cloned());
    let results: Vec<(String, Result<(), kube::Error>)> = stream::iter(names.iter().cloned())
        .map(|name| {
            let params = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: pods.get(name.as_str()).and_then(|p| p.metadata.uid.clone()),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            async move {
                let result = match api.delete(&name, &params).await {
                    Ok(_) => Ok(()),
                    Err(e) if is_status(&e, 404) => Ok(()),
                    Err(e) => Err(e),
                };
                (name, result)
            }
        })
        .buffer_unordered(WRITES_IN_FLIGHT)
        .collect()
        .await;
    let mut failure = None;
    for (name, result) in results {
        match result {
            Ok(()) => books.events.normal(owner, "SuccessfulDelete", format!("Deleted pod: {name}")),
            Err(e) => failure = Some(e),
        }
    }
    failure.map_or(Ok(()), |e| Err(e.into()))
}
