//! Why a pod fits nowhere, printed as kube-scheduler's `FitError`:
//! `0/3 nodes are available: 1 Insufficient memory, 2 node(s) had untolerated taint(s). preemption: 0/3 nodes
//! are available: 3 Preemption is not helpful for scheduling.`
//!
//! The format is `0/<nodes> nodes are available:` followed by either the `PreFilter` message or the histogram
//! of filter reasons (each `<count> <reason>`, sorted as strings, a node counted once per distinct reason),
//! then a period, then the preemption message when preemption was attempted and failed.

use std::collections::BTreeMap;
use std::fmt;

/// The preemption message of a pod whose nominated node is still freeing room (kube-scheduler's
/// `PodEligibleToPreemptOthers` refusal): the pod keeps its nomination and waits.
pub(crate) const WAITING_FOR_VICTIMS: &str =
    "preemption: not eligible due to a terminating pod on the nominated node.";

/// Why one node cannot take the pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFailure {
    /// The node's name.
    pub node: String,
    /// The reasons of the first failing filter, as kube-scheduler prints them.
    pub reasons: Vec<String>,
    /// Whether evicting lower-priority pods from the node could make room (resources, pod count,
    /// anti-affinity).
    pub resolvable: bool,
}

/// A pod fits no node. [`Display`](fmt::Display) prints kube-scheduler's message, suitable for the pod's
/// `PodScheduled` condition and the `FailedScheduling` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unschedulable {
    num_nodes: usize,
    pre_filter: Option<String>,
    nodes: Vec<NodeFailure>,
    post_filter: Option<String>,
}

impl Unschedulable {
    /// There are no nodes at all.
    pub(crate) fn no_nodes() -> Self {
        Self { num_nodes: 0, pre_filter: None, nodes: Vec::new(), post_filter: None }
    }

    /// The pod failed before any node was looked at (every node counts as failed for the same reason).
    pub(crate) fn pre_filter(num_nodes: usize, message: &str) -> Self {
        Self { num_nodes, pre_filter: Some(message.to_owned()), nodes: Vec::new(), post_filter: None }
    }

    /// Every node failed a filter.
    pub(crate) fn filtered(num_nodes: usize, nodes: Vec<NodeFailure>) -> Self {
        Self { num_nodes, pre_filter: None, nodes, post_filter: None }
    }

    pub(crate) fn set_preemption_message(&mut self, message: String) {
        self.post_filter = Some(message);
    }

    /// The number of nodes considered.
    pub fn num_nodes(&self) -> usize {
        self.num_nodes
    }

    /// The message that ruled out every node at once (a pod spec that cannot be read, node affinity terms that
    /// name no node in common), if that is what happened.
    pub fn pre_filter_message(&self) -> Option<&str> {
        self.pre_filter.as_deref()
    }

    /// Why each node failed, when the filters ran.
    pub fn nodes(&self) -> &[NodeFailure] {
        &self.nodes
    }

    /// The preemption part of the message (`preemption: ...`), when preemption was attempted and failed.
    pub fn preemption_message(&self) -> Option<&str> {
        self.post_filter.as_deref()
    }

    /// Whether the pod waits for the victims of its own earlier preemption to leave its nominated node, and so
    /// should keep its nomination.
    pub fn waits_for_victims(&self) -> bool {
        self.post_filter.as_deref() == Some(WAITING_FOR_VICTIMS)
    }

    /// Whether some node might take the pod after evicting lower-priority pods.
    pub fn preemption_might_help(&self) -> bool {
        self.pre_filter.is_none() && self.nodes.iter().any(|n| n.resolvable)
    }
}

/// `0/<n> nodes are available: <sorted histogram>.`, the part of the message every `FitError` shares.
pub(crate) fn fit_message<'a>(num_nodes: usize, reasons: impl IntoIterator<Item = &'a str>) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for reason in reasons {
        *counts.entry(reason).or_default() += 1;
    }
    let mut histogram: Vec<String> =
        counts.into_iter().map(|(reason, count)| format!("{count} {reason}")).collect();
    // kube-scheduler sorts the formatted strings, so "10 x" comes before "2 y".
    histogram.sort();
    let mut message = format!("0/{num_nodes} nodes are available:");
    if !histogram.is_empty() {
        message.push(' ');
        message.push_str(&histogram.join(", "));
        message.push('.');
    }
    message
}

impl fmt::Display for Unschedulable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.num_nodes == 0 {
            // kube-scheduler's ErrNoNodesAvailable.
            return f.write_str("no nodes available to schedule pods");
        }
        if let Some(message) = &self.pre_filter {
            write!(f, "0/{} nodes are available: {message}.", self.num_nodes)?;
        } else {
            let reasons = self.nodes.iter().flat_map(|n| n.reasons.iter().map(String::as_str));
            f.write_str(&fit_message(self.num_nodes, reasons))?;
        }
        if let Some(message) = &self.post_filter {
            write!(f, " {message}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Unschedulable {}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(node: &str, reasons: &[&str]) -> NodeFailure {
        NodeFailure {
            node: node.to_owned(),
            reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
            resolvable: false,
        }
    }

    #[test]
    fn prints_kube_scheduler_messages() {
        let taint = "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }";
        let mut example = Unschedulable::filtered(
            3,
            vec![failure("a", &["Insufficient memory"]), failure("b", &[taint]), failure("c", &[taint])],
        );
        example.set_preemption_message(
            "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.".to_owned(),
        );
        let many: Vec<NodeFailure> = (0..10)
            .map(|i| failure(&format!("x{i}"), &["node(s) were unschedulable"]))
            .chain((0..2).map(|i| failure(&format!("y{i}"), &["Insufficient cpu", "Insufficient memory"])))
            .collect();
        let cases = [
            (
                example,
                "0/3 nodes are available: 1 Insufficient memory, 2 node(s) had untolerated taint \
                 {node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are available: 3 Preemption is \
                 not helpful for scheduling.",
            ),
            (
                Unschedulable::filtered(12, many),
                "0/12 nodes are available: 10 node(s) were unschedulable, 2 Insufficient cpu, 2 Insufficient memory.",
            ),
            (Unschedulable::no_nodes(), "no nodes available to schedule pods"),
            (
                Unschedulable::pre_filter(2, "pod affinity terms conflict"),
                "0/2 nodes are available: pod affinity terms conflict.",
            ),
            (Unschedulable::filtered(1, vec![failure("a", &[])]), "0/1 nodes are available:"),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn preemption_might_help_only_with_resolvable_nodes() {
        let mut nodes = vec![failure("a", &["node(s) were unschedulable"])];
        assert!(!Unschedulable::filtered(1, nodes.clone()).preemption_might_help());
        nodes.push(NodeFailure { resolvable: true, ..failure("b", &["Insufficient cpu"]) });
        let error = Unschedulable::filtered(2, nodes);
        assert!(error.preemption_might_help());
        assert_eq!(error.nodes().len(), 2);
        assert_eq!(error.num_nodes(), 2);
        assert_eq!(error.pre_filter_message(), None);
        assert_eq!(error.preemption_message(), None);
        assert!(!Unschedulable::pre_filter(2, "x").preemption_might_help());
    }
}
