//! The filters: whether a pod may go on a node, and if not, the reasons kube-scheduler would print.
//!
//! A pod is first compiled against the snapshot into a [`Query`]: its label keys, values and taint fields
//! become interned symbols (a string no node has can match nothing), so that checking a node compares
//! integers and allocates nothing. Each filter is a small function from the query and a node to
//! `Result<(), Failure>`; [`check`] runs them in kube-scheduler's order and stops at the first failure, as the
//! framework does, so a node is counted once per reason of its first failing filter.

use std::collections::{BTreeSet, HashMap};

use api::selector::Operator;

use super::pod::{
    AffinityTerm, EffectMatch, FieldRequirement, NodeTerm, PodInfo, Resources, TaintEffect, Toleration,
};
use super::snapshot::{NodeSlot, Snapshot, Sym, Symbols, Taint, UNSCHEDULABLE_TAINT};

/// `NodeUnschedulable`'s reason.
pub(crate) const REASON_UNSCHEDULABLE: &str = "node(s) were unschedulable";
/// `TaintToleration`'s reason since Kubernetes 1.35, which no longer names the taint.
pub(crate) const REASON_TAINT: &str = "node(s) had untolerated taint(s)";
/// `NodeAffinity`'s reason.
pub(crate) const REASON_NODE_AFFINITY: &str = "node(s) didn't match Pod's node affinity/selector";
/// The reason of nodes left out by `NodeAffinity`'s `PreFilter` (`matchFields` on `metadata.name`).
pub(crate) const REASON_NODE_NAMES: &str = "node(s) didn't satisfy plugin(s) [NodeAffinity]";
/// `NodeAffinity`'s `PreFilter` message when the terms name no node in common.
pub(crate) const REASON_TERMS_CONFLICT: &str = "pod affinity terms conflict";
/// `InterPodAffinity`'s reasons.
pub(crate) const REASON_POD_AFFINITY: &str = "node(s) didn't match pod affinity rules";
pub(crate) const REASON_POD_ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";
pub(crate) const REASON_EXISTING_ANTI_AFFINITY: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";

/// What a resource fit check found missing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Insufficient {
    /// [`Insufficient::PODS`], [`Insufficient::CPU`], [`Insufficient::MEMORY`], and bit `3 + i` for the pod's
    /// `i`-th scalar resource (the 61st and later share the last bit).
    pub missing: u64,
    /// Some request exceeds the node's whole allocatable amount, so evicting pods cannot help.
    pub unresolvable: bool,
}

impl Insufficient {
    pub const PODS: u64 = 1;
    pub const CPU: u64 = 1 << 1;
    pub const MEMORY: u64 = 1 << 2;

    /// The bit of the pod's `i`-th scalar resource.
    pub fn scalar(i: usize) -> u64 {
        1 << (i + 3).min(63)
    }

    fn has(self, bit: u64) -> bool {
        self.missing & bit != 0
    }
}

/// Why a node cannot take a pod: the first failing filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Left out by the required node affinity's `matchFields` on `metadata.name`.
    NodeName,
    /// `spec.unschedulable` (cordoned), not tolerated.
    Unschedulable,
    /// A `NoSchedule` or `NoExecute` taint the pod does not tolerate (the first one).
    Taint(Taint),
    /// The node selector or required node affinity does not match.
    NodeAffinity,
    /// Not enough of some resource.
    Resources(Insufficient),
    /// No pod the required pod affinity asks for is in the node's topology domain.
    PodAffinity,
    /// A pod the required pod anti-affinity rules out is in the node's topology domain.
    PodAntiAffinity,
    /// A pod in the node's topology domain has required anti-affinity against this pod.
    ExistingAntiAffinity,
}

impl Failure {
    /// Whether evicting lower-priority pods from the node could remove this failure (kube-scheduler's
    /// `Unschedulable` as opposed to `UnschedulableAndUnresolvable`).
    pub fn resolvable(self) -> bool {
        match self {
            Failure::Resources(insufficient) => !insufficient.unresolvable,
            Failure::PodAntiAffinity | Failure::ExistingAntiAffinity => true,
            Failure::NodeName
            | Failure::Unschedulable
            | Failure::Taint(_)
            | Failure::NodeAffinity
            | Failure::PodAffinity => false,
        }
    }

    /// The reasons kube-scheduler prints for this failure. With `reveal_taints`, the taint is named as
    /// Kubernetes did before 1.35 (`node(s) had untolerated taint {key: value}`).
    pub fn reasons(self, pod: &PodInfo, symbols: &Symbols, reveal_taints: bool) -> Vec<String> {
        let reason = match self {
            Failure::NodeName => REASON_NODE_NAMES,
            Failure::Unschedulable => REASON_UNSCHEDULABLE,
            Failure::Taint(taint) if reveal_taints => {
                let (key, value) = (symbols.resolve(taint.key), symbols.resolve(taint.value));
                return vec![format!("node(s) had untolerated taint {{{key}: {value}}}")];
            }
            Failure::Taint(_) => REASON_TAINT,
            Failure::NodeAffinity => REASON_NODE_AFFINITY,
            Failure::PodAffinity => REASON_POD_AFFINITY,
            Failure::PodAntiAffinity => REASON_POD_ANTI_AFFINITY,
            Failure::ExistingAntiAffinity => REASON_EXISTING_ANTI_AFFINITY,
            Failure::Resources(insufficient) => {
                let mut reasons = Vec::new();
                for (bit, reason) in [
                    (Insufficient::PODS, "Too many pods"),
                    (Insufficient::CPU, "Insufficient cpu"),
                    (Insufficient::MEMORY, "Insufficient memory"),
                ] {
                    if insufficient.has(bit) {
                        reasons.push(reason.to_owned());
                    }
                }
                for (i, (name, _)) in pod.requests().fit.scalars.iter().enumerate() {
                    if insufficient.has(Insufficient::scalar(i)) {
                        reasons.push(format!("Insufficient {name}"));
                    }
                }
                return reasons;
            }
        };
        vec![reason.to_owned()]
    }
}

/// A symbol to compare with, or the knowledge that nothing can be equal to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SymMatch {
    Any,
    Is(Sym),
    Never,
}

impl SymMatch {
    fn of(symbols: &Symbols, s: &str) -> Self {
        symbols.get(s).map_or(Self::Never, Self::Is)
    }

    fn matches(self, sym: Sym) -> bool {
        match self {
            Self::Any => true,
            Self::Is(s) => s == sym,
            Self::Never => false,
        }
    }
}

/// A toleration in symbols.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CompiledToleration {
    key: SymMatch,
    value: SymMatch,
    effect: EffectMatch,
}

impl CompiledToleration {
    fn new(t: &Toleration, symbols: &Symbols) -> Self {
        let key = if t.key.is_empty() { SymMatch::Any } else { SymMatch::of(symbols, &t.key) };
        let value = match t.exists {
            Some(true) => SymMatch::Any,
            Some(false) => SymMatch::of(symbols, &t.value),
            None => SymMatch::Never,
        };
        Self { key, value, effect: t.effect }
    }

    pub fn tolerates(&self, taint: &Taint) -> bool {
        let effect = match self.effect {
            EffectMatch::Any => true,
            EffectMatch::Only(e) => e == taint.effect,
            EffectMatch::Never => false,
        };
        effect && self.key.matches(taint.key) && self.value.matches(taint.value)
    }
}

/// A node selector requirement in symbols.
#[derive(Debug, Clone)]
struct CompiledRequirement {
    /// `None` when no node has the key.
    key: Option<Sym>,
    operator: Operator,
    /// The values some node has; the others can match no label.
    values: Vec<Sym>,
    /// The bound of `Gt` and `Lt`.
    bound: i64,
}

impl CompiledRequirement {
    fn matches(&self, node: &NodeSlot, symbols: &Symbols) -> bool {
        let label = self.key.and_then(|k| node.label(k));
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                label.is_some_and(|v| self.values.contains(&v))
            }
            Operator::NotIn | Operator::NotEquals => label.is_none_or(|v| !self.values.contains(&v)),
            Operator::Exists => label.is_some(),
            Operator::DoesNotExist => label.is_none(),
            Operator::GreaterThan => label.and_then(|v| symbols.int(v)).is_some_and(|v| v > self.bound),
            Operator::LessThan => label.and_then(|v| symbols.int(v)).is_some_and(|v| v < self.bound),
        }
    }
}

/// A node selector term in symbols.
#[derive(Debug, Clone)]
pub(crate) struct CompiledTerm<'a> {
    requirements: Vec<CompiledRequirement>,
    fields: &'a [FieldRequirement],
    valid: bool,
}

impl<'a> CompiledTerm<'a> {
    fn new(term: &'a NodeTerm, symbols: &Symbols) -> Self {
        let requirements = term
            .expressions
            .iter()
            .map(|r| CompiledRequirement {
                key: symbols.get(r.key()),
                operator: r.operator(),
                values: r.values().iter().filter_map(|v| symbols.get(v)).collect(),
                bound: r.values().first().and_then(|v| v.parse().ok()).unwrap_or(0),
            })
            .collect();
        Self { requirements, fields: &term.fields, valid: term.valid }
    }

    pub fn matches(&self, node: &NodeSlot, symbols: &Symbols) -> bool {
        self.valid
            && self.requirements.iter().all(|r| r.matches(node, symbols))
            && self.fields.iter().all(|f| (node.name == f.node_name) == f.is_in)
    }
}

/// A pod (anti-)affinity term's matches, counted per value of its topology key.
#[derive(Debug, Clone, Default)]
struct TermCounts {
    /// `None` when no node has the topology key.
    key: Option<Sym>,
    counts: HashMap<Sym, u32>,
}

/// What kube-scheduler's `InterPodAffinity` `PreFilter` computes: matching pods per topology domain.
#[derive(Debug, Clone, Default)]
pub(crate) struct InterPod {
    /// The pod's required affinity terms, counting pods that match all of them.
    affinity: Vec<TermCounts>,
    /// Pods anywhere that match all affinity terms.
    affinity_total: u32,
    /// Whether the pod matches all its own affinity terms (then the first of a group may go anywhere).
    affinity_self: bool,
    /// The pod's required anti-affinity terms.
    anti: Vec<TermCounts>,
    /// Topology domains (key, value) where some pod's required anti-affinity rules this pod out.
    existing: HashMap<(Sym, Sym), u32>,
    existing_keys: Vec<Sym>,
}

impl InterPod {
    /// Counts the pods that the pod's terms match and the pods whose terms match the pod, or returns `None`
    /// when neither kind of term exists.
    fn new(snapshot: &Snapshot, pod: &PodInfo) -> Option<Self> {
        if pod.affinity.is_empty() && pod.anti_affinity.is_empty() && snapshot.anti_affinity_pods == 0 {
            return None;
        }
        let symbols = &snapshot.symbols;
        let terms = |terms: &[AffinityTerm]| -> Vec<TermCounts> {
            terms
                .iter()
                .map(|t| TermCounts { key: symbols.get(&t.topology_key), counts: HashMap::new() })
                .collect()
        };
        let mut state =
            Self { affinity: terms(&pod.affinity), anti: terms(&pod.anti_affinity), ..Self::default() };
        let no_labels = std::collections::BTreeMap::new();
        state.affinity_self = !pod.affinity.is_empty()
            && pod.affinity.iter().all(|t| t.matches(pod.namespace(), pod.labels(), || &no_labels));
        let own_namespace_labels = snapshot.namespace_labels(pod.namespace());
        let scan_existing = !pod.affinity.is_empty() || !pod.anti_affinity.is_empty();

        for node in snapshot.nodes.iter().filter(|n| n.present) {
            if !scan_existing && node.anti_affinity_pods == 0 {
                continue;
            }
            for existing in &node.pods {
                let other = &existing.info;
                if scan_existing {
                    if Self::matches_all_affinity(pod, other, snapshot) {
                        state.affinity_total += 1;
                        for counts in &mut state.affinity {
                            if let Some(value) = counts.key.and_then(|k| node.label(k)) {
                                *counts.counts.entry(value).or_default() += 1;
                            }
                        }
                    }
                    for (term, counts) in pod.anti_affinity.iter().zip(&mut state.anti) {
                        if term.matches(other.namespace(), other.labels(), || {
                            snapshot.namespace_labels(other.namespace())
                        }) && let Some(value) = counts.key.and_then(|k| node.label(k))
                        {
                            *counts.counts.entry(value).or_default() += 1;
                        }
                    }
                }
                for key in existing_contributions(other, pod, own_namespace_labels, symbols) {
                    if let Some(value) = node.label(key) {
                        *state.existing.entry((key, value)).or_default() += 1;
                        if !state.existing_keys.contains(&key) {
                            state.existing_keys.push(key);
                        }
                    }
                }
            }
        }
        Some(state)
    }

    /// Whether `other` matches every required affinity term of `pod` (and there is one).
    fn matches_all_affinity(pod: &PodInfo, other: &PodInfo, snapshot: &Snapshot) -> bool {
        !pod.affinity.is_empty()
            && pod.affinity.iter().all(|t| {
                t.matches(other.namespace(), other.labels(), || snapshot.namespace_labels(other.namespace()))
            })
    }

    /// `InterPodAffinity`'s filter for `node`, as if the `removed` pods (all on `node`) were gone.
    fn check(
        &self,
        snapshot: &Snapshot,
        pod: &PodInfo,
        node: &NodeSlot,
        removed: &[&PodInfo],
    ) -> Result<(), Failure> {
        let symbols = &snapshot.symbols;
        if !self.affinity.is_empty() {
            // Removed pods sat on this node, so they counted in this node's domain of every term.
            let removed_matching = u32::try_from(
                removed.iter().filter(|r| Self::matches_all_affinity(pod, r, snapshot)).count(),
            )
            .unwrap_or(u32::MAX);
            let mut pods_exist = true;
            for counts in &self.affinity {
                let Some(value) = counts.key.and_then(|k| node.label(k)) else {
                    return Err(Failure::PodAffinity);
                };
                let count = counts.counts.get(&value).copied().unwrap_or(0);
                if count.saturating_sub(removed_matching) == 0 {
                    pods_exist = false;
                }
            }
            if !pods_exist {
                // The first pod of a group that matches its own terms may go anywhere with the topology keys.
                let first_of_group =
                    self.affinity_total.saturating_sub(removed_matching) == 0 && self.affinity_self;
                if !first_of_group {
                    return Err(Failure::PodAffinity);
                }
            }
        }
        for (term, counts) in pod.anti_affinity.iter().zip(&self.anti) {
            if let Some(value) = counts.key.and_then(|k| node.label(k)) {
                let count = counts.counts.get(&value).copied().unwrap_or(0);
                let gone = removed
                    .iter()
                    .filter(|r| {
                        term.matches(r.namespace(), r.labels(), || snapshot.namespace_labels(r.namespace()))
                    })
                    .count();
                if count as usize > gone {
                    return Err(Failure::PodAntiAffinity);
                }
            }
        }
        for &key in &self.existing_keys {
            if let Some(value) = node.label(key) {
                let count = self.existing.get(&(key, value)).copied().unwrap_or(0);
                let own_labels = snapshot.namespace_labels(pod.namespace());
                let gone: usize = removed
                    .iter()
                    .map(|r| {
                        existing_contributions(r, pod, own_labels, symbols).filter(|&k| k == key).count()
                    })
                    .sum();
                if count as usize > gone {
                    return Err(Failure::ExistingAntiAffinity);
                }
            }
        }
        Ok(())
    }
}

/// The topology keys of `existing`'s required anti-affinity terms that match `pod`, one per matching term.
fn existing_contributions<'a>(
    existing: &'a PodInfo,
    pod: &'a PodInfo,
    pod_namespace_labels: &'a std::collections::BTreeMap<String, String>,
    symbols: &'a Symbols,
) -> impl Iterator<Item = Sym> + 'a {
    existing
        .anti_affinity
        .iter()
        .filter(move |t| t.matches(pod.namespace(), pod.labels(), || pod_namespace_labels))
        .filter_map(move |t| symbols.get(&t.topology_key))
}

/// A pod compiled against a snapshot: everything a filter or score needs, in symbols.
#[derive(Debug, Clone)]
pub(crate) struct Query<'a> {
    pub pod: &'a PodInfo,
    tolerations: Vec<CompiledToleration>,
    /// The tolerations that can tolerate `PreferNoSchedule` (effect empty or `PreferNoSchedule`).
    pub prefer_tolerations: Vec<CompiledToleration>,
    tolerates_unschedulable: bool,
    /// The `nodeSelector` as (key, value) symbols; `None` when some key or value is on no node.
    node_selector: Option<Vec<(Sym, Sym)>>,
    required: Option<Vec<CompiledTerm<'a>>>,
    pub node_names: Option<&'a BTreeSet<String>>,
    pub preferred: Vec<(i64, CompiledTerm<'a>)>,
    inter_pod: Option<InterPod>,
}

impl<'a> Query<'a> {
    pub fn new(snapshot: &Snapshot, pod: &'a PodInfo) -> Self {
        let symbols = &snapshot.symbols;
        let tolerations: Vec<CompiledToleration> =
            pod.tolerations.iter().map(|t| CompiledToleration::new(t, symbols)).collect();
        let prefer_tolerations = tolerations
            .iter()
            .filter(|t| {
                matches!(t.effect, EffectMatch::Any | EffectMatch::Only(TaintEffect::PreferNoSchedule))
            })
            .copied()
            .collect();
        let tolerates_unschedulable =
            pod.tolerations.iter().any(|t| t.tolerates(UNSCHEDULABLE_TAINT, "", TaintEffect::NoSchedule));
        let node_selector = pod
            .node_selector
            .iter()
            .map(|(k, v)| Some((symbols.get(k)?, symbols.get(v)?)))
            .collect::<Option<Vec<_>>>();
        let required = pod
            .required_node_terms
            .as_ref()
            .map(|terms| terms.iter().map(|t| CompiledTerm::new(t, symbols)).collect());
        let preferred =
            pod.preferred_node_terms.iter().map(|(w, t)| (*w, CompiledTerm::new(t, symbols))).collect();
        Self {
            pod,
            tolerations,
            prefer_tolerations,
            tolerates_unschedulable,
            node_selector,
            required,
            node_names: pod.node_names.as_ref(),
            preferred,
            inter_pod: InterPod::new(snapshot, pod),
        }
    }
}

/// A change to a node's pods to check a pod against: nominated pods added, preemption victims removed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Adjustment<'a> {
    /// Added to the node's requested resources (negative for removed pods).
    pub delta: Resources,
    pub delta_pods: i64,
    /// Pods taken off the node.
    pub removed: Vec<&'a PodInfo>,
}

impl<'a> Adjustment<'a> {
    /// The pods nominated to `node` that go before `pod` (equal or higher priority, not the pod itself), which
    /// kube-scheduler counts as if they were running there.
    pub fn nominated(node: &NodeSlot, pod: &PodInfo) -> Option<Self> {
        let mut adjustment: Option<Self> = None;
        for other in node.nominated.iter().filter(|p| p.priority() >= pod.priority() && p.key() != pod.key())
        {
            let adjustment = adjustment.get_or_insert_with(Self::default);
            adjustment.delta.add_scaled(&other.requests().fit, 1);
            adjustment.delta_pods += 1;
        }
        adjustment
    }

    /// Takes `pod` off the node.
    pub fn remove(&mut self, pod: &'a PodInfo) {
        self.delta.add_scaled(&pod.requests().fit, -1);
        self.delta_pods -= 1;
        self.removed.push(pod);
    }

    /// Puts a removed `pod` back.
    pub fn restore(&mut self, pod: &'a PodInfo) {
        self.delta.add_scaled(&pod.requests().fit, 1);
        self.delta_pods += 1;
        if let Some(i) = self.removed.iter().position(|r| r.key() == pod.key()) {
            self.removed.swap_remove(i);
        }
    }
}

/// `NodeUnschedulable`: a cordoned node takes only pods that tolerate `node.kubernetes.io/unschedulable`.
pub(crate) fn node_unschedulable(q: &Query, node: &NodeSlot) -> Result<(), Failure> {
    if node.unschedulable && !q.tolerates_unschedulable { Err(Failure::Unschedulable) } else { Ok(()) }
}

/// `TaintToleration`: every `NoSchedule` and `NoExecute` taint must be tolerated; the first that is not is
/// the failure.
pub(crate) fn taint_toleration(q: &Query, node: &NodeSlot) -> Result<(), Failure> {
    for taint in &node.taints {
        if taint.effect != TaintEffect::PreferNoSchedule && !q.tolerations.iter().any(|t| t.tolerates(taint))
        {
            return Err(Failure::Taint(*taint));
        }
    }
    Ok(())
}

/// `NodeAffinity`: every `nodeSelector` label, and one of the required terms (ORed; a term's expressions and
/// fields are ANDed).
pub(crate) fn node_affinity(q: &Query, node: &NodeSlot, symbols: &Symbols) -> Result<(), Failure> {
    let selector_ok = match &q.node_selector {
        Some(pairs) => pairs.iter().all(|&(k, v)| node.label(k) == Some(v)),
        None => false,
    };
    let terms_ok = q.required.as_ref().is_none_or(|terms| terms.iter().any(|t| t.matches(node, symbols)));
    if selector_ok && terms_ok { Ok(()) } else { Err(Failure::NodeAffinity) }
}

/// `NodeResourcesFit`: one more pod and the pod's requests must fit what the node's pods (adjusted) leave of
/// its allocatable resources. A request larger than the whole allocatable amount cannot be fixed by preemption.
pub(crate) fn resources_fit(
    q: &Query,
    node: &NodeSlot,
    adjustment: Option<&Adjustment>,
) -> Result<(), Failure> {
    let fit = &q.pod.requests().fit;
    let (delta_cpu, delta_memory, delta_pods) =
        adjustment.map_or((0, 0, 0), |a| (a.delta.milli_cpu, a.delta.memory, a.delta_pods));
    let mut insufficient = Insufficient::default();
    // Saturating throughout: requests are as large as a pod spec says.
    let pods = (node.pods.len() as i64).saturating_add(delta_pods);
    if pods.saturating_add(1) > node.allowed_pods {
        insufficient.missing |= Insufficient::PODS;
    }
    let free_cpu =
        node.allocatable.milli_cpu.saturating_sub(node.requested.milli_cpu.saturating_add(delta_cpu));
    if fit.milli_cpu > 0 && fit.milli_cpu > free_cpu {
        insufficient.missing |= Insufficient::CPU;
        insufficient.unresolvable |= fit.milli_cpu > node.allocatable.milli_cpu;
    }
    let free_memory =
        node.allocatable.memory.saturating_sub(node.requested.memory.saturating_add(delta_memory));
    if fit.memory > 0 && fit.memory > free_memory {
        insufficient.missing |= Insufficient::MEMORY;
        insufficient.unresolvable |= fit.memory > node.allocatable.memory;
    }
    for (i, (name, amount)) in fit.scalars.iter().enumerate() {
        let allocatable = node.allocatable.scalar(name);
        let used = node.requested.scalar(name).saturating_add(adjustment.map_or(0, |a| a.delta.scalar(name)));
        if *amount > allocatable.saturating_sub(used) {
            insufficient.missing |= Insufficient::scalar(i);
            insufficient.unresolvable |= *amount > allocatable;
        }
    }
    if insufficient == Insufficient::default() { Ok(()) } else { Err(Failure::Resources(insufficient)) }
}

/// `InterPodAffinity`: required pod affinity, required pod anti-affinity, and other pods' required
/// anti-affinity against this pod, per topology domain.
pub(crate) fn inter_pod_affinity(
    q: &Query,
    snapshot: &Snapshot,
    node: &NodeSlot,
    adjustment: Option<&Adjustment>,
) -> Result<(), Failure> {
    match &q.inter_pod {
        Some(state) => state.check(snapshot, q.pod, node, adjustment.map_or(&[], |a| &a.removed)),
        None => Ok(()),
    }
}

/// Runs the filters in kube-scheduler's order (`NodeUnschedulable`, `TaintToleration`, `NodeAffinity`,
/// `NodeResourcesFit`, `InterPodAffinity`) and returns the first failure. Pods nominated to the node that go
/// before this one count as placed; `adjustment`, when given, replaces that (preemption's dry runs).
pub(crate) fn check(
    q: &Query,
    snapshot: &Snapshot,
    node: &NodeSlot,
    adjustment: Option<&Adjustment>,
) -> Result<(), Failure> {
    if q.node_names.is_some_and(|names| !names.contains(&node.name)) {
        return Err(Failure::NodeName);
    }
    node_unschedulable(q, node)?;
    taint_toleration(q, node)?;
    node_affinity(q, node, &snapshot.symbols)?;
    match adjustment {
        Some(adjustment) => resources_fit(q, node, Some(adjustment))?,
        None if node.nominated.is_empty() => resources_fit(q, node, None)?,
        None => resources_fit(q, node, Adjustment::nominated(node, q.pod).as_ref())?,
    }
    inter_pod_affinity(q, snapshot, node, adjustment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::testing::{bound, node, pod, ready_node};
    use serde_json::{Value, json};

    /// Runs the filters for `pod` against the node `name` of `snapshot` and returns the printed reasons.
    fn reasons(snapshot: &Snapshot, pod: &Value, name: &str, reveal_taints: bool) -> Vec<String> {
        let info = PodInfo::from_pod(&crate::placement::testing::pod(pod.clone()));
        let q = Query::new(snapshot, &info);
        let slot = snapshot.nodes.iter().find(|n| n.name == name).unwrap_or_else(|| panic!("no node {name}"));
        match check(&q, snapshot, slot, None) {
            Ok(()) => Vec::new(),
            Err(failure) => failure.reasons(&info, &snapshot.symbols, reveal_taints),
        }
    }

    fn one_node(node: Value) -> Snapshot {
        let mut snapshot = Snapshot::new();
        snapshot.upsert_node(&crate::placement::testing::node(node));
        snapshot
    }

    fn spec(spec: Value) -> Value {
        let mut spec = spec;
        if spec.get("containers").is_none() {
            spec["containers"] = json!([]);
        }
        json!({"metadata": {"name": "p", "namespace": "ns", "labels": {"app": "web"}}, "spec": spec})
    }

    #[test]
    fn node_unschedulable_filter() {
        let cordoned = one_node(ready_node("n", "4", "8Gi", json!({}), json!({"unschedulable": true})));
        let cases = [
            (json!({}), vec![REASON_UNSCHEDULABLE]),
            (
                json!({"tolerations": [{"key": UNSCHEDULABLE_TAINT, "operator": "Exists", "effect": "NoSchedule"}]}),
                vec![],
            ),
            (json!({"tolerations": [{"operator": "Exists"}]}), vec![]),
            (
                json!({"tolerations": [{"key": UNSCHEDULABLE_TAINT, "operator": "Exists", "effect": "NoExecute"}]}),
                vec![REASON_UNSCHEDULABLE],
            ),
        ];
        for (pod_spec, expected) in cases {
            assert_eq!(reasons(&cordoned, &spec(pod_spec.clone()), "n", false), expected, "{pod_spec}");
        }
    }

    #[test]
    fn taint_toleration_filter() {
        let tainted = one_node(ready_node(
            "n",
            "4",
            "8Gi",
            json!({}),
            json!({"taints": [
            {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
            {"key": "dedicated", "value": "db", "effect": "NoExecute"},
            {"key": "soft", "value": "x", "effect": "PreferNoSchedule"}]}),
        ));
        let control_plane = json!({"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"});
        let cases = [
            (json!({}), vec![REASON_TAINT]),
            (json!({"tolerations": [control_plane]}), vec![REASON_TAINT]),
            (json!({"tolerations": [control_plane, {"key": "dedicated", "value": "db"}]}), vec![]),
            (
                json!({"tolerations": [control_plane, {"key": "dedicated", "value": "web"}]}),
                vec![REASON_TAINT],
            ),
            (
                json!({"tolerations": [control_plane, {"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}]}),
                vec![REASON_TAINT],
            ),
            (
                json!({"tolerations": [control_plane, {"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}]}),
                vec![],
            ),
            (json!({"tolerations": [{"operator": "Exists"}]}), vec![]),
            (
                json!({"tolerations": [{"key": "", "operator": "Exists", "effect": "NoSchedule"},
                                    {"key": "", "operator": "Exists", "effect": "NoExecute"}]}),
                vec![],
            ),
        ];
        for (pod_spec, expected) in cases {
            assert_eq!(reasons(&tainted, &spec(pod_spec.clone()), "n", false), expected, "{pod_spec}");
        }
        // Revealed, the first untolerated taint is named as Kubernetes did before 1.35.
        assert_eq!(
            reasons(&tainted, &spec(json!({})), "n", true),
            ["node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"]
        );
        assert_eq!(
            reasons(&tainted, &spec(json!({"tolerations": [control_plane]})), "n", true),
            ["node(s) had untolerated taint {dedicated: db}"]
        );
        // A node that is not ready carries the not-ready taint.
        let not_ready = one_node(
            json!({"metadata": {"name": "n"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}}),
        );
        assert_eq!(
            reasons(&not_ready, &spec(json!({})), "n", true),
            ["node(s) had untolerated taint {node.kubernetes.io/not-ready: }"]
        );
        let tolerant =
            json!({"tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists"}]});
        assert_eq!(reasons(&not_ready, &spec(tolerant), "n", true), vec!["Too many pods".to_owned()]);
    }

    #[test]
    fn node_affinity_filter() {
        let labels = json!({"zone": "a", "disk": "ssd", "cores": "8", "gpu": ""});
        let snapshot = one_node(ready_node("n1", "4", "8Gi", labels, json!({})));
        let expr = |key: &str, op: &str, values: Value| json!({"key": key, "operator": op, "values": values});
        let required = |terms: Value| json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}});
        let terms = |exprs: Vec<Value>| required(json!([{"matchExpressions": exprs}]));
        let cases: Vec<(&str, Value, bool)> = vec![
            ("no constraints", json!({}), true),
            ("selector matches", json!({"nodeSelector": {"zone": "a", "disk": "ssd"}}), true),
            ("selector value differs", json!({"nodeSelector": {"zone": "b"}}), false),
            ("selector key absent everywhere", json!({"nodeSelector": {"region": "x"}}), false),
            (
                "hostname defaults to the name",
                json!({"nodeSelector": {"kubernetes.io/hostname": "n1"}}),
                true,
            ),
            ("In", terms(vec![expr("zone", "In", json!(["b", "a"]))]), true),
            ("In with unknown values", terms(vec![expr("zone", "In", json!(["q"]))]), false),
            ("NotIn", terms(vec![expr("zone", "NotIn", json!(["b"]))]), true),
            ("NotIn excludes", terms(vec![expr("zone", "NotIn", json!(["a"]))]), false),
            ("NotIn on an absent label", terms(vec![expr("region", "NotIn", json!(["a"]))]), true),
            ("Exists", terms(vec![expr("gpu", "Exists", json!([]))]), true),
            ("Exists absent", terms(vec![expr("region", "Exists", json!([]))]), false),
            ("DoesNotExist", terms(vec![expr("region", "DoesNotExist", json!([]))]), true),
            ("DoesNotExist present", terms(vec![expr("zone", "DoesNotExist", json!([]))]), false),
            ("Gt", terms(vec![expr("cores", "Gt", json!(["4"]))]), true),
            ("Gt equal", terms(vec![expr("cores", "Gt", json!(["8"]))]), false),
            ("Lt", terms(vec![expr("cores", "Lt", json!(["16"]))]), true),
            ("Lt smaller", terms(vec![expr("cores", "Lt", json!(["2"]))]), false),
            ("Gt on a non-integer label", terms(vec![expr("zone", "Gt", json!(["1"]))]), false),
            ("Gt on an absent label", terms(vec![expr("region", "Gt", json!(["1"]))]), false),
            (
                "expressions are ANDed",
                terms(vec![expr("zone", "In", json!(["a"])), expr("disk", "In", json!(["hdd"]))]),
                false,
            ),
            (
                "terms are ORed",
                required(json!([{"matchExpressions": [expr("zone", "In", json!(["b"]))]},
                              {"matchExpressions": [expr("disk", "In", json!(["ssd"]))]}])),
                true,
            ),
            (
                "an invalid term is skipped, others count",
                required(json!([{"matchExpressions": [expr("zone", "Gt", json!(["x"]))]},
                              {"matchExpressions": [expr("disk", "Exists", json!([]))]}])),
                true,
            ),
            ("an empty term matches nothing", required(json!([{}])), false),
            ("no terms match nothing", required(json!([])), false),
            (
                "matchFields NotIn",
                required(json!([{"matchFields": [expr("metadata.name", "NotIn", json!(["n2"]))]}])),
                true,
            ),
            (
                "matchFields NotIn self",
                required(json!([{"matchFields": [expr("metadata.name", "NotIn", json!(["n1"]))]}])),
                false,
            ),
            (
                "selector and affinity are ANDed",
                json!({"nodeSelector": {"zone": "b"}, "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                 {"nodeSelectorTerms": [{"matchExpressions": [expr("zone", "Exists", json!([]))]}]}}}}),
                false,
            ),
        ];
        for (case, pod_spec, fits) in cases {
            let expected: Vec<&str> = if fits { vec![] } else { vec![REASON_NODE_AFFINITY] };
            assert_eq!(reasons(&snapshot, &spec(pod_spec), "n1", false), expected, "{case}");
        }
        // matchFields In narrows the nodes before filtering.
        let named = required(json!([{"matchFields": [expr("metadata.name", "In", json!(["n2"]))]}]));
        assert_eq!(reasons(&snapshot, &spec(named), "n1", false), [REASON_NODE_NAMES]);
    }

    #[test]
    fn compiled_requirements_agree_with_the_selector_library() {
        use api::selector::Requirement;
        let labels: std::collections::BTreeMap<String, String> =
            [("zone", "a"), ("cores", "8"), ("empty", "")]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
        let snapshot = one_node(ready_node("n", "1", "1Gi", json!(labels), json!({})));
        let node = &snapshot.nodes[0];
        let ops = [
            Operator::In,
            Operator::NotIn,
            Operator::Exists,
            Operator::DoesNotExist,
            Operator::GreaterThan,
            Operator::LessThan,
        ];
        for key in ["zone", "cores", "empty", "absent"] {
            for op in ops {
                let value_sets: Vec<Vec<String>> = match op {
                    Operator::Exists | Operator::DoesNotExist => vec![vec![]],
                    Operator::GreaterThan | Operator::LessThan => {
                        vec![vec!["7".into()], vec!["8".into()], vec!["9".into()]]
                    }
                    _ => vec![vec!["a".into()], vec!["b".into(), "8".into()], vec![String::new()]],
                };
                for values in value_sets {
                    let Ok(requirement) = Requirement::new(key, op, values.clone()) else { continue };
                    let term =
                        NodeTerm { expressions: vec![requirement.clone()], fields: vec![], valid: true };
                    let compiled = CompiledTerm::new(&term, &snapshot.symbols);
                    assert_eq!(
                        compiled.matches(node, &snapshot.symbols),
                        requirement.matches(&labels),
                        "{key} {op:?} {values:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn resources_fit_filter() {
        let mut snapshot = one_node(ready_node("n", "2", "4Gi", json!({}), json!({})));
        if let Some(slot) = snapshot.nodes.first_mut() {
            slot.allowed_pods = 3;
            slot.allocatable.scalars = vec![("example.com/gpu".to_owned(), 1)];
        }
        snapshot.upsert_pod(&bound("a", "n", "1500m", "1Gi"));
        let container =
            |requests: Value| json!({"containers": [{"name": "c", "resources": {"requests": requests}}]});
        let cases: Vec<(Value, Vec<&str>, bool)> = vec![
            (container(json!({"cpu": "500m", "memory": "3Gi"})), vec![], true),
            (container(json!({"cpu": "501m"})), vec!["Insufficient cpu"], true),
            (container(json!({"memory": "3073Mi"})), vec!["Insufficient memory"], true),
            (
                container(json!({"cpu": "1", "memory": "4Gi"})),
                vec!["Insufficient cpu", "Insufficient memory"],
                true,
            ),
            (container(json!({"cpu": "3"})), vec!["Insufficient cpu"], false),
            (container(json!({"example.com/gpu": "1"})), vec![], true),
            (
                container(json!({"example.com/gpu": "2", "ephemeral-storage": "1Gi"})),
                vec!["Insufficient ephemeral-storage", "Insufficient example.com/gpu"],
                false,
            ),
            (json!({"containers": [{"name": "c"}]}), vec![], true),
        ];
        for (pod_spec, expected, resolvable) in cases {
            let info = PodInfo::from_pod(&pod(spec(pod_spec.clone())));
            let q = Query::new(&snapshot, &info);
            let result = resources_fit(&q, &snapshot.nodes[0], None);
            let got = result.err().map(|f| f.reasons(&info, &snapshot.symbols, false)).unwrap_or_default();
            assert_eq!(got, expected, "{pod_spec}");
            if let Err(failure) = result {
                assert_eq!(failure.resolvable(), resolvable, "{pod_spec}");
            }
        }
        snapshot.upsert_pod(&bound("b", "n", "0", "0"));
        snapshot.upsert_pod(&bound("c", "n", "0", "0"));
        assert_eq!(reasons(&snapshot, &spec(json!({})), "n", false), ["Too many pods"]);
        assert_eq!(
            reasons(&snapshot, &spec(container(json!({"cpu": "1"}))), "n", false),
            ["Too many pods", "Insufficient cpu"]
        );
    }

    #[test]
    fn nominated_pods_of_equal_or_higher_priority_count() {
        let mut snapshot = one_node(ready_node("n", "2", "4Gi", json!({}), json!({})));
        let nominated = |name: &str, priority: i32| {
            pod(json!({"metadata": {"name": name, "namespace": "ns"},
                "spec": {"priority": priority, "containers": [{"name": "c", "resources": {"requests": {"cpu": "1500m"}}}]},
                "status": {"nominatedNodeName": "n"}}))
        };
        snapshot.upsert_pod(&nominated("high", 10));
        let small = |priority: i32| {
            spec(
                json!({"priority": priority, "containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}),
            )
        };
        assert_eq!(reasons(&snapshot, &small(5), "n", false), ["Insufficient cpu"]);
        assert_eq!(reasons(&snapshot, &small(10), "n", false), ["Insufficient cpu"]);
        assert!(reasons(&snapshot, &small(11), "n", false).is_empty());
        // The nominated pod itself is not counted against itself.
        let own = json!({"metadata": {"name": "high", "namespace": "ns"},
            "spec": {"priority": 10, "containers": [{"name": "c", "resources": {"requests": {"cpu": "1500m"}}}]}});
        assert!(reasons(&snapshot, &own, "n", false).is_empty());
    }

    /// A snapshot of zone-labelled nodes with pods labelled `app`.
    fn zoned() -> Snapshot {
        let mut snapshot = Snapshot::new();
        for (name, zone) in [("n1", "a"), ("n2", "a"), ("n3", "b"), ("n4", "c")] {
            snapshot.upsert_node(&node(ready_node(name, "8", "16Gi", json!({"zone": zone}), json!({}))));
        }
        let labelled = |name: &str, node: &str, namespace: &str, app: &str| {
            pod(json!({"metadata": {"name": name, "namespace": namespace, "labels": {"app": app}},
                       "spec": {"nodeName": node, "containers": []}}))
        };
        snapshot.upsert_pod(&labelled("db", "n1", "ns", "db"));
        snapshot.upsert_pod(&labelled("cache", "n3", "other", "cache"));
        snapshot
    }

    fn term(app: &str, topology: &str) -> Value {
        json!({"topologyKey": topology, "labelSelector": {"matchLabels": {"app": app}}})
    }

    #[test]
    fn pod_anti_affinity_filter() {
        let snapshot = zoned();
        let anti = |terms: Value| json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": terms}}});
        let host = "kubernetes.io/hostname";
        // (pod spec, nodes that fail)
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (anti(json!([term("db", host)])), vec!["n1"]),
            (anti(json!([term("db", "zone")])), vec!["n1", "n2"]),
            (anti(json!([term("cache", host)])), vec![]),
            (
                anti(
                    json!([{"topologyKey": host, "namespaces": ["other"], "labelSelector": {"matchLabels": {"app": "cache"}}}]),
                ),
                vec!["n3"],
            ),
            (
                anti(
                    json!([{"topologyKey": host, "namespaceSelector": {}, "labelSelector": {"matchLabels": {"app": "cache"}}}]),
                ),
                vec!["n3"],
            ),
            (
                anti(json!([{"topologyKey": host, "namespaceSelector": {"matchLabels": {"team": "x"}},
                          "labelSelector": {"matchLabels": {"app": "cache"}}}])),
                vec![],
            ),
            (anti(json!([term("db", "rack")])), vec![]),
            (anti(json!([term("db", host), term("cache", "zone")])), vec!["n1"]),
        ];
        for (pod_spec, failing) in cases {
            for name in ["n1", "n2", "n3", "n4"] {
                let expected: Vec<&str> =
                    if failing.contains(&name) { vec![REASON_POD_ANTI_AFFINITY] } else { vec![] };
                assert_eq!(
                    reasons(&snapshot, &spec(pod_spec.clone()), name, false),
                    expected,
                    "{pod_spec} on {name}"
                );
            }
        }
        // With the namespace labelled, the selector finds it.
        let mut labelled = snapshot.clone();
        let ns = serde_json::from_value(json!({"metadata": {"name": "other", "labels": {"team": "x"}}}));
        labelled.upsert_namespace(&ns.unwrap_or_else(|e| panic!("{e}")));
        let selected =
            anti(json!([{"topologyKey": host, "namespaceSelector": {"matchLabels": {"team": "x"}},
                                    "labelSelector": {"matchLabels": {"app": "cache"}}}]));
        assert_eq!(reasons(&labelled, &spec(selected), "n3", false), [REASON_POD_ANTI_AFFINITY]);
    }

    #[test]
    fn existing_pods_anti_affinity_filter() {
        let mut snapshot = zoned();
        snapshot.upsert_pod(&pod(
            json!({"metadata": {"name": "loner", "namespace": "ns", "labels": {"app": "loner"}},
            "spec": {"nodeName": "n3", "containers": [], "affinity": {"podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [term("web", "zone")]}}}}),
        ));
        for (name, fails) in [("n1", false), ("n2", false), ("n3", true), ("n4", false)] {
            let expected: Vec<&str> = if fails { vec![REASON_EXISTING_ANTI_AFFINITY] } else { vec![] };
            assert_eq!(reasons(&snapshot, &spec(json!({})), name, false), expected, "{name}");
        }
        // A pod in another namespace is not matched by the term (its namespace is the declaring pod's).
        let elsewhere = json!({"metadata": {"name": "p", "namespace": "elsewhere", "labels": {"app": "web"}},
                               "spec": {"containers": []}});
        assert!(reasons(&snapshot, &elsewhere, "n3", false).is_empty());
    }

    #[test]
    fn pod_affinity_filter() {
        let snapshot = zoned();
        let affinity = |terms: Value| json!({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": terms}}});
        let host = "kubernetes.io/hostname";
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (affinity(json!([term("db", host)])), vec!["n1"]),
            (affinity(json!([term("db", "zone")])), vec!["n1", "n2"]),
            (affinity(json!([term("db", "zone"), term("db", host)])), vec!["n1"]),
            (affinity(json!([term("cache", "zone")])), vec![]),
            // No pod matches and the pod matches its own term: the first of a group goes anywhere with the key.
            (affinity(json!([term("web", "zone")])), vec!["n1", "n2", "n3", "n4"]),
            (affinity(json!([term("web", "rack")])), vec![]),
        ];
        for (pod_spec, passing) in cases {
            for name in ["n1", "n2", "n3", "n4"] {
                let expected: Vec<&str> =
                    if passing.contains(&name) { vec![] } else { vec![REASON_POD_AFFINITY] };
                assert_eq!(
                    reasons(&snapshot, &spec(pod_spec.clone()), name, false),
                    expected,
                    "{pod_spec} on {name}"
                );
            }
        }
    }

    #[test]
    fn filters_run_in_order_and_stop_at_the_first_failure() {
        let snapshot = one_node(ready_node(
            "n",
            "1",
            "1Gi",
            json!({"zone": "a"}),
            json!({"unschedulable": true,
            "taints": [{"key": "k", "effect": "NoSchedule"}]}),
        ));
        let big = json!({"nodeSelector": {"zone": "b"}, "containers": [{"name": "c", "resources": {"requests": {"cpu": "2"}}}]});
        assert_eq!(reasons(&snapshot, &spec(big.clone()), "n", false), [REASON_UNSCHEDULABLE]);
        let mut tolerant = big;
        tolerant["tolerations"] = json!([{"operator": "Exists"}]);
        assert_eq!(reasons(&snapshot, &spec(tolerant.clone()), "n", false), [REASON_NODE_AFFINITY]);
        tolerant["nodeSelector"] = json!({"zone": "a"});
        assert_eq!(reasons(&snapshot, &spec(tolerant), "n", false), ["Insufficient cpu"]);
    }
}
