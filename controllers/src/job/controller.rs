//! The Job loop: applies [`plan`](super::plan) through the API.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, PostParams, Preconditions, PropagationPolicy};
use kube::runtime::controller::Action;
use kube::runtime::reflector::Store;
use kube::{Api, Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use super::plan::{self, Backoff, Plan};
use super::pod;
use crate::error::{Result, is_status};
use crate::expectations::Expectations;
use crate::harness;
use crate::informer::Informer;
use crate::pod_writes;
use events::Recorder;

/// The component named in its Events and logs.
const COMPONENT: &str = "job-controller";
/// How often an unfinished Job is looked at anyway.
const RESYNC: Duration = Duration::from_secs(300);

struct Context {
    client: Client,
    pods: Store<Pod>,
    expectations: Arc<Expectations>,
    events: Recorder,
    backoff: Backoff,
}

/// Runs the Job controller until `stop`.
pub async fn run(
    client: Client,
    jobs: &Informer<Job>,
    pods: &Informer<Pod>,
    backoff: Backoff,
    stop: CancellationToken,
) {
    let expectations = Arc::new(Expectations::default());
    let observer = expectations.clone();
    let context = Arc::new(Context {
        client: client.clone(),
        pods: pods.store(),
        expectations,
        events: Recorder::start(client, events::Source { component: COMPONENT.to_owned(), host: None }),
        backoff,
    });
    let controller = pod_writes::controller_for_pod_owners(jobs, pods, observer, |job| {
        job.spec.as_ref().and_then(|s| s.selector.as_ref())
    });
    harness::run(COMPONENT, controller, stop, reconcile, context).await;
}

async fn reconcile(job: Arc<Job>, ctx: Arc<Context>) -> Result<Action> {
    let namespace = job.namespace().unwrap_or_default();
    let uid = job.uid().unwrap_or_default();
    let pods: Vec<Arc<Pod>> =
        ctx.pods.state_filter(|p| p.metadata.namespace.as_deref() == Some(namespace.as_str()));
    let manage = ctx.expectations.satisfied(&uid, &pods);
    let plan = plan::plan(plan::Input {
        job: &job,
        pods: &pods,
        manage,
        now: Timestamp::now(),
        backoff: ctx.backoff,
    })?;
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &namespace);
    if plan.delete_job {
        // As Kubernetes' TTL-after-finished controller: foreground, so the pods go before the Job.
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Foreground),
            preconditions: Some(Preconditions { uid: Some(uid), resource_version: None }),
            ..DeleteParams::default()
        };
        match jobs.delete(&job.name_any(), &params).await {
            Err(e) if is_status(&e, 404) || is_status(&e, 409) => {}
            other => {
                other?;
            }
        }
        return Ok(Action::await_change());
    }
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
    let by_name: HashMap<&str, &Arc<Pod>> =
        pods.iter().filter_map(|p| Some((p.metadata.name.as_deref()?, p))).collect();
    pod_writes::adopt_and_release(&*job, &api, &plan.adopt, &plan.release, &by_name).await?;
    if !plan.delete.is_empty() {
        let books = pod_writes::Bookkeeping { expectations: &ctx.expectations, events: &ctx.events };
        pod_writes::delete(&books, &*job, &api, &plan.delete, &by_name).await?;
    }
    if !plan.create.is_empty() {
        create_pods(&ctx, &job, &api, &plan.create).await?;
    }
    write_status(&ctx, &job, &jobs, &plan).await?;
    Ok(Action::requeue(plan.recheck_after.map_or(RESYNC, |d| d + Duration::from_millis(100))))
}

/// Writes the planned status when it differs, conditional on the version it was decided from, then records
/// the plan's events: a conflict means another reconcile decides (and records) again.
async fn write_status(ctx: &Context, job: &Job, jobs: &Api<Job>, plan: &Plan) -> Result<()> {
    if job.status.as_ref() == Some(&plan.status) {
        return Ok(());
    }
    // A full replace, not a merge patch: fields the plan clears (startTime on suspension) must go.
    let mut updated = job.clone();
    updated.status = Some(plan.status.clone());
    match jobs.replace_status(&job.name_any(), &PostParams::default(), &updated).await {
        Err(e) if is_status(&e, 404) => return Ok(()),
        other => {
            other?;
        }
    }
    for note in &plan.notes {
        if note.warning {
            ctx.events.warning(job, note.reason, note.message.clone());
        } else {
            ctx.events.normal(job, note.reason, note.message.clone());
        }
    }
    Ok(())
}

async fn create_pods(ctx: &Context, job: &Job, api: &Api<Pod>, indexes: &[Option<i32>]) -> Result<()> {
    let books = pod_writes::Bookkeeping { expectations: &ctx.expectations, events: &ctx.events };
    let pods = indexes.iter().map(|index| (pod::for_job(job, *index), None)).collect();
    pod_writes::create(&books, job, api, pods).await
}
