//! The EndpointSlice loop: applies [`plan`](super::plan) through the API.
//!
//! The cache can lag behind this controller's own writes; acting on a stale view would create a slice twice.
//! So each Service remembers the slices it last wrote (name and resource version) and waits until the cache
//! shows them before deciding again, as Kubernetes' `EndpointSliceTracker` does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{DeleteParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use super::plan::{self, SERVICE_NAME_LABEL};
use crate::error::{Result, is_status};
use crate::harness;
use crate::informer::Informer;

/// The component named in its logs.
const COMPONENT: &str = "endpointslice-controller";
/// How often a settled Service is looked at anyway.
const RESYNC: Duration = Duration::from_secs(300);
/// How soon a Service whose own writes the cache does not show yet is looked at again.
const STALE_RETRY: Duration = Duration::from_millis(50);

/// What a Service's last reconcile wrote: slice name to resource version (`None`: deleted).
type Written = HashMap<String, Option<String>>;
/// How long the cache may take to show a write before it is trusted anyway (someone else may have deleted the
/// slice meanwhile, and the cache will never show that version).
const TRUST_AFTER: Duration = Duration::from_secs(5);

struct Context {
    client: Client,
    pods: Store<Pod>,
    slices: Store<EndpointSlice>,
    written: Mutex<HashMap<String, (Instant, Written)>>,
}

/// Runs the EndpointSlice controller until `stop`.
pub async fn run(
    client: Client,
    services: &Informer<Service>,
    pods: &Informer<Pod>,
    slices: &Informer<EndpointSlice>,
    stop: CancellationToken,
) {
    let context = Arc::new(Context {
        client,
        pods: pods.store(),
        slices: slices.store(),
        written: Mutex::new(HashMap::new()),
    });
    let service_store = services.store();
    let slice_store = slices.store();
    let controller = Controller::for_shared_stream(services.subscribe(), services.store())
        .watches_shared_stream(pods.subscribe(), move |pod: Arc<Pod>| {
            services_of_pod(&service_store, &slice_store, &pod)
        })
        .watches_shared_stream(slices.subscribe(), |slice: Arc<EndpointSlice>| {
            let service = slice.labels().get(SERVICE_NAME_LABEL).cloned();
            service.map(|name| ObjectRef::new(&name).within(&slice.namespace().unwrap_or_default()))
        });
    harness::run(COMPONENT, controller, stop, reconcile, context).await;
}

/// The Services a pod change concerns: those selecting it now, and those whose slices still list it (its
/// labels may have changed).
fn services_of_pod(
    services: &Store<Service>,
    slices: &Store<EndpointSlice>,
    pod: &Pod,
) -> Vec<ObjectRef<Service>> {
    let namespace = pod.namespace().unwrap_or_default();
    let mut names: Vec<String> =
        services.state_filter(|s| plan::selects(s, pod)).iter().map(|s| s.name_any()).collect();
    let listed = slices.state_filter(|slice| {
        slice.namespace().as_deref() == Some(namespace.as_str())
            && plan::endpoints(slice)
                .iter()
                .any(|e| e.target_ref.as_ref().and_then(|t| t.uid.as_ref()) == pod.metadata.uid.as_ref())
    });
    names.extend(listed.iter().filter_map(|s| s.labels().get(SERVICE_NAME_LABEL).cloned()));
    names.sort();
    names.dedup();
    names.into_iter().map(|name| ObjectRef::new(&name).within(&namespace)).collect()
}

async fn reconcile(service: Arc<Service>, ctx: Arc<Context>) -> Result<Action> {
    let namespace = service.namespace().unwrap_or_default();
    let key = format!("{namespace}/{}", service.name_any());
    let slices: Vec<Arc<EndpointSlice>> = ctx.slices.state_filter(|s| plan::is_managed_for(s, &service));
    if !cache_shows(&ctx, &key, &slices) {
        return Ok(Action::requeue(STALE_RETRY));
    }
    let pods: Vec<Arc<Pod>> =
        ctx.pods.state_filter(|p| p.metadata.namespace.as_deref() == Some(namespace.as_str()));
    let plan = plan::plan(&service, &pods, &slices);
    let api: Api<EndpointSlice> = Api::namespaced(ctx.client.clone(), &namespace);
    let mut written = Written::new();
    // Every write is recorded before an error returns, so a failed reconcile does not leave the tracker blind.
    let result = apply(&api, plan, &mut written).await;
    if !written.is_empty() {
        ctx.written.lock().unwrap_or_else(PoisonError::into_inner).insert(key, (Instant::now(), written));
    }
    result?;
    Ok(Action::requeue(RESYNC))
}

async fn apply(api: &Api<EndpointSlice>, plan: plan::Plan, written: &mut Written) -> Result<()> {
    let params = PostParams::default();
    for slice in plan.update {
        let name = slice.name_any();
        match api.replace(&name, &params, &slice).await {
            Ok(done) => {
                written.insert(name, done.resource_version());
            }
            Err(e) if is_status(&e, 404) => {}
            Err(e) => return Err(e.into()),
        }
    }
    for slice in plan.create {
        let done = api.create(&params, &slice).await?;
        written.insert(done.name_any(), done.resource_version());
    }
    for name in plan.delete {
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => {
                written.insert(name, None);
            }
            Err(e) if is_status(&e, 404) => {
                written.insert(name, None);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Whether the cache shows what the Service's last reconcile wrote (and forgets it once it does).
fn cache_shows(ctx: &Context, key: &str, slices: &[Arc<EndpointSlice>]) -> bool {
    let mut written = ctx.written.lock().unwrap_or_else(PoisonError::into_inner);
    let Some((at, expected)) = written.get(key) else { return true };
    let shown = at.elapsed() > TRUST_AFTER
        || expected.iter().all(|(name, version)| {
            let cached = slices.iter().find(|s| s.metadata.name.as_deref() == Some(name.as_str()));
            match (version, cached) {
                (None, cached) => cached.is_none(),
                (Some(_), None) => false,
                (Some(version), Some(cached)) => {
                    at_least(cached.metadata.resource_version.as_deref(), version)
                }
            }
        });
    if shown {
        written.remove(key);
    }
    shown
}

/// Whether the cached resource version is the written one or newer. Resource versions are opaque in general;
/// Wharf's are increasing integers, and an unparsable one counts as current rather than stalling the Service.
fn at_least(cached: Option<&str>, written: &str) -> bool {
    match (cached.and_then(|c| c.parse::<u64>().ok()), written.parse::<u64>().ok()) {
        (Some(cached), Some(written)) => cached >= written,
        _ => true,
    }
}
