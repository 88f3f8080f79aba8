//! The scheduling loop: one task owns the [`Snapshot`] and the [`Queue`], applies watch events to them, and
//! decides one pod at a time with the pure core, handing each decision to [`Actions`].
//!
//! A decision counts at once in the snapshot (the pod is *assumed* on its node, a preemptor is nominated), so
//! the next decision never waits for the API server or a watch round-trip; the watch event of the bound pod
//! later replaces the assumption, and a failed binding undoes it. Before each decision the loop takes in every
//! event already waiting, so that decisions see the newest state the watches have delivered.
//!
//! Pods that fit nowhere are parked until something changes that may make room (a node joins or changes what
//! it offers, a pod leaves or finishes, a pod lands that pod affinity may need), which kube-scheduler calls
//! moving pods on cluster events.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod, Taint};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::runtime::watcher::Event;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::actions::{Actions, Nomination, Outcome};
use super::queue::{Popped, Queue};
use super::watch::{Input, PodView};
use crate::placement::{Decision, PodInfo, Scheduler, Snapshot};

/// Decisions in a row before the loop yields to other tasks on its worker thread.
const DECISIONS_PER_YIELD: u32 = 64;

/// The keys a watch has shown, to find what a relist no longer shows.
#[derive(Debug, Default)]
struct Listing {
    known: HashSet<String>,
    relisting: Option<HashSet<String>>,
    synced: bool,
}

impl Listing {
    fn init(&mut self) {
        self.relisting = Some(HashSet::new());
    }

    fn seen(&mut self, key: &str) {
        if !self.known.contains(key) {
            self.known.insert(key.to_owned());
        }
        if let Some(listed) = &mut self.relisting {
            listed.insert(key.to_owned());
        }
    }

    fn gone(&mut self, key: &str) {
        self.known.remove(key);
    }

    /// Ends a (re)list; returns the keys it did not show, which are gone.
    fn done(&mut self) -> Vec<String> {
        self.synced = true;
        let listed = self.relisting.take().unwrap_or_default();
        let gone = self.known.iter().filter(|k| !listed.contains(*k)).cloned().collect();
        self.known = listed;
        gone
    }
}

/// What of a node can change where pods fit; other changes (heartbeats) wake nobody.
#[derive(Debug, Clone, PartialEq)]
struct NodeShape {
    labels: Option<BTreeMap<String, String>>,
    taints: Option<Vec<Taint>>,
    unschedulable: Option<bool>,
    allocatable: Option<BTreeMap<String, Quantity>>,
    ready: Option<String>,
}

impl NodeShape {
    fn of(node: &Node) -> Self {
        let spec = node.spec.as_ref();
        let status = node.status.as_ref();
        Self {
            labels: node.metadata.labels.clone(),
            taints: spec.and_then(|s| s.taints.clone()),
            unschedulable: spec.and_then(|s| s.unschedulable),
            allocatable: status.and_then(|s| s.allocatable.clone()),
            ready: status
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
                .map(|c| c.status.clone()),
        }
    }
}

/// The loop's state.
pub struct Cycle {
    scheduler: Scheduler,
    snapshot: Snapshot,
    queue: Queue,
    actions: Actions,
    pods: Listing,
    nodes: Listing,
    namespaces: Listing,
    shapes: HashMap<String, NodeShape>,
}

impl Cycle {
    /// A loop deciding with `scheduler`, queueing with `queue` and acting through `actions`.
    pub fn new(scheduler: Scheduler, queue: Queue, actions: Actions) -> Self {
        Self {
            scheduler,
            snapshot: Snapshot::new(),
            queue,
            actions,
            pods: Listing::default(),
            nodes: Listing::default(),
            namespaces: Listing::default(),
            shapes: HashMap::new(),
        }
    }

    /// Runs until `stop`: takes in watch events and outcomes, and decides whenever a pod is ready and every
    /// watch has delivered its initial list.
    pub async fn run(
        mut self,
        mut inputs: mpsc::Receiver<Input>,
        mut outcomes: mpsc::UnboundedReceiver<Outcome>,
        stop: CancellationToken,
    ) {
        let mut decisions = 0u32;
        loop {
            while let Ok(input) = inputs.try_recv() {
                self.input(input);
            }
            while let Ok(outcome) = outcomes.try_recv() {
                self.outcome(outcome);
            }
            if stop.is_cancelled() {
                return;
            }
            if self.synced()
                && let Some(popped) = self.queue.pop(Instant::now())
            {
                self.decide(popped);
                decisions += 1;
                if decisions.is_multiple_of(DECISIONS_PER_YIELD) {
                    tokio::task::yield_now().await;
                }
                continue;
            }
            let deadline = self.queue.next_deadline();
            tracing::trace!(waiting = self.queue.len(), "scheduling queue idle");
            tokio::select! {
                biased;
                () = stop.cancelled() => return,
                Some(input) = inputs.recv() => self.input(input),
                Some(outcome) = outcomes.recv() => self.outcome(outcome),
                () = sleep_until(deadline) => {}
            }
        }
    }

    /// Whether every watch has delivered its initial list, so that decisions see the whole cluster.
    fn synced(&self) -> bool {
        self.pods.synced && self.nodes.synced && self.namespaces.synced
    }

    fn input(&mut self, input: Input) {
        match input {
            Input::Pod(event) => match event {
                Event::Init => self.pods.init(),
                Event::Apply(view) | Event::InitApply(view) => self.pod_applied(view),
                Event::Delete(view) => self.pod_gone(view.info.key()),
                Event::InitDone => {
                    for key in self.pods.done() {
                        self.pod_gone(&key);
                    }
                }
            },
            Input::Node(event) => match event {
                Event::Init => self.nodes.init(),
                Event::Apply(node) | Event::InitApply(node) => self.node_applied(&node),
                Event::Delete(node) => self.node_gone(node.metadata.name.as_deref().unwrap_or_default()),
                Event::InitDone => {
                    for name in self.nodes.done() {
                        self.node_gone(&name);
                    }
                }
            },
            Input::Namespace(event) => match event {
                Event::Init => self.namespaces.init(),
                Event::Apply(ns) | Event::InitApply(ns) => {
                    if let Some(name) = ns.metadata.name.as_deref() {
                        self.namespaces.seen(name);
                    }
                    self.snapshot.upsert_namespace(&ns);
                }
                Event::Delete(ns) => {
                    let name = ns.metadata.name.as_deref().unwrap_or_default();
                    self.namespaces.gone(name);
                    self.snapshot.remove_namespace(name);
                }
                Event::InitDone => {
                    for name in self.namespaces.done() {
                        self.snapshot.remove_namespace(&name);
                    }
                }
            },
        }
    }

    fn pod_applied(&mut self, view: Box<PodView>) {
        let PodView { pod, info, wants } = *view;
        let key = info.key().to_owned();
        self.pods.seen(&key);
        let held_room = self.snapshot.pod_node(&key).is_some();
        let assumed = self.snapshot.is_assumed(&key);
        // A pod that finished frees its room; a pod bound by someone else may be what pod affinity waits for.
        // Our own bindings were assumed, so they wake nobody.
        let wake =
            if held_room { info.is_terminal() } else { info.node_name().is_some() && !info.is_terminal() };
        let now = Instant::now();
        if wants && !assumed {
            let info = Arc::new(info);
            self.snapshot.upsert(PodInfo::clone(&info));
            self.queue.upsert(&key, pod, info, now);
        } else {
            // Pending but assumed: the binding is in flight or done and not yet seen; the queue has it or is
            // done with it.
            if !wants {
                self.queue.remove(&key);
            }
            self.snapshot.upsert(info);
        }
        if wake {
            self.queue.wake(now);
        }
    }

    fn pod_gone(&mut self, key: &str) {
        self.pods.gone(key);
        let held_room = self.snapshot.pod_node(key).is_some();
        self.snapshot.remove_pod(key);
        self.queue.remove(key);
        if held_room {
            self.queue.wake(Instant::now());
        }
    }

    fn node_applied(&mut self, node: &Node) {
        let Some(name) = node.metadata.name.as_deref() else { return };
        self.nodes.seen(name);
        self.snapshot.upsert_node(node);
        let shape = NodeShape::of(node);
        if self.shapes.get(name) != Some(&shape) {
            self.shapes.insert(name.to_owned(), shape);
            self.queue.wake(Instant::now());
        }
    }

    fn node_gone(&mut self, name: &str) {
        self.nodes.gone(name);
        self.shapes.remove(name);
        self.snapshot.remove_node(name);
    }

    fn outcome(&mut self, outcome: Outcome) {
        let now = Instant::now();
        match outcome {
            Outcome::Bound { key } => self.queue.remove(&key),
            Outcome::BindFailed { key, retry } => {
                self.snapshot.forget(&key);
                if retry {
                    self.queue.back_off(&key, now);
                } else {
                    self.queue.remove(&key);
                }
                // The room the assumption held is free again.
                self.queue.wake(now);
            }
            Outcome::PreemptionFailed { key, pod } => {
                self.renominate(&key, pod, now);
                self.queue.back_off(&key, now);
            }
        }
    }

    /// Decides for one pod and starts carrying the decision out.
    fn decide(&mut self, popped: Popped) {
        let Popped { key, pod, info } = popped;
        let now = Instant::now();
        match self.scheduler.decide(&self.snapshot, &info) {
            Decision::Bind(node) => match self.snapshot.assume(&info, &node) {
                Ok(()) => {
                    tracing::debug!(pod = info.name(), %node, "binding");
                    self.actions.bind(key, pod, node);
                }
                Err(e) => {
                    // The core chose a node of this very snapshot, so this is a bug; retrying is safe.
                    tracing::error!(pod = info.name(), error = %e, "cannot assume a pod");
                    self.queue.back_off(&key, now);
                }
            },
            Decision::Unschedulable(why) => {
                let nomination = if info.nominated_node().is_some() && !why.waits_for_victims() {
                    let mut plain = Pod::clone(&pod);
                    if let Some(status) = plain.status.as_mut() {
                        status.nominated_node_name = None;
                    }
                    self.renominate(&key, Arc::new(plain), now);
                    Nomination::Clear
                } else {
                    Nomination::Keep
                };
                tracing::debug!(pod = info.name(), reason = %why, "unschedulable");
                self.queue.park(&key, now);
                self.actions.unschedulable(pod, why.to_string(), nomination);
            }
            Decision::Preempt { preemption, failure } => {
                tracing::info!(
                    pod = info.name(),
                    node = %preemption.node,
                    victims = preemption.victims.len(),
                    "preempting"
                );
                // Nominated here and now, so that the room being freed is not given to a less important pod.
                let mut nominated = Pod::clone(&pod);
                nominated.status.get_or_insert_default().nominated_node_name = Some(preemption.node.clone());
                self.renominate(&key, Arc::new(nominated), now);
                self.queue.park(&key, now);
                self.actions.preempt(key, pod, preemption, failure.to_string());
            }
        }
    }

    /// Records a pending pod's changed nomination in the snapshot and the queue before the watch shows it.
    fn renominate(&mut self, key: &str, pod: Arc<Pod>, now: Instant) {
        let info = Arc::new(PodInfo::from_pod(&pod));
        self.snapshot.upsert(PodInfo::clone(&info));
        self.queue.upsert(key, pod, info, now);
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
