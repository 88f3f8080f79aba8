//! The ServiceLB loop: keeps the ingress of served LoadBalancer Services equal to the Ready nodes' addresses.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Service};
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::plan;
use crate::error::{Result, is_status};
use crate::harness;
use crate::informer::Informer;

/// The component named in its logs.
const COMPONENT: &str = "service-lb-controller";
/// How often a settled Service is looked at anyway.
const RESYNC: Duration = Duration::from_secs(300);

struct Context {
    client: Client,
    nodes: Store<Node>,
}

/// Runs the ServiceLB controller until `stop`.
pub async fn run(
    client: Client,
    services: &Informer<Service>,
    nodes: &Informer<Node>,
    stop: CancellationToken,
) {
    let context = Arc::new(Context { client, nodes: nodes.store() });
    let service_store = services.store();
    // A node's readiness or address changes every served Service's ingress.
    let controller = Controller::for_shared_stream(services.subscribe(), services.store())
        .watches_shared_stream(nodes.subscribe(), move |_node: Arc<Node>| {
            service_store
                .state_filter(plan::served)
                .iter()
                .map(|s| ObjectRef::from_obj(s.as_ref()))
                .collect::<Vec<_>>()
        });
    harness::run(COMPONENT, controller, stop, reconcile, context).await;
}

async fn reconcile(service: Arc<Service>, ctx: Arc<Context>) -> Result<Action> {
    if !plan::served(&service) {
        return Ok(Action::await_change());
    }
    let nodes = ctx.nodes.state();
    let ingress = plan::ingress(nodes.iter().map(AsRef::as_ref));
    let current =
        service.status.as_ref().and_then(|s| s.load_balancer.as_ref()).and_then(|l| l.ingress.clone());
    if current.unwrap_or_default() != ingress {
        let api: Api<Service> = Api::namespaced(ctx.client.clone(), &service.namespace().unwrap_or_default());
        let body = json!({"status": {"loadBalancer": {"ingress": ingress}}});
        match api.patch_status(&service.name_any(), &PatchParams::default(), &Patch::Merge(body)).await {
            Err(e) if is_status(&e, 404) => {}
            other => {
                other?;
            }
        }
    }
    Ok(Action::requeue(RESYNC))
}
