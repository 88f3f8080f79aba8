//! The cluster as the scheduler sees it: nodes with what they offer and what their pods (bound, assumed and
//! nominated) take, kept up to date one watch event at a time.
//!
//! Everything a decision reads is precomputed here: quantities are parsed once per object, per-node totals are
//! maintained on every change, and label keys and values are interned so that filters compare integers.
//! Adding, updating and removing a pod costs a hash lookup and a constant amount of arithmetic.
//!
//! Differences from kube-scheduler's cache, on purpose:
//! - A node whose `Ready` condition is not `True` carries the taint the node lifecycle controller would add
//!   (`node.kubernetes.io/not-ready`, or `node.kubernetes.io/unreachable` when the status is `Unknown`) with
//!   effect `NoSchedule`, so that placement does not depend on that controller having run. A node that never
//!   reported a `Ready` condition counts as not ready, as Kubernetes taints new nodes until they do.
//! - A node without the `kubernetes.io/hostname` label gets it with its own name, as the kubelet would set it,
//!   so that hostname topology (pod anti-affinity) works for nodes registered by other agents.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::pod::{HOSTNAME_LABEL, PodInfo, Resources, TaintEffect};

/// An interned string: label keys and values, taint keys and values.
pub(crate) type Sym = u32;

/// The taint a node that is not ready carries.
pub(crate) const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";
/// The taint a node whose readiness is unknown carries.
pub(crate) const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";
/// The taint key a pod tolerates to be placed on an unschedulable (cordoned) node.
pub(crate) const UNSCHEDULABLE_TAINT: &str = "node.kubernetes.io/unschedulable";

/// Interned strings. Strings are never removed: label values change rarely and a relist can start afresh.
#[derive(Debug, Clone, Default)]
pub(crate) struct Symbols {
    ids: HashMap<Box<str>, Sym>,
    strings: Vec<Box<str>>,
    /// Each string read as an integer, for the `Gt` and `Lt` node selector operators.
    ints: Vec<Option<i64>>,
}

impl Symbols {
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.ids.get(s) {
            return sym;
        }
        let sym = Sym::try_from(self.strings.len()).unwrap_or(Sym::MAX);
        self.ids.insert(s.into(), sym);
        self.strings.push(s.into());
        self.ints.push(s.parse().ok());
        sym
    }

    /// The symbol of `s`, or `None` when no node uses it (so nothing can match it).
    pub fn get(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }

    pub fn resolve(&self, sym: Sym) -> &str {
        self.strings.get(sym as usize).map_or("", |s| s)
    }

    pub fn int(&self, sym: Sym) -> Option<i64> {
        self.ints.get(sym as usize).copied().flatten()
    }
}

/// A taint the scheduler acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Taint {
    pub key: Sym,
    pub value: Sym,
    pub effect: TaintEffect,
}

/// A pod on a node.
#[derive(Debug, Clone)]
pub(crate) struct PodSlot {
    pub info: Arc<PodInfo>,
    /// Placed by this scheduler and not yet seen bound.
    pub assumed: bool,
}

/// A node and the pods on it.
#[derive(Debug, Clone)]
pub(crate) struct NodeSlot {
    pub name: String,
    /// False for a placeholder that holds pods bound to a node the snapshot has not seen (or no longer has).
    pub present: bool,
    pub unschedulable: bool,
    /// Sorted by key.
    pub labels: Vec<(Sym, Sym)>,
    pub taints: Vec<Taint>,
    pub has_prefer_no_schedule: bool,
    pub allocatable: Resources,
    pub allowed_pods: i64,
    /// The sum of the pods' fit requests.
    pub requested: Resources,
    /// The sum of the pods' scoring requests.
    pub non_zero_milli_cpu: i64,
    pub non_zero_memory: i64,
    pub pods: Vec<PodSlot>,
    /// Pending pods that a preemption nominated to this node.
    pub nominated: Vec<Arc<PodInfo>>,
    /// How many of `pods` have required pod anti-affinity terms.
    pub anti_affinity_pods: usize,
}

impl NodeSlot {
    fn placeholder(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            present: false,
            unschedulable: false,
            labels: Vec::new(),
            taints: Vec::new(),
            has_prefer_no_schedule: false,
            allocatable: Resources::default(),
            allowed_pods: 0,
            requested: Resources::default(),
            non_zero_milli_cpu: 0,
            non_zero_memory: 0,
            pods: Vec::new(),
            nominated: Vec::new(),
            anti_affinity_pods: 0,
        }
    }

    /// The value of the label `key`.
    pub fn label(&self, key: Sym) -> Option<Sym> {
        self.labels.binary_search_by_key(&key, |&(k, _)| k).ok().map(|i| self.labels[i].1)
    }

    /// Reads what the scheduler needs from the node object into this slot, keeping its pods.
    fn set_node(&mut self, node: &Node, symbols: &mut Symbols) {
        self.present = true;
        let spec = node.spec.as_ref();
        self.unschedulable = spec.and_then(|s| s.unschedulable).unwrap_or(false);

        let labels = node.metadata.labels.as_ref();
        let mut interned: Vec<(Sym, Sym)> =
            labels.into_iter().flatten().map(|(k, v)| (symbols.intern(k), symbols.intern(v))).collect();
        if labels.is_none_or(|l| !l.contains_key(HOSTNAME_LABEL)) {
            interned.push((symbols.intern(HOSTNAME_LABEL), symbols.intern(&self.name)));
        }
        interned.sort_unstable();
        self.labels = interned;

        self.taints.clear();
        for taint in spec.and_then(|s| s.taints.as_ref()).into_iter().flatten() {
            if let Some(effect) = TaintEffect::parse(&taint.effect) {
                let value = taint.value.as_deref().unwrap_or("");
                self.taints.push(Taint {
                    key: symbols.intern(&taint.key),
                    value: symbols.intern(value),
                    effect,
                });
            }
        }
        let status = node.status.as_ref();
        let ready = status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|conditions| conditions.iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.status.as_str());
        let readiness_taint = match ready {
            Some("True") => None,
            Some("Unknown") => Some(UNREACHABLE_TAINT),
            _ => Some(NOT_READY_TAINT),
        };
        if let Some(key) = readiness_taint {
            let key = symbols.intern(key);
            if !self.taints.iter().any(|t| t.key == key) {
                let value = symbols.intern("");
                self.taints.push(Taint { key, value, effect: TaintEffect::NoSchedule });
            }
        }
        self.has_prefer_no_schedule = self.taints.iter().any(|t| t.effect == TaintEffect::PreferNoSchedule);

        let mut allocatable = Resources::default();
        self.allowed_pods = 0;
        for (name, quantity) in status.and_then(|s| s.allocatable.as_ref()).into_iter().flatten() {
            // A quantity that does not parse offers nothing; the API server rejects such nodes anyway.
            let amount = |parse: fn(&Quantity) -> Result<i64, _>| parse(quantity).unwrap_or(0).max(0);
            match name.as_str() {
                "cpu" => allocatable.milli_cpu = amount(api::quantity::cpu_millis),
                "memory" => allocatable.memory = amount(api::quantity::memory_bytes),
                "pods" => self.allowed_pods = amount(api::quantity::memory_bytes),
                _ => {
                    let value = amount(api::quantity::memory_bytes);
                    if value > 0 {
                        allocatable.scalars.push((name.clone(), value));
                    }
                }
            }
        }
        self.allocatable = allocatable;
    }

    /// Turns a removed node into a placeholder for the pods still bound to it.
    fn clear_node(&mut self) {
        let pods = std::mem::take(&mut self.pods);
        let nominated = std::mem::take(&mut self.nominated);
        let requested = std::mem::take(&mut self.requested);
        let (cpu, memory, anti) = (self.non_zero_milli_cpu, self.non_zero_memory, self.anti_affinity_pods);
        *self = Self::placeholder(&self.name);
        self.pods = pods;
        self.nominated = nominated;
        self.requested = requested;
        (self.non_zero_milli_cpu, self.non_zero_memory, self.anti_affinity_pods) = (cpu, memory, anti);
    }

    fn add_pod(&mut self, slot: PodSlot) {
        let requests = slot.info.requests();
        self.requested.add_scaled(&requests.fit, 1);
        self.non_zero_milli_cpu = self.non_zero_milli_cpu.saturating_add(requests.non_zero_milli_cpu);
        self.non_zero_memory = self.non_zero_memory.saturating_add(requests.non_zero_memory);
        if !slot.info.anti_affinity.is_empty() {
            self.anti_affinity_pods += 1;
        }
        self.pods.push(slot);
    }

    fn remove_pod(&mut self, index: usize) -> PodSlot {
        let slot = self.pods.swap_remove(index);
        let requests = slot.info.requests();
        self.requested.add_scaled(&requests.fit, -1);
        self.non_zero_milli_cpu = self.non_zero_milli_cpu.saturating_sub(requests.non_zero_milli_cpu);
        self.non_zero_memory = self.non_zero_memory.saturating_sub(requests.non_zero_memory);
        if !slot.info.anti_affinity.is_empty() {
            self.anti_affinity_pods -= 1;
        }
        slot
    }
}

/// Where a pod sits: its node and its index in the node's pod list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PodLoc {
    node: usize,
    index: usize,
}

/// The node an operation named is not in the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("node {0:?} not found")]
pub struct UnknownNode(pub String);

/// What a node offers and what its pods take.
#[derive(Debug, Clone, Copy)]
pub struct NodeUsage<'a> {
    /// The node's name.
    pub name: &'a str,
    /// `status.allocatable` for CPU, memory and the other resources.
    pub allocatable: &'a Resources,
    /// `status.allocatable.pods`.
    pub allowed_pods: i64,
    /// The sum of the requests of the pods on the node, assumed ones included.
    pub requested: &'a Resources,
    /// The number of pods on the node, assumed ones included.
    pub pods: usize,
}

/// The nodes and pods a decision sees. See the [module documentation](self) for how it differs from
/// kube-scheduler's cache.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub(crate) nodes: Vec<NodeSlot>,
    by_name: HashMap<String, usize>,
    pods: HashMap<String, PodLoc>,
    /// Pending pods nominated to a node, by key.
    nominations: HashMap<String, usize>,
    pub(crate) namespaces: HashMap<String, BTreeMap<String, String>>,
    pub(crate) symbols: Symbols,
    present: usize,
    /// How many placed pods have required pod anti-affinity terms, so that most decisions can skip the scan.
    pub(crate) anti_affinity_pods: usize,
    /// How many nodes have `PreferNoSchedule` taints, so that most decisions can score in one pass.
    pub(crate) prefer_no_schedule_nodes: usize,
}

impl Snapshot {
    /// An empty snapshot.
    pub fn new() -> Self {
        Self::default()
    }

    /// A snapshot of `nodes` and the pods placed on them (unbound and finished pods are left out, except for
    /// nominations).
    pub fn from_objects<'a>(
        nodes: impl IntoIterator<Item = &'a Node>,
        pods: impl IntoIterator<Item = &'a Pod>,
    ) -> Self {
        let mut snapshot = Self::new();
        for node in nodes {
            snapshot.upsert_node(node);
        }
        for pod in pods {
            snapshot.upsert_pod(pod);
        }
        snapshot
    }

    /// The number of nodes (placeholders for pods bound to unknown nodes do not count).
    pub fn node_count(&self) -> usize {
        self.present
    }

    /// The number of pods placed on nodes, assumed ones included.
    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }

    /// The names of the nodes, in no particular order.
    pub fn node_names(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().filter(|n| n.present).map(|n| n.name.as_str())
    }

    /// What the node `name` offers and what its pods take.
    pub fn node(&self, name: &str) -> Option<NodeUsage<'_>> {
        let node = self.slot(name)?;
        Some(NodeUsage {
            name: &node.name,
            allocatable: &node.allocatable,
            allowed_pods: node.allowed_pods,
            requested: &node.requested,
            pods: node.pods.len(),
        })
    }

    /// The node the pod with `key` (see [`PodInfo::key`]) is placed on.
    pub fn pod_node(&self, key: &str) -> Option<&str> {
        self.pods.get(key).map(|loc| self.nodes[loc.node].name.as_str())
    }

    /// Whether the pod with `key` is placed by [`assume`](Self::assume) and not yet seen bound.
    pub fn is_assumed(&self, key: &str) -> bool {
        self.pods.get(key).is_some_and(|loc| self.nodes[loc.node].pods[loc.index].assumed)
    }

    /// Adds or updates a node from its object, keeping the pods already on it.
    pub fn upsert_node(&mut self, node: &Node) {
        let Some(name) = node.metadata.name.as_deref() else { return };
        let index = self.node_index(name);
        let slot = &mut self.nodes[index];
        if slot.present {
            self.prefer_no_schedule_nodes -= usize::from(slot.has_prefer_no_schedule);
        } else {
            self.present += 1;
        }
        slot.set_node(node, &mut self.symbols);
        self.prefer_no_schedule_nodes += usize::from(slot.has_prefer_no_schedule);
    }

    /// Removes a node. Pods still bound to it stay accounted to a placeholder until they are removed, as in
    /// kube-scheduler's cache.
    pub fn remove_node(&mut self, name: &str) {
        let Some(&index) = self.by_name.get(name) else { return };
        if self.nodes[index].present {
            self.present -= 1;
            self.prefer_no_schedule_nodes -= usize::from(self.nodes[index].has_prefer_no_schedule);
        }
        if self.nodes[index].pods.is_empty() && self.nodes[index].nominated.is_empty() {
            self.drop_slot(index);
        } else {
            self.nodes[index].clear_node();
        }
    }

    /// Records a pod from its object: a bound pod that has not finished is placed on its node (replacing an
    /// assumed copy), a pending pod with `status.nominatedNodeName` is nominated to that node, and anything else
    /// is removed. A pending copy of a pod this scheduler assumed leaves the assumption in place.
    pub fn upsert_pod(&mut self, pod: &Pod) {
        self.upsert(PodInfo::from_pod(pod));
    }

    /// Like [`upsert_pod`](Self::upsert_pod) for a pod already read (for example with its priority resolved).
    pub fn upsert(&mut self, info: PodInfo) {
        let key = info.key().to_owned();
        if info.is_terminal() {
            self.remove_pod(&key);
            return;
        }
        if let Some(node) = info.node_name().map(str::to_owned) {
            self.unnominate(&key);
            self.unplace(&key);
            let index = self.node_index(&node);
            self.place(key, Arc::new(info), index, false);
            return;
        }
        if self.is_assumed(&key) {
            return;
        }
        self.unplace(&key);
        self.unnominate(&key);
        if let Some(node) = info.nominated_node().map(str::to_owned) {
            let index = self.node_index(&node);
            self.nodes[index].nominated.push(Arc::new(info));
            self.nominations.insert(key, index);
        }
    }

    /// Removes a pod (deleted, or finished) wherever it is: placed, assumed or nominated.
    pub fn remove_pod(&mut self, key: &str) {
        self.unplace(key);
        self.unnominate(key);
    }

    /// Places `pod` on `node` before the binding is seen, so that the next decisions count it. The pod's own
    /// nomination, if any, is dropped.
    pub fn assume(&mut self, pod: &PodInfo, node: &str) -> Result<(), UnknownNode> {
        let index = self.by_name.get(node).copied().filter(|&i| self.nodes[i].present);
        let index = index.ok_or_else(|| UnknownNode(node.to_owned()))?;
        let key = pod.key().to_owned();
        self.unnominate(&key);
        self.unplace(&key);
        self.place(key, Arc::new(pod.clone()), index, true);
        Ok(())
    }

    /// Undoes [`assume`](Self::assume) after a failed binding. Returns whether the pod was assumed; a pod seen
    /// bound meanwhile stays.
    pub fn forget(&mut self, key: &str) -> bool {
        if !self.is_assumed(key) {
            return false;
        }
        self.unplace(key);
        true
    }

    /// Adds or updates a namespace's labels, which pod affinity `namespaceSelector`s match.
    pub fn upsert_namespace(&mut self, namespace: &Namespace) {
        if let Some(name) = &namespace.metadata.name {
            self.namespaces.insert(name.clone(), namespace.metadata.labels.clone().unwrap_or_default());
        }
    }

    /// Forgets a namespace's labels.
    pub fn remove_namespace(&mut self, name: &str) {
        self.namespaces.remove(name);
    }

    /// The node `name`, unless it is unknown or only a placeholder.
    pub(crate) fn slot(&self, name: &str) -> Option<&NodeSlot> {
        self.by_name.get(name).map(|&i| &self.nodes[i]).filter(|n| n.present)
    }

    /// The labels of `namespace`, empty when unknown.
    pub(crate) fn namespace_labels(&self, namespace: &str) -> &BTreeMap<String, String> {
        static EMPTY: BTreeMap<String, String> = BTreeMap::new();
        self.namespaces.get(namespace).unwrap_or(&EMPTY)
    }

    /// The index of the node `name`, adding a placeholder when it is unknown.
    fn node_index(&mut self, name: &str) -> usize {
        if let Some(&index) = self.by_name.get(name) {
            return index;
        }
        self.nodes.push(NodeSlot::placeholder(name));
        self.by_name.insert(name.to_owned(), self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    fn place(&mut self, key: String, info: Arc<PodInfo>, node: usize, assumed: bool) {
        if !info.anti_affinity.is_empty() {
            self.anti_affinity_pods += 1;
        }
        let slot = &mut self.nodes[node];
        slot.add_pod(PodSlot { info, assumed });
        self.pods.insert(key, PodLoc { node, index: slot.pods.len() - 1 });
    }

    fn unplace(&mut self, key: &str) {
        let Some(loc) = self.pods.remove(key) else { return };
        let slot = &mut self.nodes[loc.node];
        let removed = slot.remove_pod(loc.index);
        if !removed.info.anti_affinity.is_empty() {
            self.anti_affinity_pods -= 1;
        }
        // swap_remove moved the last pod into the hole.
        if let Some(moved) = slot.pods.get(loc.index)
            && let Some(moved_loc) = self.pods.get_mut(moved.info.key())
        {
            moved_loc.index = loc.index;
        }
        self.drop_if_empty_placeholder(loc.node);
    }

    fn unnominate(&mut self, key: &str) {
        let Some(node) = self.nominations.remove(key) else { return };
        self.nodes[node].nominated.retain(|p| p.key() != key);
        self.drop_if_empty_placeholder(node);
    }

    fn drop_if_empty_placeholder(&mut self, index: usize) {
        let slot = &self.nodes[index];
        if !slot.present && slot.pods.is_empty() && slot.nominated.is_empty() {
            self.drop_slot(index);
        }
    }

    /// Removes the slot at `index` by moving the last slot into its place and renumbering that slot's pods.
    fn drop_slot(&mut self, index: usize) {
        let removed = self.nodes.swap_remove(index);
        self.by_name.remove(&removed.name);
        let Some(moved) = self.nodes.get(index) else { return };
        self.by_name.insert(moved.name.clone(), index);
        for pod in &moved.pods {
            if let Some(loc) = self.pods.get_mut(pod.info.key()) {
                loc.node = index;
            }
        }
        for pod in &moved.nominated {
            if let Some(node) = self.nominations.get_mut(pod.key()) {
                *node = index;
            }
        }
    }

    /// Checks that every index and total matches a recount; for tests.
    #[cfg(test)]
    pub(crate) fn check_consistency(&self) {
        assert_eq!(self.by_name.len(), self.nodes.len());
        assert_eq!(self.present, self.nodes.iter().filter(|n| n.present).count());
        assert_eq!(
            self.prefer_no_schedule_nodes,
            self.nodes.iter().filter(|n| n.present && n.has_prefer_no_schedule).count()
        );
        let mut placed = 0;
        let mut anti = 0;
        for (i, node) in self.nodes.iter().enumerate() {
            assert_eq!(self.by_name.get(&node.name), Some(&i), "{}", node.name);
            let mut requested = Resources::default();
            let (mut cpu, mut memory, mut node_anti) = (0, 0, 0);
            for (j, pod) in node.pods.iter().enumerate() {
                assert_eq!(self.pods.get(pod.info.key()), Some(&PodLoc { node: i, index: j }));
                requested.add_scaled(&pod.info.requests().fit, 1);
                cpu += pod.info.requests().non_zero_milli_cpu;
                memory += pod.info.requests().non_zero_memory;
                node_anti += usize::from(!pod.info.anti_affinity.is_empty());
            }
            assert_eq!(node.requested, requested, "{}", node.name);
            assert_eq!((node.non_zero_milli_cpu, node.non_zero_memory), (cpu, memory), "{}", node.name);
            assert_eq!(node.anti_affinity_pods, node_anti, "{}", node.name);
            for pod in &node.nominated {
                assert_eq!(self.nominations.get(pod.key()), Some(&i));
            }
            assert!(node.present || !node.pods.is_empty() || !node.nominated.is_empty(), "{}", node.name);
            placed += node.pods.len();
            anti += node_anti;
        }
        assert_eq!(placed, self.pods.len());
        assert_eq!(anti, self.anti_affinity_pods);
        assert_eq!(self.nominations.len(), self.nodes.iter().map(|n| n.nominated.len()).sum::<usize>());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::testing::{bound, node, pod};
    use serde_json::json;

    fn requested(snapshot: &Snapshot, name: &str) -> (i64, i64, usize) {
        let usage = snapshot.node(name).unwrap_or_else(|| panic!("no node {name}"));
        (usage.requested.milli_cpu, usage.requested.memory, usage.pods)
    }

    #[test]
    fn reads_nodes() {
        let mut snapshot = Snapshot::new();
        snapshot.upsert_node(&node(json!({
            "metadata": {"name": "n1", "labels": {"zone": "a"}},
            "spec": {"unschedulable": true, "taints": [
                {"key": "dedicated", "value": "db", "effect": "NoSchedule"},
                {"key": "soft", "effect": "PreferNoSchedule"},
                {"key": "odd", "effect": "Sometimes"}]},
            "status": {"allocatable": {"cpu": "3500m", "memory": "8Gi", "pods": "40", "example.com/gpu": "2",
                                       "ephemeral-storage": "bad"},
                       "conditions": [{"type": "Ready", "status": "True"}]},
        })));
        let usage = snapshot.node("n1").unwrap_or_else(|| panic!("n1"));
        assert_eq!(usage.allocatable.milli_cpu, 3500);
        assert_eq!(usage.allocatable.memory, 8 << 30);
        assert_eq!(usage.allocatable.scalars, vec![("example.com/gpu".to_owned(), 2)]);
        assert_eq!(usage.allowed_pods, 40);
        let slot = &snapshot.nodes[0];
        assert!(slot.unschedulable && slot.has_prefer_no_schedule);
        let s = &snapshot.symbols;
        let taints: Vec<(&str, &str, TaintEffect)> =
            slot.taints.iter().map(|t| (s.resolve(t.key), s.resolve(t.value), t.effect)).collect();
        assert_eq!(
            taints,
            [("dedicated", "db", TaintEffect::NoSchedule), ("soft", "", TaintEffect::PreferNoSchedule)]
        );
        let labels: Vec<(&str, &str)> =
            slot.labels.iter().map(|&(k, v)| (s.resolve(k), s.resolve(v))).collect();
        assert!(labels.contains(&("zone", "a")) && labels.contains(&(HOSTNAME_LABEL, "n1")));
    }

    #[test]
    fn readiness_becomes_a_taint() {
        let cases = [
            (json!([{"type": "Ready", "status": "True"}]), None),
            (json!([{"type": "Ready", "status": "False"}]), Some(NOT_READY_TAINT)),
            (json!([{"type": "Ready", "status": "Unknown"}]), Some(UNREACHABLE_TAINT)),
            (json!([{"type": "MemoryPressure", "status": "False"}]), Some(NOT_READY_TAINT)),
            (json!([]), Some(NOT_READY_TAINT)),
        ];
        for (conditions, taint) in cases {
            let mut snapshot = Snapshot::new();
            snapshot
                .upsert_node(&node(json!({"metadata": {"name": "n"}, "status": {"conditions": conditions}})));
            let slot = &snapshot.nodes[0];
            let keys: Vec<&str> = slot.taints.iter().map(|t| snapshot.symbols.resolve(t.key)).collect();
            assert_eq!(keys, taint.into_iter().collect::<Vec<_>>(), "{conditions}");
        }
        // The controller's own taint is not doubled.
        let mut snapshot = Snapshot::new();
        snapshot.upsert_node(&node(json!({"metadata": {"name": "n"},
            "spec": {"taints": [{"key": NOT_READY_TAINT, "effect": "NoExecute"}]},
            "status": {"conditions": [{"type": "Ready", "status": "False"}]}})));
        assert_eq!(snapshot.nodes[0].taints.len(), 1);
    }

    #[test]
    fn keeps_totals_as_pods_come_and_go() {
        let mut snapshot = Snapshot::new();
        for name in ["n1", "n2"] {
            snapshot.upsert_node(&node(json!({"metadata": {"name": name}})));
        }
        snapshot.upsert_pod(&bound("a", "n1", "500m", "1Gi"));
        snapshot.upsert_pod(&bound("b", "n1", "250m", "1Mi"));
        snapshot.upsert_pod(&bound("c", "n2", "1", "2Gi"));
        snapshot.check_consistency();
        assert_eq!(requested(&snapshot, "n1"), (750, (1 << 30) + (1 << 20), 2));

        // Moving is an update; removing the first pod moves the last into its place.
        snapshot.upsert_pod(&bound("a", "n2", "500m", "1Gi"));
        snapshot.check_consistency();
        assert_eq!(requested(&snapshot, "n1"), (250, 1 << 20, 1));
        assert_eq!(requested(&snapshot, "n2"), (1500, 3 << 30, 2));
        snapshot.remove_pod("default/c");
        snapshot.check_consistency();
        assert_eq!(requested(&snapshot, "n2"), (500, 1 << 30, 1));

        // A finished pod frees its node.
        let mut done = bound("a", "n2", "500m", "1Gi");
        done.status = serde_json::from_value(json!({"phase": "Succeeded"})).ok();
        snapshot.upsert_pod(&done);
        snapshot.check_consistency();
        assert_eq!(requested(&snapshot, "n2"), (0, 0, 0));
        assert_eq!(snapshot.pod_count(), 1);
    }

    #[test]
    fn assumed_pods_count_until_bound_or_forgotten() {
        let mut snapshot = Snapshot::new();
        snapshot.upsert_node(&node(json!({"metadata": {"name": "n1"}})));
        let pending = pod(json!({"metadata": {"name": "p", "uid": "u"},
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}}));
        let info = PodInfo::from_pod(&pending);
        assert_eq!(snapshot.assume(&info, "nope"), Err(UnknownNode("nope".to_owned())));
        assert_eq!(UnknownNode("nope".to_owned()).to_string(), "node \"nope\" not found");
        snapshot.assume(&info, "n1").unwrap_or_else(|e| panic!("{e}"));
        assert!(snapshot.is_assumed("u"));
        assert_eq!(requested(&snapshot, "n1").0, 1000);

        // A stale pending copy leaves the assumption alone; the bound copy confirms it.
        snapshot.upsert_pod(&pending);
        assert!(snapshot.is_assumed("u"));
        let mut bound_copy = pending.clone();
        if let Some(spec) = bound_copy.spec.as_mut() {
            spec.node_name = Some("n1".to_owned());
        }
        snapshot.upsert_pod(&bound_copy);
        assert!(!snapshot.is_assumed("u"));
        assert!(!snapshot.forget("u"), "a bound pod is not forgotten");
        assert_eq!(snapshot.pod_node("u"), Some("n1"));
        snapshot.check_consistency();

        let other = PodInfo::from_pod(&pod(
            json!({"metadata": {"name": "q", "uid": "v"}, "spec": {"containers": []}}),
        ));
        snapshot.assume(&other, "n1").unwrap_or_else(|e| panic!("{e}"));
        assert!(snapshot.forget("v"));
        assert_eq!(snapshot.pod_node("v"), None);
        snapshot.check_consistency();
    }

    #[test]
    fn nominations_follow_the_pod() {
        let mut snapshot = Snapshot::new();
        snapshot.upsert_node(&node(json!({"metadata": {"name": "n1"}})));
        let nominated = pod(json!({"metadata": {"name": "p", "uid": "u"}, "spec": {"containers": []},
                                   "status": {"nominatedNodeName": "n1"}}));
        snapshot.upsert_pod(&nominated);
        assert_eq!(snapshot.nodes[0].nominated.len(), 1);
        snapshot.check_consistency();
        let info = PodInfo::from_pod(&nominated);
        snapshot.assume(&info, "n1").unwrap_or_else(|e| panic!("{e}"));
        assert!(snapshot.nodes[0].nominated.is_empty());
        snapshot.check_consistency();

        // Nominated to a node not seen yet: a placeholder holds it and goes away with it.
        let elsewhere = pod(json!({"metadata": {"name": "q", "uid": "w"}, "spec": {"containers": []},
                                   "status": {"nominatedNodeName": "later"}}));
        snapshot.upsert_pod(&elsewhere);
        assert_eq!(snapshot.node_count(), 1);
        snapshot.check_consistency();
        snapshot.remove_pod("w");
        assert_eq!(snapshot.nodes.len(), 1);
        snapshot.check_consistency();
    }

    #[test]
    fn pods_of_unknown_or_removed_nodes_wait_in_placeholders() {
        let mut snapshot = Snapshot::new();
        for name in ["n1", "n2", "n3"] {
            snapshot.upsert_node(&node(json!({"metadata": {"name": name}})));
        }
        snapshot.upsert_pod(&bound("early", "n9", "1", "1Gi"));
        assert_eq!(snapshot.node_count(), 3);
        assert!(snapshot.node("n9").is_none());
        snapshot.upsert_node(&node(json!({"metadata": {"name": "n9"}})));
        assert_eq!(requested(&snapshot, "n9"), (1000, 1 << 30, 1));
        snapshot.check_consistency();

        snapshot.upsert_pod(&bound("x", "n1", "1", "1Gi"));
        snapshot.remove_node("n1");
        assert_eq!(snapshot.node_count(), 3);
        assert!(snapshot.node("n1").is_none());
        snapshot.check_consistency();
        snapshot.remove_node("n2");
        snapshot.check_consistency();
        snapshot.remove_pod("default/x");
        snapshot.check_consistency();
        let mut names: Vec<&str> = snapshot.node_names().collect();
        names.sort_unstable();
        assert_eq!(names, ["n3", "n9"]);
        assert_eq!(snapshot.nodes.len(), 2);
    }

    #[test]
    fn from_objects_and_namespaces() {
        let nodes = [node(json!({"metadata": {"name": "n1"}}))];
        let pods = [
            bound("a", "n1", "1", "1Gi"),
            pod(json!({"metadata": {"name": "pending"}, "spec": {"containers": []}})),
        ];
        let mut snapshot = Snapshot::from_objects(&nodes, &pods);
        assert_eq!((snapshot.node_count(), snapshot.pod_count()), (1, 1));
        let ns: Namespace =
            serde_json::from_value(json!({"metadata": {"name": "prod", "labels": {"env": "prod"}}}))
                .unwrap_or_else(|e| panic!("{e}"));
        snapshot.upsert_namespace(&ns);
        assert_eq!(snapshot.namespace_labels("prod").get("env").map(String::as_str), Some("prod"));
        snapshot.remove_namespace("prod");
        assert!(snapshot.namespace_labels("prod").is_empty());
    }
}
