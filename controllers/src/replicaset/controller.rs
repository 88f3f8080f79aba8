//! The ReplicaSet loop: applies [`plan`](super::plan) through the API.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::Store;
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::plan;
use crate::error::{Result, is_status};
use crate::expectations::Expectations;
use crate::harness;
use crate::informer::Informer;
use crate::{owners, pod_writes};
use events::Recorder;

/// The component named in its Events and logs.
const COMPONENT: &str = "replicaset-controller";
/// How often a settled ReplicaSet is looked at anyway.
const RESYNC: Duration = Duration::from_secs(300);

struct Context {
    client: Client,
    pods: Store<Pod>,
    expectations: Arc<Expectations>,
    events: Recorder,
}

/// Runs the ReplicaSet controller until `stop`.
pub async fn run(client: Client, sets: &Informer<ReplicaSet>, pods: &Informer<Pod>, stop: CancellationToken) {
    let expectations = Arc::new(Expectations::default());
    let observer = expectations.clone();
    let context = Arc::new(Context {
        client: client.clone(),
        pods: pods.store(),
        expectations,
        events: Recorder::start(client, events::Source { component: COMPONENT.to_owned(), host: None }),
    });
    let controller =
        pod_writes::controller_for_pod_owners(sets, pods, observer, |rs| Some(&rs.spec.selector));
    harness::run(COMPONENT, controller, stop, reconcile, context).await;
}

async fn reconcile(rs: Arc<ReplicaSet>, ctx: Arc<Context>) -> Result<Action> {
    let namespace = rs.namespace().unwrap_or_default();
    let uid = rs.uid().unwrap_or_default();
    let pods: Vec<Arc<Pod>> =
        ctx.pods.state_filter(|p| p.metadata.namespace.as_deref() == Some(namespace.as_str()));
    let manage = ctx.expectations.satisfied(&uid, &pods);
    let plan = plan::plan(&rs, &pods, manage, Timestamp::now())?;
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
    let by_name: HashMap<&str, &Arc<Pod>> =
        pods.iter().filter_map(|p| Some((p.metadata.name.as_deref()?, p))).collect();

    pod_writes::adopt_and_release(&*rs, &api, &plan.adopt, &plan.release, &by_name).await?;
    if plan.create > 0 {
        create_pods(&ctx, &rs, &api, plan.create).await?;
    }
    if !plan.delete.is_empty() {
        let books = pod_writes::Bookkeeping { expectations: &ctx.expectations, events: &ctx.events };
        pod_writes::delete(&books, &*rs, &api, &plan.delete, &by_name).await?;
    }
    if rs.status.as_ref() != Some(&plan.status) {
        let sets: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), &namespace);
        let body = json!({"status": plan.status});
        match sets.patch_status(&rs.name_any(), &PatchParams::default(), &Patch::Merge(body)).await {
            Err(e) if is_status(&e, 404) => {}
            other => {
                other?;
            }
        }
    }
    Ok(Action::requeue(plan.recheck_after.map_or(RESYNC, |d| d + Duration::from_millis(100))))
}

async fn create_pods(ctx: &Context, rs: &ReplicaSet, api: &Api<Pod>, count: usize) -> Result<()> {
    let template = rs.spec.template.clone().unwrap_or_default();
    let template_meta = template.metadata.unwrap_or_default();
    let pod = Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", rs.name_any())),
            namespace: rs.namespace(),
            labels: template_meta.labels,
            annotations: template_meta.annotations,
            finalizers: template_meta.finalizers,
            owner_references: Some(vec![owners::controller_ref(rs)]),
            ..ObjectMeta::default()
        },
        spec: template.spec,
        status: None,
    };
    let books = pod_writes::Bookkeeping { expectations: &ctx.expectations, events: &ctx.events };
    pod_writes::create(&books, rs, api, (0..count).map(|_| (pod.clone(), None)).collect()).await
}
