//! The scheduler's view of a pod, computed once from the object: identity, priority, resource requests the
//! Kubernetes way, tolerations, node selector and affinities.
//!
//! Parsing happens here so that a decision never re-parses quantities or selectors. Nothing a pod spec contains
//! can fail the conversion: a bad quantity or selector is recorded as [`PodInfo::problem`], counts as zero,
//! and makes the pod unschedulable with that message.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use api::quantity::{cpu_millis, memory_bytes};
use api::selector::{LabelSelector, Operator, Requirement};
use k8s_openapi::api::core::v1::{
    Container, NodeSelectorRequirement, NodeSelectorTerm, Pod, PodAffinityTerm, PodSpec,
    Toleration as K8sToleration,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::jiff::Timestamp;

/// The CPU a container without a CPU request counts as when scoring (kube-scheduler's `DefaultMilliCPURequest`).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// The memory a container without a memory request counts as when scoring (`DefaultMemoryRequest`, 200Mi).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// The node label that names a node's own topology domain; nodes without it get it from their name.
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// Amounts of the resources a scheduler accounts for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    /// CPU in millicores.
    pub milli_cpu: i64,
    /// Memory in bytes.
    pub memory: i64,
    /// Every other resource (`ephemeral-storage`, `hugepages-*`, extended resources) in whole units, sorted by
    /// name and without zero amounts.
    pub scalars: Vec<(String, i64)>,
}

impl Resources {
    /// The amount of the scalar resource `name`, zero when absent.
    pub fn scalar(&self, name: &str) -> i64 {
        self.scalars.binary_search_by(|(n, _)| n.as_str().cmp(name)).map_or(0, |i| self.scalars[i].1)
    }

    /// Adds `other` to `self`, or subtracts it when `sign` is -1; scalar entries that reach zero are removed.
    pub(crate) fn add_scaled(&mut self, other: &Resources, sign: i64) {
        self.milli_cpu = self.milli_cpu.saturating_add(sign.saturating_mul(other.milli_cpu));
        self.memory = self.memory.saturating_add(sign.saturating_mul(other.memory));
        for (name, amount) in &other.scalars {
            match self.scalars.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
                Ok(i) => {
                    self.scalars[i].1 = self.scalars[i].1.saturating_add(sign.saturating_mul(*amount));
                    if self.scalars[i].1 == 0 {
                        self.scalars.remove(i);
                    }
                }
                Err(i) => self.scalars.insert(i, (name.clone(), sign.saturating_mul(*amount))),
            }
        }
    }
}

/// What a pod asks of a node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requests {
    /// What the resource fit filter checks: missing requests count as zero (`NodeResourcesFit`).
    pub fit: Resources,
    /// CPU for scoring, with [`DEFAULT_MILLI_CPU_REQUEST`] for each container that requests none.
    pub non_zero_milli_cpu: i64,
    /// Memory for scoring, with [`DEFAULT_MEMORY_REQUEST`] for each container that requests none.
    pub non_zero_memory: i64,
}

/// A taint effect the scheduler acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaintEffect {
    /// New pods that do not tolerate the taint are not placed on the node.
    NoSchedule,
    /// The scheduler avoids the node for pods that do not tolerate the taint.
    PreferNoSchedule,
    /// Like `NoSchedule`, and running pods that do not tolerate it are evicted.
    NoExecute,
}

impl TaintEffect {
    /// The effect named `s`, or `None` for one the scheduler does not know (such taints are ignored).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "NoSchedule" => Some(Self::NoSchedule),
            "PreferNoSchedule" => Some(Self::PreferNoSchedule),
            "NoExecute" => Some(Self::NoExecute),
            _ => None,
        }
    }
}

/// Which taint effects a toleration covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EffectMatch {
    /// No effect given: every effect.
    Any,
    /// Exactly this effect.
    Only(TaintEffect),
    /// An effect no taint the scheduler acts on has.
    Never,
}

/// A toleration as `v1.Toleration.ToleratesTaint` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Toleration {
    /// Empty means every key (with `Exists`).
    pub key: String,
    /// `Exists` ignores the value; `None` is an operator Kubernetes does not know, which tolerates nothing.
    pub exists: Option<bool>,
    pub value: String,
    pub effect: EffectMatch,
}

impl Toleration {
    fn from_k8s(t: &K8sToleration) -> Self {
        let exists = match t.operator.as_deref() {
            None | Some("" | "Equal") => Some(false),
            Some("Exists") => Some(true),
            Some(_) => None,
        };
        let effect = match t.effect.as_deref() {
            None | Some("") => EffectMatch::Any,
            Some(e) => TaintEffect::parse(e).map_or(EffectMatch::Never, EffectMatch::Only),
        };
        Self {
            key: t.key.clone().unwrap_or_default(),
            exists,
            value: t.value.clone().unwrap_or_default(),
            effect,
        }
    }

    /// Whether this toleration tolerates a taint with `key`, `value` and `effect`.
    pub fn tolerates(&self, key: &str, value: &str, effect: TaintEffect) -> bool {
        let effect_ok = match self.effect {
            EffectMatch::Any => true,
            EffectMatch::Only(e) => e == effect,
            EffectMatch::Never => false,
        };
        effect_ok
            && (self.key.is_empty() || self.key == key)
            && match self.exists {
                Some(true) => true,
                Some(false) => self.value == value,
                None => false,
            }
    }
}

/// One `metadata.name` requirement of a node selector term's `matchFields`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldRequirement {
    /// `In` when true, `NotIn` when false.
    pub is_in: bool,
    pub node_name: String,
}

/// A node selector term: all expressions and fields must hold. An invalid or empty term matches no node, as
/// in Kubernetes, where a term that fails to parse is skipped while the other terms still count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeTerm {
    pub expressions: Vec<Requirement>,
    pub fields: Vec<FieldRequirement>,
    pub valid: bool,
}

impl NodeTerm {
    fn from_k8s(term: &NodeSelectorTerm) -> Self {
        let expressions: Result<Vec<_>, _> = term
            .match_expressions
            .iter()
            .flatten()
            .map(Requirement::from_node_selector_requirement)
            .collect();
        let fields: Option<Vec<_>> = term.match_fields.iter().flatten().map(field_requirement).collect();
        match (expressions, fields) {
            (Ok(expressions), Some(fields)) => {
                let valid = !expressions.is_empty() || !fields.is_empty();
                Self { expressions, fields, valid }
            }
            _ => Self { expressions: Vec::new(), fields: Vec::new(), valid: false },
        }
    }
}

/// A `matchFields` entry: only `metadata.name` with `In` or `NotIn` and exactly one value, as Kubernetes'
/// `NodeSelectorRequirementsAsFieldSelector` accepts.
fn field_requirement(r: &NodeSelectorRequirement) -> Option<FieldRequirement> {
    let is_in = match r.operator.as_str() {
        "In" => true,
        "NotIn" => false,
        _ => return None,
    };
    match (r.key.as_str(), r.values.as_deref()) {
        ("metadata.name", Some([name])) => Some(FieldRequirement { is_in, node_name: name.clone() }),
        _ => None,
    }
}

/// A pod (anti-)affinity term with its namespaces resolved relative to the pod that declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AffinityTerm {
    pub selector: LabelSelector,
    /// Sorted; the declaring pod's own namespace when neither `namespaces` nor `namespaceSelector` is given.
    pub namespaces: Vec<String>,
    /// Matches nothing when absent, everything when empty.
    pub namespace_selector: LabelSelector,
    pub topology_key: String,
}

impl AffinityTerm {
    fn from_k8s(
        term: &PodAffinityTerm,
        namespace: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<Self, String> {
        let invalid = |e: api::selector::SelectorError| format!("invalid pod affinity term: {e}");
        let mut selector = LabelSelector::from_k8s_optional(term.label_selector.as_ref()).map_err(invalid)?;
        // matchLabelKeys/mismatchLabelKeys add the pod's own label values to the selector (the API server
        // folds them in on creation; doing it again here is harmless).
        let mut extra = Vec::new();
        for (keys, operator) in
            [(&term.match_label_keys, Operator::In), (&term.mismatch_label_keys, Operator::NotIn)]
        {
            for key in keys.iter().flatten() {
                if let Some(value) = labels.get(key) {
                    extra
                        .push(Requirement::new(key.clone(), operator, vec![value.clone()]).map_err(invalid)?);
                }
            }
        }
        if !extra.is_empty() && !selector.is_nothing() {
            extra.extend(selector.requirements().iter().cloned());
            selector = LabelSelector::from_requirements(extra);
        }
        let namespace_selector =
            LabelSelector::from_k8s_optional(term.namespace_selector.as_ref()).map_err(invalid)?;
        let mut namespaces: Vec<String> = term.namespaces.clone().unwrap_or_default();
        if namespaces.is_empty() && term.namespace_selector.is_none() {
            namespaces.push(namespace.to_owned());
        }
        namespaces.sort();
        namespaces.dedup();
        Ok(Self { selector, namespaces, namespace_selector, topology_key: term.topology_key.clone() })
    }

    /// Whether a pod in `namespace` with `labels` matches; `namespace_labels` gives the labels of `namespace`,
    /// looked up only when a namespace selector needs them.
    pub fn matches<'l>(
        &self,
        namespace: &str,
        labels: &BTreeMap<String, String>,
        namespace_labels: impl FnOnce() -> &'l BTreeMap<String, String>,
    ) -> bool {
        let in_namespace = self.namespaces.binary_search_by(|n| n.as_str().cmp(namespace)).is_ok()
            || (!self.namespace_selector.is_nothing() && self.namespace_selector.matches(namespace_labels()));
        in_namespace && self.selector.matches(labels)
    }
}

/// The scheduler's view of one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodInfo {
    key: String,
    uid: String,
    namespace: String,
    name: String,
    labels: BTreeMap<String, String>,
    priority: i32,
    preempt_never: bool,
    created: Option<Timestamp>,
    started: Option<Timestamp>,
    node_name: Option<String>,
    nominated_node: Option<String>,
    terminal: bool,
    preempted: bool,
    requests: Requests,
    pub(crate) tolerations: Vec<Toleration>,
    pub(crate) node_selector: BTreeMap<String, String>,
    pub(crate) required_node_terms: Option<Vec<NodeTerm>>,
    pub(crate) preferred_node_terms: Vec<(i64, NodeTerm)>,
    /// The node names the required node affinity restricts the pod to through `matchFields` in every term
    /// (kube-scheduler's `NodeAffinity` `PreFilter` result); empty means the terms conflict.
    pub(crate) node_names: Option<BTreeSet<String>>,
    pub(crate) affinity: Vec<AffinityTerm>,
    pub(crate) anti_affinity: Vec<AffinityTerm>,
    problem: Option<String>,
}

impl PodInfo {
    /// Reads everything the scheduler needs from `pod`. Never fails: see [`problem`](Self::problem).
    pub fn from_pod(pod: &Pod) -> Self {
        let meta = &pod.metadata;
        let namespace = meta.namespace.clone().unwrap_or_else(|| "default".to_owned());
        let name = meta.name.clone().unwrap_or_default();
        let uid = meta.uid.clone().unwrap_or_default();
        let key = if uid.is_empty() { format!("{namespace}/{name}") } else { uid.clone() };
        let labels = meta.labels.clone().unwrap_or_default();
        let status = pod.status.as_ref();
        let phase = status.and_then(|s| s.phase.as_deref());
        let preempted = meta.deletion_timestamp.is_some()
            && status.and_then(|s| s.conditions.as_ref()).is_some_and(|conditions| {
                conditions.iter().any(|c| {
                    c.type_ == "DisruptionTarget"
                        && c.status == "True"
                        && c.reason.as_deref() == Some("PreemptionByScheduler")
                })
            });
        let mut info = Self {
            key,
            uid,
            namespace,
            name,
            labels,
            priority: 0,
            preempt_never: false,
            created: meta.creation_timestamp.as_ref().map(|t| t.0),
            started: status.and_then(|s| s.start_time.as_ref()).map(|t| t.0),
            node_name: None,
            nominated_node: status.and_then(|s| s.nominated_node_name.clone()).filter(|n| !n.is_empty()),
            terminal: matches!(phase, Some("Succeeded" | "Failed")),
            preempted,
            requests: Requests::default(),
            tolerations: Vec::new(),
            node_selector: BTreeMap::new(),
            required_node_terms: None,
            preferred_node_terms: Vec::new(),
            node_names: None,
            affinity: Vec::new(),
            anti_affinity: Vec::new(),
            problem: None,
        };
        if let Some(spec) = &pod.spec {
            info.read_spec(spec);
        }
        info
    }

    fn read_spec(&mut self, spec: &PodSpec) {
        self.priority = spec.priority.unwrap_or(0);
        self.preempt_never = spec.preemption_policy.as_deref() == Some("Never");
        self.node_name = spec.node_name.clone().filter(|n| !n.is_empty());
        let (requests, problem) = pod_requests(spec);
        self.requests = requests;
        self.problem = problem;
        self.tolerations = spec.tolerations.iter().flatten().map(Toleration::from_k8s).collect();
        self.node_selector = spec.node_selector.clone().unwrap_or_default();

        let affinity = spec.affinity.as_ref();
        let node_affinity = affinity.and_then(|a| a.node_affinity.as_ref());
        if let Some(required) =
            node_affinity.and_then(|n| n.required_during_scheduling_ignored_during_execution.as_ref())
        {
            self.required_node_terms =
                Some(required.node_selector_terms.iter().map(NodeTerm::from_k8s).collect());
            self.node_names = node_names(&required.node_selector_terms);
        }
        self.preferred_node_terms = node_affinity
            .and_then(|n| n.preferred_during_scheduling_ignored_during_execution.as_ref())
            .into_iter()
            .flatten()
            .filter(|p| p.weight != 0)
            .map(|p| (i64::from(p.weight), NodeTerm::from_k8s(&p.preference)))
            .filter(|(_, term)| term.valid)
            .collect();

        let required_affinity = affinity
            .and_then(|a| a.pod_affinity.as_ref())
            .and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref());
        let required_anti = affinity
            .and_then(|a| a.pod_anti_affinity.as_ref())
            .and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref());
        for (terms, out) in
            [(required_affinity, &mut self.affinity), (required_anti, &mut self.anti_affinity)]
        {
            for term in terms.into_iter().flatten() {
                match AffinityTerm::from_k8s(term, &self.namespace, &self.labels) {
                    Ok(term) => out.push(term),
                    Err(e) => {
                        self.problem.get_or_insert(e);
                    }
                }
            }
        }
    }

    /// Overrides the priority, for a caller that resolves `priorityClassName` itself because nothing filled in
    /// `spec.priority`.
    #[must_use]
    pub fn with_priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// The identity the snapshot keys pods by: the UID, or `namespace/name` for an object without one.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// `metadata.uid` (empty when absent).
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// `metadata.namespace` (`default` when absent).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `metadata.labels`.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    /// `spec.priority`, zero when absent.
    pub fn priority(&self) -> i32 {
        self.priority
    }

    /// Whether `spec.preemptionPolicy` is `Never`.
    pub fn preemption_never(&self) -> bool {
        self.preempt_never
    }

    /// `spec.nodeName`, when the pod is bound.
    pub fn node_name(&self) -> Option<&str> {
        self.node_name.as_deref()
    }

    /// `status.nominatedNodeName`, when a preemption nominated a node for the pod.
    pub fn nominated_node(&self) -> Option<&str> {
        self.nominated_node.as_deref()
    }

    /// Whether the pod has finished (`Succeeded` or `Failed`) and no longer holds resources.
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// `metadata.creationTimestamp`.
    pub fn created(&self) -> Option<Timestamp> {
        self.created
    }

    /// `status.startTime`.
    pub fn started(&self) -> Option<Timestamp> {
        self.started
    }

    /// Whether the pod is being deleted because a preemption chose it as a victim.
    pub fn is_terminating_by_preemption(&self) -> bool {
        self.preempted
    }

    /// The resource requests, computed once.
    pub fn requests(&self) -> &Requests {
        &self.requests
    }

    /// Why the pod cannot be scheduled whatever the nodes: a quantity or selector that does not parse.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// The key the scheduling queue orders pods by: higher priority first, then earlier creation.
    pub fn queue_key(&self) -> QueueKey {
        QueueKey {
            priority: Reverse(self.priority),
            created: self.created.unwrap_or(Timestamp::MAX),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            uid: self.uid.clone(),
        }
    }

    /// Whether `self` is more important than `other` when choosing preemption victims (kube-scheduler's
    /// `MoreImportantPod`): higher priority, then earlier start (a pod that has not started counts as starting
    /// now), then the key so that the order is total.
    pub(crate) fn more_important_than(&self, other: &Self) -> std::cmp::Ordering {
        other
            .priority
            .cmp(&self.priority)
            .then_with(|| {
                self.started.unwrap_or(Timestamp::MAX).cmp(&other.started.unwrap_or(Timestamp::MAX))
            })
            .then_with(|| self.key.cmp(&other.key))
    }
}

/// The order of the scheduling queue, as kube-scheduler's `PrioritySort`: higher priority first, then earlier
/// creation; namespace, name and UID make the order total. Smaller keys are scheduled first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueKey {
    priority: Reverse<i32>,
    /// A pod without a creation timestamp goes after those with one.
    created: Timestamp,
    namespace: String,
    name: String,
    uid: String,
}

/// Whether the scheduler named `scheduler_name` should place `pod` now: it has no node, names this scheduler
/// (an absent name means `default-scheduler`), has not finished, is not being deleted and has no scheduling
/// gates.
pub fn wants_scheduling(pod: &Pod, scheduler_name: &str) -> bool {
    let Some(spec) = &pod.spec else { return false };
    spec.node_name.as_deref().is_none_or(str::is_empty)
        && spec.scheduler_name.as_deref().unwrap_or("default-scheduler") == scheduler_name
        && spec.scheduling_gates.as_ref().is_none_or(Vec::is_empty)
        && pod.metadata.deletion_timestamp.is_none()
        && !matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"))
}

/// The node names every required term restricts the pod to through `matchFields` `metadata.name In`, as
/// kube-scheduler's `NodeAffinity` `PreFilter` computes them; `None` when some term does not restrict names.
fn node_names(terms: &[NodeSelectorTerm]) -> Option<BTreeSet<String>> {
    let mut names: Option<BTreeSet<String>> = None;
    for term in terms {
        let mut term_names: Option<BTreeSet<String>> = None;
        for r in term.match_fields.iter().flatten() {
            if r.key == "metadata.name" && r.operator == "In" {
                let values: BTreeSet<String> = r.values.iter().flatten().cloned().collect();
                term_names = Some(match term_names {
                    Some(current) => current.intersection(&values).cloned().collect(),
                    None => values,
                });
            }
        }
        names.get_or_insert_with(BTreeSet::new).extend(term_names?);
    }
    names
}

/// Resource amounts by name: CPU in millicores, everything else in whole units.
type Amounts = BTreeMap<String, i64>;

/// The requests of one container, or the first quantity that does not parse.
fn container_amounts(container: &Container, path: &str, problem: &mut Option<String>) -> Amounts {
    let requests = container.resources.as_ref().and_then(|r| r.requests.as_ref());
    parse_list(requests, &format!("{path}.resources.requests"), problem)
}

/// Parses a resource list; a quantity that does not parse or is negative counts as zero and is reported.
fn parse_list(
    list: Option<&BTreeMap<String, Quantity>>,
    path: &str,
    problem: &mut Option<String>,
) -> Amounts {
    let mut amounts = Amounts::new();
    for (name, quantity) in list.into_iter().flatten() {
        let parsed = if name == "cpu" { cpu_millis(quantity) } else { memory_bytes(quantity) };
        match parsed {
            Ok(value) if value >= 0 => {
                amounts.insert(name.clone(), value);
            }
            Ok(_) => {
                problem.get_or_insert_with(|| format!("{path}[{name}]: must be greater than or equal to 0"));
            }
            Err(e) => {
                problem.get_or_insert_with(|| format!("{path}[{name}]: {e}"));
            }
        }
    }
    amounts
}

fn add_into(total: &mut Amounts, amounts: &Amounts) {
    for (name, value) in amounts {
        let entry = total.entry(name.clone()).or_default();
        *entry = entry.saturating_add(*value);
    }
}

fn max_into(total: &mut Amounts, amounts: &Amounts) {
    for (name, value) in amounts {
        let entry = total.entry(name.clone()).or_default();
        *entry = (*entry).max(*value);
    }
}

/// Adds the scoring defaults to a container that requests no CPU or no memory (`NonMissingContainerRequests`).
fn with_defaults(amounts: &Amounts) -> Amounts {
    let mut amounts = amounts.clone();
    amounts.entry("cpu".to_owned()).or_insert(DEFAULT_MILLI_CPU_REQUEST);
    amounts.entry("memory".to_owned()).or_insert(DEFAULT_MEMORY_REQUEST);
    amounts
}

/// Kubernetes' `PodRequests`: per resource, the larger of the app containers' sum (restartable "sidecar" init
/// containers included, as they keep running) and each regular init container's request plus the sidecars
/// started before it; then pod-level requests replace the aggregate for the resources they set, and the
/// overhead is added.
fn aggregate(
    containers: &[Amounts],
    init_containers: &[(Amounts, bool)],
    pod_level: &Amounts,
    overhead: &Amounts,
    defaults: bool,
) -> Amounts {
    let prepare = |a: &Amounts| if defaults { with_defaults(a) } else { a.clone() };
    let mut total = Amounts::new();
    for amounts in containers {
        add_into(&mut total, &prepare(amounts));
    }
    let mut sidecars = Amounts::new();
    let mut init_peak = Amounts::new();
    for (amounts, restartable) in init_containers {
        let amounts = prepare(amounts);
        if *restartable {
            add_into(&mut total, &amounts);
            add_into(&mut sidecars, &amounts);
            max_into(&mut init_peak, &sidecars);
        } else {
            let mut running = sidecars.clone();
            add_into(&mut running, &amounts);
            max_into(&mut init_peak, &running);
        }
    }
    max_into(&mut total, &init_peak);
    for resource in ["cpu", "memory"] {
        if let Some(value) = pod_level.get(resource) {
            total.insert(resource.to_owned(), *value);
        }
    }
    add_into(&mut total, overhead);
    total
}

/// The fit and scoring requests of a pod, and the first quantity that does not parse.
fn pod_requests(spec: &PodSpec) -> (Requests, Option<String>) {
    let mut problem = None;
    let containers: Vec<Amounts> = spec
        .containers
        .iter()
        .enumerate()
        .map(|(i, c)| container_amounts(c, &format!("spec.containers[{i}]"), &mut problem))
        .collect();
    let init_containers: Vec<(Amounts, bool)> = spec
        .init_containers
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| {
            let amounts = container_amounts(c, &format!("spec.initContainers[{i}]"), &mut problem);
            (amounts, c.restart_policy.as_deref() == Some("Always"))
        })
        .collect();
    let pod_level_list = spec.resources.as_ref().and_then(|r| r.requests.as_ref());
    let pod_level = parse_list(pod_level_list, "spec.resources.requests", &mut problem);
    let overhead = parse_list(spec.overhead.as_ref(), "spec.overhead", &mut problem);

    let fit = aggregate(&containers, &init_containers, &pod_level, &overhead, false);
    let non_zero = aggregate(&containers, &init_containers, &pod_level, &overhead, true);
    let scalars = fit
        .iter()
        .filter(|(name, value)| !matches!(name.as_str(), "cpu" | "memory" | "pods") && **value != 0)
        .map(|(name, value)| (name.clone(), *value))
        .collect();
    let requests = Requests {
        fit: Resources {
            milli_cpu: fit.get("cpu").copied().unwrap_or(0),
            memory: fit.get("memory").copied().unwrap_or(0),
            scalars,
        },
        non_zero_milli_cpu: non_zero.get("cpu").copied().unwrap_or(0),
        non_zero_memory: non_zero.get("memory").copied().unwrap_or(0),
    };
    (requests, problem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::testing::pod;
    use serde_json::json;

    const MI: i64 = 1024 * 1024;

    fn requests_of(spec: serde_json::Value) -> (Requests, Option<String>) {
        let info = PodInfo::from_pod(&pod(json!({"metadata": {"name": "p"}, "spec": spec})));
        (info.requests().clone(), info.problem().map(str::to_owned))
    }

    fn container(requests: serde_json::Value) -> serde_json::Value {
        json!({"name": "c", "resources": {"requests": requests}})
    }

    fn sidecar(requests: serde_json::Value) -> serde_json::Value {
        json!({"name": "s", "restartPolicy": "Always", "resources": {"requests": requests}})
    }

    #[test]
    fn requests_follow_the_kubernetes_rules() {
        // (case, spec, fit cpu, fit memory, non-zero cpu, non-zero memory)
        let cases: Vec<(&str, serde_json::Value, i64, i64, i64, i64)> = vec![
            ("no containers", json!({"containers": []}), 0, 0, 0, 0),
            (
                "one container without requests",
                json!({"containers": [{"name": "c"}]}),
                0,
                0,
                DEFAULT_MILLI_CPU_REQUEST,
                DEFAULT_MEMORY_REQUEST,
            ),
            (
                "app containers add up",
                json!({"containers": [container(json!({"cpu": "250m", "memory": "64Mi"})),
                                      container(json!({"cpu": "1", "memory": "1Gi"}))]}),
                1250,
                1088 * MI,
                1250,
                1088 * MI,
            ),
            (
                "defaults apply per missing resource and container",
                json!({"containers": [container(json!({"cpu": "250m"})), container(json!({"memory": "1Gi"}))]}),
                250,
                1024 * MI,
                350,
                1024 * MI + DEFAULT_MEMORY_REQUEST,
            ),
            (
                "an explicit zero is not replaced by the default",
                json!({"containers": [container(json!({"cpu": "0", "memory": "0"}))]}),
                0,
                0,
                0,
                0,
            ),
            (
                "the largest init container wins when larger than the sum",
                json!({"initContainers": [container(json!({"cpu": "2", "memory": "64Mi"})),
                                          container(json!({"cpu": "500m", "memory": "2Gi"}))],
                       "containers": [container(json!({"cpu": "1", "memory": "1Gi"}))]}),
                2000,
                2048 * MI,
                2000,
                2048 * MI,
            ),
            (
                "init containers smaller than the sum do not count",
                json!({"initContainers": [container(json!({"cpu": "100m", "memory": "10Mi"}))],
                       "containers": [container(json!({"cpu": "1", "memory": "1Gi"}))]}),
                1000,
                1024 * MI,
                1000,
                1024 * MI,
            ),
            (
                "sidecars add to the app containers",
                json!({"initContainers": [sidecar(json!({"cpu": "500m", "memory": "128Mi"}))],
                       "containers": [container(json!({"cpu": "1", "memory": "1Gi"}))]}),
                1500,
                1152 * MI,
                1500,
                1152 * MI,
            ),
            (
                "an init container after a sidecar runs beside it",
                json!({"initContainers": [sidecar(json!({"cpu": "500m", "memory": "128Mi"})),
                                          container(json!({"cpu": "2", "memory": "64Mi"}))],
                       "containers": [container(json!({"cpu": "1", "memory": "1Gi"}))]}),
                2500,
                1152 * MI,
                2500,
                1152 * MI,
            ),
            (
                "an init container before a sidecar does not run beside it",
                json!({"initContainers": [container(json!({"cpu": "2", "memory": "64Mi"})),
                                          sidecar(json!({"cpu": "500m", "memory": "128Mi"}))],
                       "containers": [container(json!({"cpu": "1", "memory": "1Gi"}))]}),
                2000,
                1152 * MI,
                2000,
                1152 * MI,
            ),
            (
                "overhead is added after the init container rule",
                json!({"initContainers": [container(json!({"cpu": "2"}))],
                       "containers": [container(json!({"cpu": "1", "memory": "1Gi"}))],
                       "overhead": {"cpu": "100m", "memory": "32Mi"}}),
                2100,
                1056 * MI,
                2100,
                1056 * MI,
            ),
            (
                "pod-level requests replace the container aggregate",
                json!({"resources": {"requests": {"cpu": "3"}},
                       "containers": [container(json!({"cpu": "1", "memory": "1Gi"})), {"name": "d"}]}),
                3000,
                1024 * MI,
                3000,
                1024 * MI + DEFAULT_MEMORY_REQUEST,
            ),
        ];
        for (case, spec, cpu, memory, nz_cpu, nz_memory) in cases {
            let (requests, problem) = requests_of(spec);
            assert_eq!(problem, None, "{case}");
            assert_eq!(requests.fit.milli_cpu, cpu, "{case}: fit cpu");
            assert_eq!(requests.fit.memory, memory, "{case}: fit memory");
            assert_eq!(requests.non_zero_milli_cpu, nz_cpu, "{case}: non-zero cpu");
            assert_eq!(requests.non_zero_memory, nz_memory, "{case}: non-zero memory");
        }
    }

    #[test]
    fn other_resources_are_scalars() {
        let (requests, problem) = requests_of(json!({
            "initContainers": [container(json!({"example.com/gpu": "2"}))],
            "containers": [container(json!({"ephemeral-storage": "1Gi", "example.com/gpu": "1", "hugepages-2Mi": "0"}))],
        }));
        assert_eq!(problem, None);
        assert_eq!(
            requests.fit.scalars,
            vec![("ephemeral-storage".to_owned(), 1024 * MI), ("example.com/gpu".to_owned(), 2)]
        );
        assert_eq!(requests.fit.scalar("example.com/gpu"), 2);
        assert_eq!(requests.fit.scalar("example.com/fpga"), 0);
    }

    #[test]
    fn bad_quantities_are_reported_not_fatal() {
        let cases = [
            (
                json!({"containers": [container(json!({"cpu": "lots", "memory": "1Gi"}))]}),
                "spec.containers[0].resources.requests[cpu]: quantities must match the regular expression \
                 '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            ),
            (
                json!({"containers": [{"name": "a"}, container(json!({"memory": "-1Gi"}))]}),
                "spec.containers[1].resources.requests[memory]: must be greater than or equal to 0",
            ),
            (
                json!({"initContainers": [container(json!({"memory": "1e40"}))], "containers": []}),
                "spec.initContainers[0].resources.requests[memory]: quantity is too large",
            ),
            (
                json!({"containers": [], "overhead": {"cpu": "1K"}}),
                "spec.overhead[cpu]: unable to parse quantity's suffix",
            ),
        ];
        for (spec, message) in cases {
            let (requests, problem) = requests_of(spec);
            assert_eq!(problem.as_deref(), Some(message));
            assert_eq!(requests.fit.milli_cpu, 0);
        }
    }

    #[test]
    fn tolerations_follow_tolerates_taint() {
        use TaintEffect::{NoExecute, NoSchedule, PreferNoSchedule};
        let t = |v: serde_json::Value| -> Toleration {
            Toleration::from_k8s(&serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}")))
        };
        // (toleration, taint key, value, effect, tolerated)
        let cases = [
            (
                json!({"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}),
                "k",
                "v",
                NoSchedule,
                true,
            ),
            (json!({"key": "k", "value": "v"}), "k", "v", NoExecute, true),
            (json!({"key": "k", "value": "v"}), "k", "w", NoSchedule, false),
            (json!({"key": "k", "operator": "Equal"}), "k", "", NoSchedule, true),
            (json!({"key": "k", "operator": "Exists"}), "k", "anything", NoSchedule, true),
            (json!({"key": "k", "operator": "Exists"}), "other", "", NoSchedule, false),
            (json!({"operator": "Exists"}), "any", "thing", NoExecute, true),
            (json!({"operator": "Exists", "effect": "NoSchedule"}), "any", "", NoExecute, false),
            (
                json!({"key": "k", "operator": "Exists", "effect": "PreferNoSchedule"}),
                "k",
                "",
                PreferNoSchedule,
                true,
            ),
            (json!({"key": "k", "operator": "Exists", "effect": "Sometimes"}), "k", "", NoSchedule, false),
            (json!({"key": "k", "operator": "Gt", "value": "1"}), "k", "2", NoSchedule, false),
        ];
        for (toleration, key, value, effect, tolerated) in cases {
            assert_eq!(
                t(toleration.clone()).tolerates(key, value, effect),
                tolerated,
                "{toleration} vs {key}={value}"
            );
        }
    }

    #[test]
    fn affinity_terms_resolve_namespaces() {
        let labels: BTreeMap<String, String> = [("app".to_owned(), "web".to_owned())].into();
        let term = |v: serde_json::Value| {
            AffinityTerm::from_k8s(
                &serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}")),
                "ns",
                &labels,
            )
        };
        let empty = BTreeMap::new();
        let prod: BTreeMap<String, String> = [("env".to_owned(), "prod".to_owned())].into();
        let web = labels.clone();

        let own = term(json!({"topologyKey": "k", "labelSelector": {"matchLabels": {"app": "web"}}}));
        let own = own.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(own.namespaces, ["ns"]);
        assert!(own.matches("ns", &web, || &empty));
        assert!(!own.matches("other", &web, || &empty));

        let listed = term(json!({"topologyKey": "k", "namespaces": ["b", "a"], "labelSelector": {}}));
        let listed = listed.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(listed.namespaces, ["a", "b"]);
        assert!(listed.matches("a", &empty, || &empty));
        assert!(!listed.matches("ns", &empty, || &empty));

        let all = term(json!({"topologyKey": "k", "namespaceSelector": {}, "labelSelector": {}}));
        let all = all.unwrap_or_else(|e| panic!("{e}"));
        assert!(all.namespaces.is_empty());
        assert!(all.matches("anything", &empty, || &empty));

        let selected =
            term(json!({"topologyKey": "k", "namespaceSelector": {"matchLabels": {"env": "prod"}},
                                   "labelSelector": {}}));
        let selected = selected.unwrap_or_else(|e| panic!("{e}"));
        assert!(selected.matches("p", &empty, || &prod));
        assert!(!selected.matches("p", &empty, || &empty));

        let missing_selector = term(json!({"topologyKey": "k"})).unwrap_or_else(|e| panic!("{e}"));
        assert!(!missing_selector.matches("ns", &web, || &empty));

        let keyed = term(json!({"topologyKey": "k", "labelSelector": {}, "matchLabelKeys": ["app"],
                                "mismatchLabelKeys": ["absent"]}));
        let keyed = keyed.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(keyed.selector.to_string(), "app in (web)");

        let bad = term(json!({"topologyKey": "k", "labelSelector": {"matchExpressions": [
            {"key": "app", "operator": "Near", "values": ["x"]}]}}));
        assert_eq!(
            bad.err().as_deref(),
            Some("invalid pod affinity term: \"Near\" is not a valid label selector operator")
        );
    }

    #[test]
    fn node_terms_and_prefilter_names() {
        let terms = |v: serde_json::Value| -> Vec<NodeSelectorTerm> {
            serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
        };
        let names = |v| node_names(&terms(v)).map(|s| s.into_iter().collect::<Vec<_>>());
        let field = |op: &str, values: serde_json::Value| json!({"key": "metadata.name", "operator": op, "values": values});
        assert_eq!(names(json!([{"matchFields": [field("In", json!(["a"]))]}])), Some(vec!["a".to_owned()]));
        assert_eq!(
            names(
                json!([{"matchFields": [field("In", json!(["a"]))]}, {"matchFields": [field("In", json!(["b"]))]}])
            ),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(
            names(json!([{"matchFields": [field("In", json!(["a", "b"])), field("In", json!(["b", "c"]))]}])),
            Some(vec!["b".to_owned()])
        );
        assert_eq!(
            names(json!([{"matchFields": [field("In", json!(["a"])), field("In", json!(["c"]))]}])),
            Some(vec![])
        );
        assert_eq!(
            names(json!([{"matchFields": [field("In", json!(["a"]))]},
                         {"matchExpressions": [{"key": "x", "operator": "Exists"}]}])),
            None
        );

        let valid = |v: serde_json::Value| {
            NodeTerm::from_k8s(&serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))).valid
        };
        assert!(valid(json!({"matchExpressions": [{"key": "x", "operator": "Exists"}]})));
        assert!(valid(json!({"matchFields": [field("NotIn", json!(["a"]))]})));
        assert!(!valid(json!({})), "an empty term matches nothing");
        assert!(!valid(json!({"matchFields": [field("In", json!(["a", "b"]))]})), "fields take one value");
        assert!(!valid(json!({"matchFields": [field("Exists", json!([]))]})));
        assert!(!valid(json!({"matchExpressions": [{"key": "x", "operator": "Gt", "values": ["one"]}]})));
    }

    #[test]
    fn queue_orders_by_priority_then_creation() {
        let p = |name: &str, priority: i32, created: Option<&str>| {
            let mut meta = json!({"name": name, "namespace": "ns"});
            if let Some(created) = created {
                meta["creationTimestamp"] = json!(created);
            }
            PodInfo::from_pod(&pod(
                json!({"metadata": meta, "spec": {"containers": [], "priority": priority}}),
            ))
        };
        let mut pods = [
            p("late-low", 0, Some("2024-01-01T00:00:10Z")),
            p("no-time", 10, None),
            p("early-low", 0, Some("2024-01-01T00:00:01Z")),
            p("late-high", 10, Some("2024-01-01T00:00:10Z")),
            p("b-same", 0, Some("2024-01-01T00:00:01Z")),
            p("negative", -5, Some("2023-01-01T00:00:00Z")),
        ];
        pods.sort_by_key(PodInfo::queue_key);
        let order: Vec<&str> = pods.iter().map(PodInfo::name).collect();
        assert_eq!(order, ["late-high", "no-time", "b-same", "early-low", "late-low", "negative"]);
    }

    #[test]
    fn reads_identity_and_state() {
        let info = PodInfo::from_pod(&pod(json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u-1", "deletionTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"containers": [], "nodeName": "n1", "priority": 7, "preemptionPolicy": "Never"},
            "status": {"phase": "Running", "nominatedNodeName": "n2", "startTime": "2024-01-01T00:00:00Z",
                       "conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler"}]},
        })));
        assert_eq!((info.key(), info.uid(), info.namespace(), info.name()), ("u-1", "u-1", "ns", "p"));
        assert_eq!((info.priority(), info.preemption_never()), (7, true));
        assert_eq!((info.node_name(), info.nominated_node()), (Some("n1"), Some("n2")));
        assert!(info.is_terminating_by_preemption());
        assert!(!info.is_terminal());
        assert!(info.started().is_some());
        assert_eq!(info.with_priority(3).priority(), 3);

        let anonymous =
            PodInfo::from_pod(&pod(json!({"metadata": {"name": "p"}, "spec": {"containers": []}})));
        assert_eq!(anonymous.key(), "default/p");
    }

    #[test]
    fn wants_scheduling_only_unbound_live_pods_of_this_scheduler() {
        let cases = [
            (json!({"spec": {"containers": []}}), true),
            (json!({"spec": {"containers": [], "schedulerName": "default-scheduler"}}), true),
            (json!({"spec": {"containers": [], "schedulerName": "other"}}), false),
            (json!({"spec": {"containers": [], "nodeName": "n1"}}), false),
            (json!({"spec": {"containers": [], "schedulingGates": [{"name": "wait"}]}}), false),
            (json!({"spec": {"containers": []}, "status": {"phase": "Failed"}}), false),
            (
                json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}, "spec": {"containers": []}}),
                false,
            ),
            (json!({}), false),
        ];
        for (object, wanted) in cases {
            assert_eq!(wants_scheduling(&pod(object.clone()), "default-scheduler"), wanted, "{object}");
        }
    }
}
