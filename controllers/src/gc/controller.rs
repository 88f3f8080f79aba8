//! The garbage collector's loop: one kube-runtime controller per collected kind, each deciding with
//! [`plan`](super::plan) for its objects as dependents and as owners.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, Preconditions,
};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::plan::{self, AsDependent, AsOwner, DependentRef, Owner, Propagation};
use crate::error::{Result, is_status};
use crate::harness;
use crate::informer::Informer;
use crate::owners;

/// What the collector caches of each object: its metadata, which is all it reads (owner references, finalizers,
/// deletion), watched with metadata-only requests as Kubernetes' garbage collector does.
type Meta = PartialObjectMeta<DynamicObject>;

/// How often every object is looked at anyway, for owners of kinds that are not watched.
const RESYNC: Duration = Duration::from_secs(600);

/// The kinds the collector watches: (group, version, kind, plural, namespaced).
const KINDS: [(&str, &str, &str, &str, bool); 11] = [
    ("", "v1", "Pod", "pods", true),
    ("apps", "v1", "ReplicaSet", "replicasets", true),
    ("apps", "v1", "Deployment", "deployments", true),
    ("apps", "v1", "DaemonSet", "daemonsets", true),
    ("batch", "v1", "Job", "jobs", true),
    ("", "v1", "ConfigMap", "configmaps", true),
    ("", "v1", "Secret", "secrets", true),
    ("", "v1", "Service", "services", true),
    ("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true),
    ("coordination.k8s.io", "v1", "Lease", "leases", true),
    ("", "v1", "Node", "nodes", false),
];

/// One watched kind.
struct Kind {
    resource: ApiResource,
    namespaced: bool,
    informer: Informer<Meta>,
}

impl Kind {
    fn api(&self, client: &Client, namespace: Option<&str>) -> Api<DynamicObject> {
        match namespace.filter(|_| self.namespaced) {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &self.resource),
            None => Api::all_with(client.clone(), &self.resource),
        }
    }

    fn is(&self, api_version: &str, kind: &str) -> bool {
        self.resource.api_version == api_version && self.resource.kind == kind
    }
}

struct Context {
    client: Client,
    kinds: Vec<Arc<Kind>>,
    /// The kind this controller collects (an index into `kinds`).
    own: usize,
}

/// Starts the informers and runs one controller per kind until `stop`.
pub async fn run(client: Client, tracker: &TaskTracker, stop: CancellationToken) {
    let kinds: Vec<Arc<Kind>> = KINDS
        .iter()
        .map(|(group, version, kind, plural, namespaced)| {
            let gvk = GroupVersionKind::gvk(group, version, kind);
            let resource = ApiResource::from_gvk_with_plural(&gvk, plural);
            let api = Api::<Meta>::all_with(client.clone(), &resource);
            let informer = Informer::start_with(api, resource.clone(), tracker, &stop);
            Arc::new(Kind { resource, namespaced: *namespaced, informer })
        })
        .collect();
    for kind in &kinds {
        kind.informer.ready().await;
    }
    let mut controllers = FuturesUnordered::new();
    for own in 0..kinds.len() {
        let kind = &kinds[own];
        let mut controller = Controller::for_shared_stream_with(
            kind.informer.subscribe(),
            kind.informer.store(),
            kind.resource.clone(),
        );
        for other in &kinds {
            let store = kind.informer.store();
            let resource = kind.resource.clone();
            controller = controller.watches_shared_stream_with(
                other.informer.subscribe(),
                move |object: Arc<Meta>| related(&store, &resource, &object),
                other.resource.clone(),
            );
        }
        let context = Arc::new(Context { client: client.clone(), kinds: kinds.clone(), own });
        let name = format!("garbage-collector/{}", kind.resource.plural);
        controllers.push(harness::run(name, controller, stop.clone(), reconcile, context));
    }
    while controllers.next().await.is_some() {}
}

/// The objects of the controller's kind (in `store`) that a change of `object` concerns: its owners of that
/// kind (a dependent changed or went away), and, when it is gone or going, its dependents of that kind.
fn related(store: &Store<Meta>, resource: &ApiResource, object: &Meta) -> Vec<ObjectRef<Meta>> {
    let namespace = object.namespace();
    let mut refs: Vec<ObjectRef<Meta>> = object
        .owner_references()
        .iter()
        .filter(|r| r.api_version == resource.api_version && r.kind == resource.kind)
        .map(|r| {
            let owner = ObjectRef::new_with(&r.name, resource.clone());
            match &namespace {
                Some(ns) => owner.within(ns),
                None => owner,
            }
        })
        .collect();
    let uid = object.uid().unwrap_or_default();
    if !uid.is_empty() {
        refs.extend(
            store
                .state_filter(|o| o.owner_references().iter().any(|r| r.uid == uid))
                .iter()
                .map(|o| ObjectRef::from_obj_with(o.as_ref(), resource.clone())),
        );
    }
    refs
}

async fn reconcile(object: Arc<Meta>, ctx: Arc<Context>) -> Result<Action> {
    let kind = &ctx.kinds[ctx.own];
    let namespace = object.namespace();
    let api = kind.api(&ctx.client, namespace.as_deref());
    let name = object.name_any();
    if object.metadata.deletion_timestamp.is_some() {
        let dependents = dependents_of(&ctx, &object);
        let refs: Vec<DependentRef> = dependents
            .iter()
            .enumerate()
            .map(|(index, (_, dep))| DependentRef {
                index,
                blocking: dep.owner_references().iter().any(|r| {
                    Some(&r.uid) == object.metadata.uid.as_ref() && r.block_owner_deletion == Some(true)
                }),
                deleting: dep.metadata.deletion_timestamp.is_some(),
            })
            .collect();
        match plan::as_owner(&object.metadata, &refs) {
            AsOwner::Nothing => {}
            AsOwner::Orphan(list) => {
                let uid = object.uid().unwrap_or_default();
                for r in list {
                    let (dep_kind, dep) = &dependents[r.index];
                    let dep_api = dep_kind.api(&ctx.client, dep.namespace().as_deref());
                    let remaining: Vec<&OwnerReference> =
                        dep.owner_references().iter().filter(|o| o.uid != uid).collect();
                    owners::set_owner_references(&dep_api, &dep.metadata, &remaining).await?;
                }
                return Ok(Action::requeue(Duration::from_millis(50)));
            }
            AsOwner::DeleteDependents(list) => {
                for r in list {
                    let (dep_kind, dep) = &dependents[r.index];
                    let dep_api = dep_kind.api(&ctx.client, dep.namespace().as_deref());
                    let propagation = if dependents_of(&ctx, dep).is_empty() {
                        Propagation::Background
                    } else {
                        Propagation::Foreground
                    };
                    delete(&dep_api, dep, propagation).await?;
                }
                return Ok(Action::requeue(RESYNC));
            }
            AsOwner::RemoveFinalizer(finalizer) => {
                let remaining: Vec<&String> =
                    object.finalizers().iter().filter(|f| *f != finalizer).collect();
                let body = json!({"metadata": {"resourceVersion": object.metadata.resource_version, "finalizers": remaining}});
                match api.patch(&name, &PatchParams::default(), &Patch::Merge(body)).await {
                    Ok(_) => {}
                    Err(e) if is_status(&e, 404) => {}
                    Err(e) => return Err(e.into()),
                }
                return Ok(Action::await_change());
            }
        }
    }
    if object.owner_references().is_empty() {
        return Ok(Action::requeue(RESYNC));
    }
    let mut owners = HashMap::new();
    for r in object.owner_references() {
        owners.insert(r.uid.clone(), owner_state(&ctx, namespace.as_deref(), r).await?);
    }
    // Finding dependents scans every cache: only done when an owner waits for this object to go.
    let has_dependents = || !dependents_of(&ctx, &object).is_empty();
    match plan::as_dependent(
        &object.metadata,
        |r| owners.get(&r.uid).copied().unwrap_or(Owner::Present),
        has_dependents,
    ) {
        AsDependent::Keep => {}
        AsDependent::DropReferences(uids) => {
            let remaining: Vec<&OwnerReference> =
                object.owner_references().iter().filter(|r| !uids.contains(&r.uid)).collect();
            owners::set_owner_references(&api, &object.metadata, &remaining).await?;
        }
        AsDependent::Delete(propagation) => delete(&api, &object, propagation).await?,
    }
    Ok(Action::requeue(RESYNC))
}

/// Every watched object that has `owner` among its owner references, with its kind.
fn dependents_of(ctx: &Context, owner: &Meta) -> Vec<(Arc<Kind>, Arc<Meta>)> {
    let Some(uid) = owner.uid() else { return Vec::new() };
    ctx.kinds
        .iter()
        .flat_map(|kind| {
            kind.informer
                .store()
                .state_filter(|o| o.owner_references().iter().any(|r| r.uid == uid))
                .into_iter()
                .map(|o| (kind.clone(), o))
        })
        .collect()
}

/// What an owner reference points at. The cache answers when it shows the owner; when it does not, the API
/// server is asked, since a new owner may not have reached the cache yet. Owners of kinds that are not
/// watched count as present: the collector never deletes what it cannot check.
async fn owner_state(ctx: &Context, namespace: Option<&str>, r: &OwnerReference) -> Result<Owner> {
    let Some(kind) = ctx.kinds.iter().find(|k| k.is(&r.api_version, &r.kind)) else {
        return Ok(Owner::Present);
    };
    let key = ObjectRef::new_with(&r.name, kind.resource.clone());
    let key = match namespace.filter(|_| kind.namespaced) {
        Some(ns) => key.within(ns),
        None => key,
    };
    let cached = kind.informer.store().get(&key);
    let owner = match cached {
        Some(owner) if owner.metadata.uid.as_deref() == Some(r.uid.as_str()) => Some(owner.metadata.clone()),
        _ => kind.api(&ctx.client, namespace).get_opt(&r.name).await?.map(|o| o.metadata),
    };
    Ok(match owner {
        Some(o) if o.uid.as_deref() == Some(r.uid.as_str()) => {
            if o.deletion_timestamp.is_some() && plan::has_finalizer(&o, plan::FOREGROUND) {
                Owner::WaitingForDependents
            } else {
                Owner::Present
            }
        }
        _ => Owner::Absent,
    })
}

async fn delete(api: &Api<DynamicObject>, object: &Meta, propagation: Propagation) -> Result<()> {
    let params = DeleteParams {
        preconditions: Some(Preconditions { uid: object.metadata.uid.clone(), resource_version: None }),
        propagation_policy: Some(match propagation {
            Propagation::Background => kube::api::PropagationPolicy::Background,
            Propagation::Foreground => kube::api::PropagationPolicy::Foreground,
            Propagation::Orphan => kube::api::PropagationPolicy::Orphan,
        }),
        ..DeleteParams::default()
    };
    match api.delete(&object.name_any(), &params).await {
        Ok(_) => Ok(()),
        // Gone already, or a new object took the name: either way nothing to collect.
        Err(e) if is_status(&e, 404) || is_status(&e, 409) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
