//! The node IPAM loop: gives each Node without a `spec.podCIDR` the first free range of the cluster CIDR.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ipnet::Ipv4Net;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::Store;
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::plan::{Config, Taken};
use crate::error::{Result, is_status};
use crate::harness;
use crate::informer::Informer;
use events::Recorder;

/// The component named in its Events and logs.
const COMPONENT: &str = "node-ipam-controller";
/// How long a node waits before the next try when the cluster CIDR is full.
const FULL_RETRY: Duration = Duration::from_secs(60);

struct Context {
    client: Client,
    nodes: Store<Node>,
    config: Config,
    /// Ranges given to nodes whose update the cache has not shown yet, by node name: reconciles of different
    /// nodes run at once, and must not hand out one range twice.
    given: Mutex<HashMap<String, Ipv4Net>>,
    events: Recorder,
}

/// Runs the node IPAM controller until `stop`.
pub async fn run(client: Client, nodes: &Informer<Node>, config: Config, stop: CancellationToken) {
    let context = Arc::new(Context {
        client: client.clone(),
        nodes: nodes.store(),
        config,
        given: Mutex::new(HashMap::new()),
        events: Recorder::start(client, events::Source { component: COMPONENT.to_owned(), host: None }),
    });
    let controller = Controller::for_shared_stream(nodes.subscribe(), nodes.store());
    harness::run(COMPONENT, controller, stop, reconcile, context).await;
}

async fn reconcile(node: Arc<Node>, ctx: Arc<Context>) -> Result<Action> {
    if pod_cidr(&node).is_some() {
        ctx.given.lock().unwrap_or_else(PoisonError::into_inner).remove(&node.name_any());
        return Ok(Action::await_change());
    }
    let Some(range) = choose(&ctx, &node.name_any()) else {
        let message = format!("Node {} status is now: CIDRNotAvailable", node.name_any());
        ctx.events.warning(&*node, "CIDRNotAvailable", message);
        return Ok(Action::requeue(FULL_RETRY));
    };
    let body = json!({"spec": {"podCIDR": range.to_string(), "podCIDRs": [range.to_string()]}});
    let nodes: Api<Node> = Api::all(ctx.client.clone());
    match nodes.patch(&node.name_any(), &PatchParams::default(), &Patch::Merge(body)).await {
        Ok(_) => {
            tracing::info!(node = %node.name_any(), pod_cidr = %range, "assigned the node's pod CIDR");
            Ok(Action::await_change())
        }
        // Gone, or given a range by someone else meanwhile (a podCIDR cannot change once set): the cache will
        // show which, and the range is free again.
        Err(e) if is_status(&e, 404) || is_status(&e, 422) => {
            ctx.given.lock().unwrap_or_else(PoisonError::into_inner).remove(&node.name_any());
            Ok(Action::await_change())
        }
        Err(e) => {
            ctx.given.lock().unwrap_or_else(PoisonError::into_inner).remove(&node.name_any());
            Err(e.into())
        }
    }
}

/// Picks and reserves the first free range for `name`, counting ranges nodes hold and ranges given but not yet
/// seen; the one already given to `name` when there is one.
fn choose(ctx: &Context, name: &str) -> Option<Ipv4Net> {
    let nodes = ctx.nodes.state();
    let mut given = ctx.given.lock().unwrap_or_else(PoisonError::into_inner);
    given.retain(|node, _| nodes.iter().any(|n| n.metadata.name.as_deref() == Some(node)));
    if let Some(range) = given.get(name) {
        return Some(*range);
    }
    let mut taken = Taken::default();
    for cidr in nodes.iter().filter_map(|n| pod_cidr(n)) {
        taken.insert(cidr);
    }
    for range in given.values() {
        taken.insert_net(*range);
    }
    let range = ctx.config.next_free(&taken)?;
    given.insert(name.to_owned(), range);
    Some(range)
}

/// The node's pod CIDR, when it has one.
fn pod_cidr(node: &Node) -> Option<&str> {
    let spec = node.spec.as_ref()?;
    spec.pod_cidr
        .as_deref()
        .or_else(|| spec.pod_cidrs.as_ref()?.first().map(String::as_str))
        .filter(|cidr| !cidr.is_empty())
}
