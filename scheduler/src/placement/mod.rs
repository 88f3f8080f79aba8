//! Placement: given a pod and a [`Snapshot`] of the nodes, pick a node or say why none fits, the way
//! kube-scheduler does, but packing pods tightly by default.
//!
//! - [`pod`]: [`PodInfo`], the scheduler's view of a pod (requests computed the Kubernetes way), and the queue
//!   order.
//! - [`snapshot`]: [`Snapshot`], nodes and the pods on them, updated one watch event at a time.
//! - `filter`: the filters, in kube-scheduler's order and words.
//! - `score`: the scores, each 0–100, combined with weights.
//! - [`explain`]: [`Unschedulable`], kube-scheduler's `FitError` message.
//! - [`preempt`]: [`Preemption`], which pods to evict so that a more important pod fits.
//!
//! A decision ([`Scheduler::schedule`]) runs the filters on every node, scores the nodes that pass and takes the
//! highest total; nodes with equal totals go to the smallest name, so a decision depends only on its inputs and
//! identical empty nodes fill in name order. A pod nominated by an earlier preemption takes its nominated node
//! whenever it fits there. When no node passes, the filters run again to record every node's reasons (the
//! common path pays nothing for explanations).

pub mod explain;
pub(crate) mod filter;
pub mod pod;
pub mod preempt;
pub(crate) mod score;
pub mod snapshot;
#[cfg(test)]
pub(crate) mod testing;

use std::cmp::Ordering;
use std::collections::BTreeSet;

pub use explain::{NodeFailure, Unschedulable};
pub use pod::{PodInfo, QueueKey, Requests, Resources, TaintEffect, wants_scheduling};
pub use preempt::{Preemption, Victim};
pub use score::Strategy;
pub use snapshot::{NodeUsage, Snapshot, UnknownNode};

use filter::{Query, REASON_TERMS_CONFLICT, check};
use snapshot::NodeSlot;

/// How the scheduler weighs nodes. The plugin weights default to kube-scheduler's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Pack (the default) or spread.
    pub strategy: Strategy,
    /// The weight of CPU in the resource score.
    pub cpu_weight: u32,
    /// The weight of memory in the resource score.
    pub memory_weight: u32,
    /// The weight of the resource score (`NodeResourcesFit`, 1 in kube-scheduler).
    pub resources_weight: u32,
    /// The weight of the balanced allocation score (`NodeResourcesBalancedAllocation`, 1 in kube-scheduler).
    pub balanced_weight: u32,
    /// The weight of the preferred node affinity score (`NodeAffinity`, 2 in kube-scheduler).
    pub node_affinity_weight: u32,
    /// The weight of the `PreferNoSchedule` taint score (`TaintToleration`, 3 in kube-scheduler).
    pub taint_toleration_weight: u32,
    /// Name the untolerated taint in explanations (`node(s) had untolerated taint {key: value}`), as
    /// Kubernetes did before 1.35; off by default because taint values may be sensitive.
    pub reveal_taints: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            strategy: Strategy::MostAllocated,
            cpu_weight: 1,
            memory_weight: 1,
            resources_weight: 1,
            balanced_weight: 1,
            node_affinity_weight: 2,
            taint_toleration_weight: 3,
            reveal_taints: false,
        }
    }
}

/// What to do with a pending pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Bind the pod to this node.
    Bind(String),
    /// Nominate `preemption.node` for the pod, evict the victims, and report `failure` as the pod's condition;
    /// the pod is retried once the victims are gone.
    Preempt {
        /// Where and whom.
        preemption: Preemption,
        /// Why the pod did not fit as things stood.
        failure: Unschedulable,
    },
    /// Leave the pod pending, with this explanation, until the cluster changes.
    Unschedulable(Unschedulable),
}

/// The placement decisions, with their configuration. Pure: every method reads only its arguments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scheduler {
    config: Config,
}

/// A node that passed the filters, with its raw scores.
struct Feasible<'a> {
    node: &'a NodeSlot,
    resources: f64,
    affinity: i64,
    taints: i64,
}

impl Scheduler {
    /// A scheduler with `config`.
    pub fn new(config: Config) -> Self {
        Self { config }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The node for `pod`, or why no node of `snapshot` can take it.
    pub fn schedule(&self, snapshot: &Snapshot, pod: &PodInfo) -> Result<String, Unschedulable> {
        let num_nodes = snapshot.node_count();
        if num_nodes == 0 {
            return Err(Unschedulable::no_nodes());
        }
        if let Some(problem) = pod.problem() {
            return Err(Unschedulable::pre_filter(num_nodes, problem));
        }
        if pod.node_names.as_ref().is_some_and(BTreeSet::is_empty) {
            return Err(Unschedulable::pre_filter(num_nodes, REASON_TERMS_CONFLICT));
        }
        let q = Query::new(snapshot, pod);
        // A pod that preempted goes where it made room if it now fits there (kube-scheduler's
        // `evaluateNominatedNode`), so that another node's score cannot strand the freed space.
        if let Some(node) = pod.nominated_node().and_then(|name| snapshot.slot(name))
            && check(&q, snapshot, node, None).is_ok()
        {
            return Ok(node.name.clone());
        }
        let best = if q.preferred.is_empty() && snapshot.prefer_no_schedule_nodes == 0 {
            self.best_by_resources(&q, snapshot)
        } else {
            self.best_by_all_scores(&q, snapshot)
        };
        best.map(|node| node.name.clone()).ok_or_else(|| self.explain(&q, snapshot))
    }

    /// Tries preemption after [`schedule`](Self::schedule) failed with `failure`: the node to nominate and the
    /// pods to evict, or `None` with `failure` now carrying kube-scheduler's `preemption: ...` message.
    pub fn preempt(
        &self,
        snapshot: &Snapshot,
        pod: &PodInfo,
        failure: &mut Unschedulable,
    ) -> Option<Preemption> {
        preempt::preempt(&self.config, snapshot, pod, failure)
    }

    /// [`schedule`](Self::schedule), then [`preempt`](Self::preempt) when no node fits.
    pub fn decide(&self, snapshot: &Snapshot, pod: &PodInfo) -> Decision {
        match self.schedule(snapshot, pod) {
            Ok(node) => Decision::Bind(node),
            Err(mut failure) => match self.preempt(snapshot, pod, &mut failure) {
                Some(preemption) => Decision::Preempt { preemption, failure },
                None => Decision::Unschedulable(failure),
            },
        }
    }

    /// One pass when only the resource score can differ between nodes (no preferred node affinity, no
    /// `PreferNoSchedule` taints): the other plugins give every node the same score.
    fn best_by_resources<'a>(&self, q: &Query, snapshot: &'a Snapshot) -> Option<&'a NodeSlot> {
        let mut best: Option<(&NodeSlot, f64)> = None;
        for node in snapshot.nodes.iter().filter(|n| n.present) {
            if check(q, snapshot, node, None).is_err() {
                continue;
            }
            let score = self.resources_score(node, q.pod);
            if best.is_none_or(|(b, s)| better(score, &node.name, s, &b.name)) {
                best = Some((node, score));
            }
        }
        best.map(|(node, _)| node)
    }

    /// Two passes: filter and raw scores, then normalise and pick.
    fn best_by_all_scores<'a>(&self, q: &Query, snapshot: &'a Snapshot) -> Option<&'a NodeSlot> {
        let c = &self.config;
        let mut feasible = Vec::new();
        let (mut max_affinity, mut max_taints) = (0, 0);
        for node in snapshot.nodes.iter().filter(|n| n.present) {
            if check(q, snapshot, node, None).is_err() {
                continue;
            }
            let affinity = score::node_affinity_raw(q, node, &snapshot.symbols);
            let taints = if node.has_prefer_no_schedule { score::taint_raw(q, node) } else { 0 };
            max_affinity = max_affinity.max(affinity);
            max_taints = max_taints.max(taints);
            let resources = self.resources_score(node, q.pod);
            feasible.push(Feasible { node, resources, affinity, taints });
        }
        let mut best: Option<(&NodeSlot, f64)> = None;
        for f in feasible {
            let score = f.resources
                + f64::from(c.node_affinity_weight) * score::normalize(f.affinity, max_affinity, false)
                + f64::from(c.taint_toleration_weight) * score::normalize(f.taints, max_taints, true);
            if best.is_none_or(|(b, s)| better(score, &f.node.name, s, &b.name)) {
                best = Some((f.node, score));
            }
        }
        best.map(|(node, _)| node)
    }

    /// The weighted scores that depend on resources only: `NodeResourcesFit` and
    /// `NodeResourcesBalancedAllocation`.
    fn resources_score(&self, node: &NodeSlot, pod: &PodInfo) -> f64 {
        let c = &self.config;
        let requests = pod.requests();
        let mut score = 0.0;
        if c.resources_weight > 0 {
            score += f64::from(c.resources_weight)
                * score::resource_score(c.strategy, c.cpu_weight, c.memory_weight, node, requests);
        }
        if c.balanced_weight > 0 {
            score += f64::from(c.balanced_weight) * score::balanced_score(node, requests);
        }
        score
    }

    /// Every node's reasons, once no node passed.
    fn explain(&self, q: &Query, snapshot: &Snapshot) -> Unschedulable {
        let nodes = snapshot
            .nodes
            .iter()
            .filter(|n| n.present)
            .filter_map(|node| {
                let failure = check(q, snapshot, node, None).err()?;
                Some(NodeFailure {
                    node: node.name.clone(),
                    reasons: failure.reasons(q.pod, &snapshot.symbols, self.config.reveal_taints),
                    resolvable: failure.resolvable(),
                })
            })
            .collect();
        Unschedulable::filtered(snapshot.node_count(), nodes)
    }
}

/// Whether a node scoring `score` named `name` beats one scoring `best` named `best_name`: a higher score,
/// or the same score and a smaller name.
fn better(score: f64, name: &str, best: f64, best_name: &str) -> bool {
    match score.total_cmp(&best) {
        Ordering::Greater => true,
        Ordering::Equal => name < best_name,
        Ordering::Less => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use testing::{bound, node, pod, ready_node};

    fn cluster(nodes: Vec<Value>, pods: &[k8s_openapi::api::core::v1::Pod]) -> Snapshot {
        let nodes: Vec<_> = nodes.into_iter().map(node).collect();
        Snapshot::from_objects(&nodes, pods)
    }

    fn pending(spec: Value) -> PodInfo {
        let mut spec = spec;
        if spec.get("containers").is_none() {
            spec["containers"] = json!([]);
        }
        PodInfo::from_pod(&pod(
            json!({"metadata": {"name": "p", "namespace": "ns", "uid": "p"}, "spec": spec}),
        ))
    }

    fn requesting(cpu: &str, memory: &str) -> Value {
        json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": memory}}}]})
    }

    fn plain(name: &str, cpu: &str, memory: &str) -> Value {
        ready_node(name, cpu, memory, json!({}), json!({}))
    }

    #[test]
    fn packs_or_spreads() {
        let snapshot = cluster(
            vec![plain("empty", "4", "8Gi"), plain("half", "4", "8Gi"), plain("full", "4", "8Gi")],
            &[bound("h", "half", "2", "4Gi"), bound("f", "full", "3500m", "7Gi")],
        );
        let pod = pending(requesting("500m", "1Gi"));
        let most = Scheduler::default();
        let least = Scheduler::new(Config { strategy: Strategy::LeastAllocated, ..Config::default() });
        assert_eq!(most.schedule(&snapshot, &pod).as_deref(), Ok("full"));
        assert_eq!(least.schedule(&snapshot, &pod).as_deref(), Ok("empty"));
        // Too big for the fullest node: the next fullest.
        assert_eq!(most.schedule(&snapshot, &pending(requesting("1", "1Gi"))).as_deref(), Ok("half"));
    }

    #[test]
    fn resource_weights_decide_between_cpu_and_memory() {
        let snapshot = cluster(
            vec![plain("cpu-busy", "4", "8Gi"), plain("memory-busy", "4", "8Gi")],
            &[bound("c", "cpu-busy", "3", "1Gi"), bound("m", "memory-busy", "1", "6Gi")],
        );
        let pod = pending(requesting("100m", "100Mi"));
        let cpu_heavy = Scheduler::new(Config { cpu_weight: 3, ..Config::default() });
        let memory_heavy = Scheduler::new(Config { memory_weight: 3, ..Config::default() });
        assert_eq!(cpu_heavy.schedule(&snapshot, &pod).as_deref(), Ok("cpu-busy"));
        assert_eq!(memory_heavy.schedule(&snapshot, &pod).as_deref(), Ok("memory-busy"));
    }

    #[test]
    fn ties_go_to_the_smallest_name() {
        let names = ["node-b", "node-c", "node-a", "node-10", "node-2"];
        let snapshot = cluster(names.iter().map(|n| plain(n, "4", "8Gi")).collect(), &[]);
        for scheduler in [
            Scheduler::default(),
            Scheduler::new(Config { strategy: Strategy::LeastAllocated, ..Config::default() }),
        ] {
            assert_eq!(
                scheduler.schedule(&snapshot, &pending(requesting("1", "1Gi"))).as_deref(),
                Ok("node-10")
            );
        }
        // The tie-break also settles equal totals on the two-pass path.
        let preferring = pending(
            json!({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 5, "preference": {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In",
                                                              "values": ["node-c", "node-b"]}]}}]}}}),
        );
        assert_eq!(Scheduler::default().schedule(&snapshot, &preferring).as_deref(), Ok("node-b"));
    }

    #[test]
    fn preferences_outweigh_packing_with_kube_scheduler_weights() {
        let snapshot = cluster(
            vec![
                ready_node("busy-ssd", "4", "8Gi", json!({"disk": "ssd"}), json!({})),
                ready_node("busy-hdd", "4", "8Gi", json!({"disk": "hdd"}), json!({})),
                ready_node(
                    "soft-tainted",
                    "4",
                    "8Gi",
                    json!({"disk": "ssd"}),
                    json!({"taints": [{"key": "spot", "effect": "PreferNoSchedule"}]}),
                ),
                ready_node("idle-ssd", "4", "8Gi", json!({"disk": "ssd"}), json!({})),
            ],
            &[
                bound("a", "busy-ssd", "3", "6Gi"),
                bound("b", "busy-hdd", "3500m", "7Gi"),
                bound("c", "soft-tainted", "3500m", "7Gi"),
            ],
        );
        let prefer_ssd = json!({"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 1, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}}]}});
        let mut spec = requesting("100m", "100Mi");
        // Packing alone picks the fullest node that fits.
        assert_eq!(
            Scheduler::default().schedule(&snapshot, &pending(spec.clone())).as_deref(),
            Ok("busy-hdd")
        );
        spec["affinity"] = prefer_ssd;
        assert_eq!(
            Scheduler::default().schedule(&snapshot, &pending(spec.clone())).as_deref(),
            Ok("busy-ssd")
        );
        spec["tolerations"] = json!([{"key": "spot", "operator": "Exists", "effect": "PreferNoSchedule"}]);
        assert_eq!(
            Scheduler::default().schedule(&snapshot, &pending(spec.clone())).as_deref(),
            Ok("soft-tainted")
        );
        // With the taint score weighed at zero, the tainted node wins on packing even without the toleration.
        let ignore_taints = Scheduler::new(Config { taint_toleration_weight: 0, ..Config::default() });
        spec["tolerations"] = json!([]);
        assert_eq!(ignore_taints.schedule(&snapshot, &pending(spec)).as_deref(), Ok("soft-tainted"));
    }

    #[test]
    fn explains_exactly_like_kube_scheduler() {
        let control_plane =
            json!({"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]});
        let snapshot = cluster(
            vec![
                plain("worker", "4", "1Gi"),
                ready_node("cp1", "4", "8Gi", json!({}), control_plane.clone()),
                ready_node("cp2", "4", "8Gi", json!({}), control_plane),
            ],
            &[],
        );
        let pod = pending(requesting("1", "2Gi"));
        let generic = Scheduler::default();
        let mut failure = generic.schedule(&snapshot, &pod).err().unwrap_or_else(|| panic!("should not fit"));
        assert_eq!(
            failure.to_string(),
            "0/3 nodes are available: 1 Insufficient memory, 2 node(s) had untolerated taint(s)."
        );
        assert_eq!(generic.preempt(&snapshot, &pod, &mut failure), None);
        assert_eq!(
            failure.to_string(),
            "0/3 nodes are available: 1 Insufficient memory, 2 node(s) had untolerated taint(s). preemption: 0/3 \
             nodes are available: 3 Preemption is not helpful for scheduling."
        );
        let revealing = Scheduler::new(Config { reveal_taints: true, ..Config::default() });
        let Decision::Unschedulable(failure) = revealing.decide(&snapshot, &pod) else {
            panic!("should not fit")
        };
        assert_eq!(
            failure.to_string(),
            "0/3 nodes are available: 1 Insufficient memory, 2 node(s) had untolerated taint \
             {node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are available: 3 Preemption is not \
             helpful for scheduling."
        );
        let reasons: Vec<(&str, &[String], bool)> =
            failure.nodes().iter().map(|n| (n.node.as_str(), n.reasons.as_slice(), n.resolvable)).collect();
        assert!(reasons.contains(&("worker", &["Insufficient memory".to_owned()][..], false)));
    }

    #[test]
    fn explains_prefilter_and_named_nodes() {
        let snapshot =
            cluster(vec![plain("n1", "1", "1Gi"), plain("n2", "1", "1Gi"), plain("n3", "1", "1Gi")], &[]);
        let field = |values: Value| json!({"matchFields": [{"key": "metadata.name", "operator": "In", "values": values}]});
        let named = |terms: Value| {
            let mut spec = requesting("2", "0");
            spec["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}});
            pending(spec)
        };
        let message =
            |pod: &PodInfo| Scheduler::default().schedule(&snapshot, pod).err().map(|e| e.to_string());
        assert_eq!(
            message(&named(json!([field(json!(["n2"]))]))).as_deref(),
            Some(
                "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]."
            )
        );
        assert_eq!(
            message(&named(json!([{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": ["n1"]},
                {"key": "metadata.name", "operator": "In", "values": ["n2"]}]}])))
            .as_deref(),
            Some("0/3 nodes are available: pod affinity terms conflict.")
        );
        assert_eq!(
            Scheduler::default()
                .schedule(
                    &snapshot,
                    &pending(
                        json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                    {"nodeSelectorTerms": [field(json!(["n3"]))]}}}})
                    )
                )
                .as_deref(),
            Ok("n3")
        );
    }

    #[test]
    fn huge_requests_do_not_overflow() {
        let huge = "9223372036854775807m";
        let mut snapshot = cluster(vec![plain("n1", huge, "4Ei")], &[bound("a", "n1", huge, "4Ei")]);
        snapshot.upsert_pod(&bound("b", "n1", huge, "4Ei"));
        let pod = pending(requesting(huge, "4Ei"));
        let scheduler = Scheduler::default();
        assert_eq!(
            scheduler.schedule(&snapshot, &pod).err().map(|e| e.to_string()).as_deref(),
            Some("0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.")
        );
        assert!(matches!(scheduler.decide(&snapshot, &pod), Decision::Unschedulable(_)));
        snapshot.remove_pod("default/a");
        snapshot.remove_pod("default/b");
        assert_eq!(scheduler.schedule(&snapshot, &pod).as_deref(), Ok("n1"));
    }

    #[test]
    fn a_nominated_pod_takes_its_node_when_it_fits() {
        let snapshot = cluster(
            vec![plain("n1", "4", "8Gi"), plain("n2", "4", "8Gi")],
            &[bound("busy", "n1", "3", "6Gi")],
        );
        let mut pod = pod(json!({"metadata": {"name": "p", "namespace": "ns", "uid": "p"},
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "500m"}}}]},
            "status": {"nominatedNodeName": "n2"}}));
        assert_eq!(Scheduler::default().schedule(&snapshot, &PodInfo::from_pod(&pod)).as_deref(), Ok("n2"));
        // Nominated where it no longer fits: the usual choice.
        pod.status = serde_json::from_value(json!({"nominatedNodeName": "n1"})).ok();
        if let Some(spec) = pod.spec.as_mut() {
            spec.containers[0].resources = serde_json::from_value(json!({"requests": {"cpu": "2"}})).ok();
        }
        assert_eq!(Scheduler::default().schedule(&snapshot, &PodInfo::from_pod(&pod)).as_deref(), Ok("n2"));
    }

    #[test]
    fn decide_preempts_when_that_helps() {
        let snapshot = cluster(
            vec![plain("n1", "2", "4Gi")],
            &[pod(json!({"metadata": {"name": "low", "namespace": "ns", "uid": "low"},
                         "spec": {"nodeName": "n1", "priority": 1, "containers": [
                             {"name": "c", "resources": {"requests": {"cpu": "2"}}}]}}))],
        );
        let mut spec = requesting("1", "1Gi");
        spec["priority"] = json!(100);
        match Scheduler::default().decide(&snapshot, &pending(spec)) {
            Decision::Preempt { preemption, failure } => {
                assert_eq!(preemption.node, "n1");
                assert_eq!(preemption.victims.iter().map(|v| v.uid.as_str()).collect::<Vec<_>>(), ["low"]);
                assert_eq!(failure.to_string(), "0/1 nodes are available: 1 Insufficient cpu.");
            }
            other => panic!("expected a preemption, got {other:?}"),
        }
    }

    #[test]
    fn assumed_pods_count_for_the_next_decision() {
        let mut snapshot = cluster(vec![plain("a", "2", "4Gi"), plain("b", "2", "4Gi")], &[]);
        let scheduler = Scheduler::default();
        let mut placed = Vec::new();
        for i in 0..4 {
            let info =
                PodInfo::from_pod(&pod(json!({"metadata": {"name": format!("p{i}"), "namespace": "ns"},
                "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}})));
            let node = scheduler.schedule(&snapshot, &info).unwrap_or_else(|e| panic!("{e}"));
            snapshot.assume(&info, &node).unwrap_or_else(|e| panic!("{e}"));
            placed.push(node);
        }
        assert_eq!(placed, ["a", "a", "b", "b"]);
        let fifth = pending(requesting("1", "0"));
        assert_eq!(
            scheduler.schedule(&snapshot, &fifth).err().map(|e| e.to_string()).as_deref(),
            Some("0/2 nodes are available: 2 Insufficient cpu.")
        );
        snapshot.check_consistency();
    }
}
