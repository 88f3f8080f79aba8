//! The DaemonSet decision: from a DaemonSet, the nodes and the pods of its namespace, which nodes should run
//! a pod, which pods to adopt, release, create and delete (including one rolling-update step), and the
//! status to report. Pure: no IO, no clock (the caller passes `now`).
//!
//! Eligibility follows Kubernetes' `NodeShouldRunDaemonPod`: a node *should run* the pod when it matches
//! `nodeSelector` and the required node affinity and every `NoSchedule`/`NoExecute` taint is tolerated (with
//! the [automatic tolerations](DAEMON_TOLERATIONS)). A pod already there *may continue* when only
//! `NoSchedule` taints are untolerated: like a kubelet, a taint added later only keeps new pods away, while an
//! untolerated `NoExecute` taint, a selector the node no longer matches or a node that is gone removes it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use api::selector::{LabelSelector, Requirement};
use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{Node, NodeSelectorTerm, Pod, PodSpec, Taint, Toleration};
use k8s_openapi::jiff::Timestamp;

use crate::hash;
use crate::owners;
use crate::pods;

/// The label holding the DaemonSet `metadata.generation` a pod was made from.
pub const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";
/// The label holding the hash of the template a pod was made from.
pub const REVISION_HASH_LABEL: &str = "controller-revision-hash";

/// The tolerations Kubernetes adds to every DaemonSet pod (key, effect): a daemon belongs on a node even when
/// it is unhealthy or cordoned, since it is often what makes the node work.
pub const DAEMON_TOLERATIONS: [(&str, &str); 6] = [
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
];

/// What the plan is given.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The DaemonSet as cached.
    pub set: &'a DaemonSet,
    /// Every node, in any order.
    pub nodes: &'a [Arc<Node>],
    /// The pods of the DaemonSet's namespace, in any order.
    pub pods: &'a [Arc<Pod>],
    /// False while earlier creations or deletions are not in the cache yet: nothing more is created or
    /// deleted then, only status is reported.
    pub manage: bool,
    /// The time now.
    pub now: Timestamp,
}

/// What one reconcile of a DaemonSet should do.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Orphan pods matching the selector, to take ownership of.
    pub adopt: Vec<String>,
    /// Owned pods that no longer match the selector, to let go.
    pub release: Vec<String>,
    /// Nodes to create a pod on, sorted.
    pub create: Vec<String>,
    /// Owned pods to delete, sorted.
    pub delete: Vec<String>,
    /// The status to write (equal to the current one when nothing changed).
    pub status: DaemonSetStatus,
    /// When a ready pod becomes available (`minReadySeconds`), so the status and rollout can move on.
    pub recheck_after: Option<Duration>,
}

/// Why a DaemonSet cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The selector does not parse (validation should have refused it).
    #[error("invalid selector: {0}")]
    Selector(String),
    /// The required node affinity does not parse.
    #[error("invalid node affinity: {0}")]
    Affinity(String),
    /// `maxUnavailable` is neither a number nor a percentage.
    #[error("invalid maxUnavailable: {0}")]
    MaxUnavailable(String),
}

/// Where a DaemonSet pod belongs on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Eligibility {
    /// A pod should be placed there.
    pub should_run: bool,
    /// A pod already there may stay.
    pub may_continue: bool,
}

/// Whether a pod with `spec` belongs on `node` (Kubernetes' `NodeShouldRunDaemonPod`).
pub fn eligibility(spec: &PodSpec, node: &Node) -> Result<Eligibility, PlanError> {
    let ineligible = Eligibility { should_run: false, may_continue: false };
    if node.metadata.deletion_timestamp.is_some() || !matches_node(spec, node)? {
        return Ok(ineligible);
    }
    let tolerations = spec.tolerations.as_deref().unwrap_or_default();
    let untolerated = |effect: &str| {
        node.spec.iter().flat_map(|s| s.taints.iter().flatten()).any(|taint| {
            taint.effect == effect
                && !tolerations.iter().any(|t| tolerates(t, taint))
                && !DAEMON_TOLERATIONS.iter().any(|(key, e)| *key == taint.key && *e == taint.effect)
        })
    };
    let no_execute = untolerated("NoExecute");
    Ok(Eligibility { should_run: !no_execute && !untolerated("NoSchedule"), may_continue: !no_execute })
}

/// Whether `node` satisfies the pod's `nodeSelector` and required node affinity.
fn matches_node(spec: &PodSpec, node: &Node) -> Result<bool, PlanError> {
    let empty = BTreeMap::new();
    let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
    if let Some(selector) = &spec.node_selector
        && selector.iter().any(|(k, v)| labels.get(k) != Some(v))
    {
        return Ok(false);
    }
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref());
    let Some(required) = required else { return Ok(true) };
    let name = node.metadata.name.as_deref().unwrap_or_default();
    for term in &required.node_selector_terms {
        if term_matches(term, labels, name)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// One node selector term: every expression and field requirement holds; a term with neither matches no
/// node, as in Kubernetes.
fn term_matches(
    term: &NodeSelectorTerm,
    labels: &BTreeMap<String, String>,
    name: &str,
) -> Result<bool, PlanError> {
    let expressions = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if expressions.is_empty() && fields.is_empty() {
        return Ok(false);
    }
    for expression in expressions {
        let requirement = Requirement::from_node_selector_requirement(expression)
            .map_err(|e| PlanError::Affinity(e.to_string()))?;
        if !requirement.matches(labels) {
            return Ok(false);
        }
    }
    for field in fields {
        // Kubernetes supports only `metadata.name`, with `In` and `NotIn`.
        let listed = field.values.iter().flatten().any(|v| v == name);
        let holds = match (field.key.as_str(), field.operator.as_str()) {
            ("metadata.name", "In") => listed,
            ("metadata.name", "NotIn") => !listed,
            (key, operator) => {
                return Err(PlanError::Affinity(format!("unsupported matchFields {key} {operator}")));
            }
        };
        if !holds {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether a toleration tolerates a taint (Kubernetes' `ToleratesTaint`).
fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    if toleration.effect.as_deref().is_some_and(|e| !e.is_empty() && e != taint.effect) {
        return false;
    }
    let key = toleration.key.as_deref().unwrap_or_default();
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        "Equal" | "" => {
            toleration.value.as_deref().unwrap_or_default() == taint.value.as_deref().unwrap_or_default()
        }
        _ => false,
    }
}

/// The node a pod is on or meant for: `spec.nodeName`, else the single node its required affinity names
/// through `matchFields` (as Kubernetes places DaemonSet pods through the scheduler).
pub fn node_of(pod: &Pod) -> Option<&str> {
    let spec = pod.spec.as_ref()?;
    if let Some(name) = spec.node_name.as_deref().filter(|n| !n.is_empty()) {
        return Some(name);
    }
    let required = spec.affinity.as_ref()?.node_affinity.as_ref()?;
    let terms = &required.required_during_scheduling_ignored_during_execution.as_ref()?.node_selector_terms;
    terms.iter().flat_map(|t| t.match_fields.iter().flatten()).find_map(|f| {
        let values = f.values.as_deref()?;
        (f.key == "metadata.name" && f.operator == "In" && values.len() == 1).then(|| values[0].as_str())
    })
}

/// Whether a pod runs the DaemonSet's current template: its generation label names the current generation,
/// or its hash label the current template (so a spec change outside the template replaces nothing).
pub fn is_updated(pod: &Pod, generation: Option<i64>, template_hash: &str) -> bool {
    let labels = pod.metadata.labels.as_ref();
    let label = |key: &str| labels.and_then(|l| l.get(key)).map(String::as_str);
    generation.is_some_and(|g| label(TEMPLATE_GENERATION_LABEL) == Some(g.to_string().as_str()))
        || label(REVISION_HASH_LABEL) == Some(template_hash)
}

/// The hash label value of the DaemonSet's template.
pub fn template_hash(set: &DaemonSet) -> String {
    hash::pod_template_hash(&set.spec.template, set.status.as_ref().and_then(|s| s.collision_count))
}

/// Plans one reconcile.
pub fn plan(input: Input<'_>) -> Result<Plan, PlanError> {
    let Input { set, now, .. } = input;
    let spec = set.spec.clone();
    let current = set.status.clone().unwrap_or_default();
    let mut plan = Plan { status: current.clone(), ..Plan::default() };
    if set.metadata.deletion_timestamp.is_some() {
        return Ok(plan);
    }
    let uid = set.metadata.uid.as_deref().unwrap_or_default();
    let selector = LabelSelector::from_k8s(&spec.selector).map_err(|e| PlanError::Selector(e.to_string()))?;
    let claim = owners::claim(uid, &selector, false, input.pods.iter().map(AsRef::as_ref));
    plan.adopt = claim.adopt;
    plan.release = claim.release;

    // The pods of each node, the oldest first: it is the one kept and counted.
    let mut by_node: BTreeMap<&str, Vec<&Pod>> = BTreeMap::new();
    for pod in claim.owned {
        by_node.entry(node_of(pod).unwrap_or_default()).or_default().push(pod);
    }
    for pods in by_node.values_mut() {
        pods.sort_by(|a, b| {
            let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
            created(a).cmp(&created(b)).then_with(|| a.metadata.name.cmp(&b.metadata.name))
        });
    }
    let pod_spec = spec.template.spec.clone().unwrap_or_default();
    let mut eligible: BTreeMap<&str, Eligibility> = BTreeMap::new();
    for node in input.nodes {
        eligible.insert(node.metadata.name.as_deref().unwrap_or_default(), eligibility(&pod_spec, node)?);
    }

    let generation = set.metadata.generation;
    let template_hash = template_hash(set);
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let mut delete = BTreeSet::new();
    let mut create = Vec::new();
    let mut rolling = Rolling::default();
    for (name, at) in &eligible {
        let pods = by_node.get(name).map_or(&[][..], Vec::as_slice);
        if at.should_run && pods.is_empty() {
            create.push((*name).to_owned());
            rolling.unavailable += 1;
            continue;
        }
        if !at.should_run && !at.may_continue {
            delete.extend(
                pods.iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .filter_map(|p| p.metadata.name.clone()),
            );
            continue;
        }
        // Finished pods are replaced; a terminating one holds the node until it is gone, so two never run
        // side by side (`pods` is not empty here, so nothing is created).
        let mut live = Vec::new();
        for pod in pods {
            if pod.metadata.deletion_timestamp.is_some() {
                continue;
            }
            if pods::is_finished(pod) {
                delete.extend(pod.metadata.name.clone());
            } else {
                live.push(*pod);
            }
        }
        // Duplicates: the oldest stays.
        for extra in live.iter().skip(1) {
            delete.extend(extra.metadata.name.clone());
        }
        if !at.should_run {
            continue;
        }
        match live.first() {
            None => rolling.unavailable += 1,
            Some(pod) => {
                let (available, wait) = pods::availability(pod, min_ready, now);
                plan.recheck_after = earliest(plan.recheck_after, wait);
                let name = pod.metadata.name.clone().unwrap_or_default();
                match (is_updated(pod, generation, &template_hash), available) {
                    (true, true) => {}
                    (true, false) => rolling.unavailable += 1,
                    (false, false) => rolling.replace_now.push(name),
                    (false, true) => rolling.candidates.push(name),
                }
            }
        }
    }
    // Pods on nodes that are gone, or on none at all.
    for (name, pods) in &by_node {
        if !eligible.contains_key(name) {
            delete.extend(
                pods.iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .filter_map(|p| p.metadata.name.clone()),
            );
        }
    }

    let desired = eligible.values().filter(|e| e.should_run).count() as i32;
    let strategy = spec.update_strategy.unwrap_or_default();
    if strategy.type_.as_deref().unwrap_or("RollingUpdate") == "RollingUpdate" {
        let max_unavailable = strategy
            .rolling_update
            .and_then(|r| r.max_unavailable)
            .map(|m| api::intstr::scaled_value(&m, desired, true))
            .transpose()
            .map_err(|e| PlanError::MaxUnavailable(e.to_string()))?
            .unwrap_or(1)
            .max(1);
        delete.extend(rolling.step(max_unavailable));
    }
    if input.manage {
        plan.create = create;
        plan.delete = delete.into_iter().collect();
    }
    plan.status = status(&input, &eligible, &by_node, &template_hash, current);
    Ok(plan)
}

/// The old-template pods of a rolling update (Kubernetes' `rollingUpdate` without surge).
#[derive(Default)]
struct Rolling {
    /// Nodes whose pod is missing or not available yet.
    unavailable: i32,
    /// Old pods that are not available anyway: replaced without using the budget.
    replace_now: Vec<String>,
    /// Available old pods, replaced while the budget allows.
    candidates: Vec<String>,
}

impl Rolling {
    /// The old pods to delete now: the unavailable ones, and available ones while fewer than
    /// `max_unavailable` nodes lack an available pod.
    fn step(mut self, max_unavailable: i32) -> Vec<String> {
        let budget = (max_unavailable - self.unavailable - self.replace_now.len() as i32).max(0);
        self.candidates.sort();
        self.replace_now.extend(self.candidates.into_iter().take(budget as usize));
        self.replace_now
    }
}

fn earliest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The status as Kubernetes' `updateDaemonSetStatus` counts it: per node, its oldest pod.
fn status(
    input: &Input<'_>,
    eligible: &BTreeMap<&str, Eligibility>,
    by_node: &BTreeMap<&str, Vec<&Pod>>,
    template_hash: &str,
    current: DaemonSetStatus,
) -> DaemonSetStatus {
    let set = input.set;
    let min_ready = set.spec.min_ready_seconds.unwrap_or(0);
    let generation = set.metadata.generation;
    let mut status = DaemonSetStatus {
        observed_generation: generation,
        collision_count: current.collision_count,
        conditions: current.conditions,
        ..DaemonSetStatus::default()
    };
    let (mut current_scheduled, mut misscheduled, mut ready, mut available, mut updated) = (0, 0, 0, 0, 0);
    for (name, at) in eligible {
        let Some(pod) = by_node.get(name).and_then(|pods| pods.first()) else { continue };
        if !at.should_run {
            misscheduled += 1;
            continue;
        }
        current_scheduled += 1;
        if pods::is_ready(pod) {
            ready += 1;
        }
        if pods::availability(pod, min_ready, input.now).0 {
            available += 1;
        }
        if is_updated(pod, generation, template_hash) {
            updated += 1;
        }
    }
    let desired = eligible.values().filter(|e| e.should_run).count() as i32;
    status.desired_number_scheduled = desired;
    status.current_number_scheduled = current_scheduled;
    status.number_misscheduled = misscheduled;
    status.number_ready = ready;
    status.number_available = Some(available);
    status.updated_number_scheduled = Some(updated);
    status.number_unavailable = Some(desired - available);
    status
}

#[cfg(test)]
mod tests;
