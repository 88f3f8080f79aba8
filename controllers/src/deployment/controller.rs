//! The Deployment loop: adopts ReplicaSets and applies [`plan`](super::plan) steps through the API.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::plan::{self, Plan};
use crate::error::{Result, is_status};
use crate::harness;
use crate::hash;
use crate::informer::Informer;
use crate::owners;
use crate::pods;
use events::Recorder;

/// The component named in its Events and logs.
const COMPONENT: &str = "deployment-controller";
/// How often a settled Deployment is looked at anyway.
const RESYNC: Duration = Duration::from_secs(300);

struct Context {
    client: Client,
    sets: Store<ReplicaSet>,
    pods: Store<Pod>,
    events: Recorder,
}

/// Runs the Deployment controller until `stop`.
pub async fn run(
    client: Client,
    deployments: &Informer<Deployment>,
    sets: &Informer<ReplicaSet>,
    pods: &Informer<Pod>,
    stop: CancellationToken,
) {
    let deployment_store = deployments.store();
    let deployment_store_for_pods = deployments.store();
    let set_store = sets.store();
    let context = Arc::new(Context {
        client: client.clone(),
        sets: sets.store(),
        pods: pods.store(),
        events: Recorder::start(client, events::Source { component: COMPONENT.to_owned(), host: None }),
    });
    let controller = Controller::for_shared_stream(deployments.subscribe(), deployments.store())
        .watches_shared_stream(sets.subscribe(), move |rs: Arc<ReplicaSet>| {
            deployments_of(&deployment_store, &rs)
        })
        // Recreate waits for the old pods to stop: their deletions wake the Deployment.
        .watches_shared_stream(pods.subscribe(), move |pod: Arc<Pod>| {
            let namespace = pod.namespace().unwrap_or_default();
            owners::controller_of(&pod.metadata)
                .filter(|o| o.kind == "ReplicaSet")
                .and_then(|o| set_store.get(&ObjectRef::new(&o.name).within(&namespace)))
                .map(|rs| deployments_of(&deployment_store_for_pods, &rs))
                .unwrap_or_default()
        });
    harness::run(COMPONENT, controller, stop, reconcile, context).await;
}

/// The Deployments a ReplicaSet change concerns: its controller, or for an orphan those that select it.
fn deployments_of(deployments: &Store<Deployment>, rs: &ReplicaSet) -> Vec<ObjectRef<Deployment>> {
    let namespace = rs.namespace().unwrap_or_default();
    if let Some(owner) = owners::controller_of(&rs.metadata) {
        if owner.kind == "Deployment" {
            return vec![ObjectRef::new(&owner.name).within(&namespace)];
        }
        return Vec::new();
    }
    deployments
        .state_filter(|d| {
            d.namespace().as_deref() == Some(namespace.as_str())
                && api::selector::LabelSelector::from_k8s(&d.spec.selector)
                    .is_ok_and(|s| !s.is_empty() && s.matches_optional(rs.metadata.labels.as_ref()))
        })
        .iter()
        .map(|d| ObjectRef::from_obj(d.as_ref()))
        .collect()
}

async fn reconcile(d: Arc<Deployment>, ctx: Arc<Context>) -> Result<Action> {
    let namespace = d.namespace().unwrap_or_default();
    let uid = d.uid().unwrap_or_default();
    let sets_api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), &namespace);
    let in_namespace = ctx.sets.state_filter(|rs| rs.namespace().as_deref() == Some(namespace.as_str()));
    let selector = api::selector::LabelSelector::from_k8s(&d.spec.selector)
        .unwrap_or_else(|_| api::selector::LabelSelector::nothing());
    let deleting = d.metadata.deletion_timestamp.is_some();
    let claim = owners::claim(&uid, &selector, deleting, in_namespace.iter().map(AsRef::as_ref));
    for name in &claim.adopt {
        let Some(rs) = in_namespace.iter().find(|rs| rs.metadata.name.as_deref() == Some(name)) else {
            continue;
        };
        let mut refs = rs.metadata.owner_references.clone().unwrap_or_default();
        refs.push(owners::controller_ref(d.as_ref()));
        owners::set_owner_references(&sets_api, &rs.metadata, &refs).await?;
    }
    for name in &claim.release {
        let Some(rs) = in_namespace.iter().find(|rs| rs.metadata.name.as_deref() == Some(name)) else {
            continue;
        };
        if let Some(refs) = owners::without_owner(&rs.metadata, &uid) {
            owners::set_owner_references(&sets_api, &rs.metadata, &refs).await?;
        }
    }
    if !claim.adopt.is_empty() || !claim.release.is_empty() {
        // Decide again once the cache shows the new ownership.
        return Ok(Action::requeue(Duration::from_millis(50)));
    }
    let owned: Vec<Arc<ReplicaSet>> =
        in_namespace.iter().filter(|rs| owners::is_controlled_by(&rs.metadata, &uid)).cloned().collect();
    let old_pods_running = old_pods_running(&ctx, &d, &owned, &namespace);
    let plan = plan::plan(plan::Input {
        deployment: &d,
        replica_sets: &owned,
        old_pods_running,
        now: Timestamp::now(),
    })?;
    apply(&ctx, &d, &sets_api, &plan).await
}

/// Whether pods of ReplicaSets that do not run the current template still run.
fn old_pods_running(ctx: &Context, d: &Deployment, owned: &[Arc<ReplicaSet>], namespace: &str) -> bool {
    let old: Vec<&str> = owned
        .iter()
        .filter(|rs| {
            !rs.spec.template.as_ref().is_some_and(|t| hash::equal_ignoring_hash(t, &d.spec.template))
        })
        .filter_map(|rs| rs.metadata.uid.as_deref())
        .collect();
    !old.is_empty()
        && !ctx
            .pods
            .state_filter(|p| {
                p.namespace().as_deref() == Some(namespace)
                    && !pods::is_finished(p)
                    && owners::controller_of(&p.metadata).is_some_and(|o| old.contains(&o.uid.as_str()))
            })
            .is_empty()
}

async fn apply(ctx: &Context, d: &Deployment, sets_api: &Api<ReplicaSet>, plan: &Plan) -> Result<Action> {
    let deployments: Api<Deployment> =
        Api::namespaced(ctx.client.clone(), &d.namespace().unwrap_or_default());
    if let Some(rs) = &plan.create {
        match sets_api.create(&PostParams::default(), rs).await {
            Ok(_) => {}
            Err(e) if is_status(&e, 409) => return collision(ctx, d, sets_api, &deployments, rs).await,
            Err(e) => return Err(e.into()),
        }
    }
    for update in &plan.updates {
        let mut spec = serde_json::Map::new();
        if let Some(replicas) = update.replicas {
            spec.insert("replicas".into(), json!(replicas));
        }
        if let Some(seconds) = update.min_ready_seconds {
            spec.insert("minReadySeconds".into(), json!(seconds));
        }
        let mut metadata = json!({"resourceVersion": update.resource_version});
        if let Some(annotations) = &update.annotations {
            metadata["annotations"] = json!(annotations);
        }
        let body = json!({"metadata": metadata, "spec": spec});
        sets_api.patch(&update.name, &PatchParams::default(), &Patch::Merge(body)).await?;
    }
    for note in &plan.notes {
        ctx.events.normal(d, note.reason, note.message.clone());
    }
    for (name, uid) in &plan.delete {
        let params = DeleteParams {
            preconditions: Some(Preconditions { uid: Some(uid.clone()), resource_version: None }),
            ..DeleteParams::default()
        };
        match sets_api.delete(name, &params).await {
            Ok(_) => {}
            Err(e) if is_status(&e, 404) || is_status(&e, 409) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let name = d.name_any();
    if let Some(revision) = &plan.revision {
        let body = json!({"metadata": {"annotations": {super::revision::REVISION: revision}}});
        deployments.patch(&name, &PatchParams::default(), &Patch::Merge(body)).await?;
    }
    if d.status.as_ref() != Some(&plan.status) {
        let body = json!({"status": plan.status});
        match deployments.patch_status(&name, &PatchParams::default(), &Patch::Merge(body)).await {
            Err(e) if is_status(&e, 404) => {}
            other => {
                other?;
            }
        }
    }
    Ok(Action::requeue(plan.requeue_after.unwrap_or(RESYNC)))
}

/// The ReplicaSet name is taken. If it is ours with the same template, the cache was behind; otherwise the
/// hash collided, and the Deployment's `collisionCount` changes the next name (as in Kubernetes).
async fn collision(
    ctx: &Context,
    d: &Deployment,
    sets_api: &Api<ReplicaSet>,
    deployments: &Api<Deployment>,
    wanted: &ReplicaSet,
) -> Result<Action> {
    let existing = sets_api.get_opt(&wanted.name_any()).await?;
    let ours = existing.as_ref().is_some_and(|rs| {
        owners::is_controlled_by(&rs.metadata, &d.uid().unwrap_or_default())
            && rs.spec.template.as_ref().is_some_and(|t| hash::equal_ignoring_hash(t, &d.spec.template))
    });
    if !ours {
        let count = d.status.as_ref().and_then(|s| s.collision_count).unwrap_or(0).saturating_add(1);
        let body = json!({"status": {"collisionCount": count}});
        deployments.patch_status(&d.name_any(), &PatchParams::default(), &Patch::Merge(body)).await?;
        ctx.events.warning(
            d,
            "ReplicaSetCollision",
            format!("hash collision on replica set {}", wanted.name_any()),
        );
    }
    Ok(Action::requeue(Duration::from_millis(50)))
}
