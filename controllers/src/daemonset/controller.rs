//! The DaemonSet loop: applies [`plan`](super::plan) through the API.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::PostParams;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use super::plan::{self, Plan};
use super::pod;
use crate::error::{Result, is_status};
use crate::expectations::Expectations;
use crate::harness;
use crate::informer::Informer;
use crate::pod_writes;
use events::Recorder;

/// The component named in its Events and logs.
const COMPONENT: &str = "daemonset-controller";
/// How often a DaemonSet is looked at anyway.
const RESYNC: Duration = Duration::from_secs(300);

struct Context {
    client: Client,
    pods: Store<Pod>,
    nodes: Store<Node>,
    expectations: Arc<Expectations>,
    events: Recorder,
}

/// Runs the DaemonSet controller until `stop`.
pub async fn run(
    client: Client,
    sets: &Informer<DaemonSet>,
    nodes: &Informer<Node>,
    pods: &Informer<Pod>,
    stop: CancellationToken,
) {
    let all_sets = sets.store();
    let expectations = Arc::new(Expectations::default());
    let observer = expectations.clone();
    let context = Arc::new(Context {
        client: client.clone(),
        pods: pods.store(),
        nodes: nodes.store(),
        expectations,
        events: Recorder::start(client, events::Source { component: COMPONENT.to_owned(), host: None }),
    });
    let placement = Mutex::new(HashMap::new());
    let controller =
        pod_writes::controller_for_pod_owners(sets, pods, observer, |set| Some(&set.spec.selector))
            .watches_shared_stream(nodes.subscribe(), move |node: Arc<Node>| {
                if placement_changed(&placement, &node) { every(&all_sets) } else { Vec::new() }
            });
    harness::run(COMPONENT, controller, stop, reconcile, context).await;
}

/// What of a node decides where daemons run: labels, taints, name and whether it is going away.
type Placement = (Option<serde_json::Value>, Option<serde_json::Value>, bool);

/// Whether this node change can matter to a DaemonSet. Node agents rewrite their status every few seconds;
/// reconciling every DaemonSet on each heartbeat would be wasted work. Deletions arrive as a last version
/// with a deletion timestamp or not at all; the periodic resync covers the latter.
fn placement_changed(seen: &Mutex<HashMap<String, Placement>>, node: &Node) -> bool {
    let key = (
        serde_json::to_value(&node.metadata.labels).ok(),
        serde_json::to_value(node.spec.as_ref().map(|s| &s.taints)).ok(),
        node.metadata.deletion_timestamp.is_some(),
    );
    let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
    seen.insert(node.name_any(), key.clone()).is_none_or(|old| old != key)
}

fn every(sets: &Store<DaemonSet>) -> Vec<ObjectRef<DaemonSet>> {
    sets.state().iter().map(|set| ObjectRef::from_obj(set.as_ref())).collect()
}

async fn reconcile(set: Arc<DaemonSet>, ctx: Arc<Context>) -> Result<Action> {
    let namespace = set.namespace().unwrap_or_default();
    let uid = set.uid().unwrap_or_default();
    let pods: Vec<Arc<Pod>> =
        ctx.pods.state_filter(|p| p.metadata.namespace.as_deref() == Some(namespace.as_str()));
    let nodes = ctx.nodes.state();
    let manage = ctx.expectations.satisfied(&uid, &pods);
    let plan =
        plan::plan(plan::Input { set: &set, nodes: &nodes, pods: &pods, manage, now: Timestamp::now() })?;
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
    let by_name: HashMap<&str, &Arc<Pod>> =
        pods.iter().filter_map(|p| Some((p.metadata.name.as_deref()?, p))).collect();
    pod_writes::adopt_and_release(&*set, &api, &plan.adopt, &plan.release, &by_name).await?;
    if !plan.delete.is_empty() {
        let books = pod_writes::Bookkeeping { expectations: &ctx.expectations, events: &ctx.events };
        pod_writes::delete(&books, &*set, &api, &plan.delete, &by_name).await?;
    }
    if !plan.create.is_empty() {
        create_pods(&ctx, &set, &api, &plan.create).await?;
    }
    write_status(&set, &namespace, &ctx.client, &plan).await?;
    Ok(Action::requeue(plan.recheck_after.map_or(RESYNC, |d| d + Duration::from_millis(100))))
}

/// Writes the planned status when it differs, conditional on the version it was decided from.
async fn write_status(set: &DaemonSet, namespace: &str, client: &Client, plan: &Plan) -> Result<()> {
    if set.status.as_ref() == Some(&plan.status) {
        return Ok(());
    }
    let sets: Api<DaemonSet> = Api::namespaced(client.clone(), namespace);
    let mut updated = set.clone();
    updated.status = Some(plan.status.clone());
    match sets.replace_status(&set.name_any(), &PostParams::default(), &updated).await {
        Err(e) if is_status(&e, 404) => Ok(()),
        other => other.map(|_| ()).map_err(Into::into),
    }
}

async fn create_pods(ctx: &Context, set: &DaemonSet, api: &Api<Pod>, nodes: &[String]) -> Result<()> {
    let hash = plan::template_hash(set);
    let books = pod_writes::Bookkeeping { expectations: &ctx.expectations, events: &ctx.events };
    let pods = nodes.iter().map(|node| (pod::for_node(set, node, &hash), Some(node.clone()))).collect();
    pod_writes::create(&books, set, api, pods).await
}
