//! Preemption, the pure part of kube-scheduler's `DefaultPreemption`: when a pod fits nowhere, find a node
//! where evicting lower-priority pods makes it fit, and the fewest, least important pods to evict.
//!
//! Only nodes whose failure eviction can fix are tried (resources, pod count, pod anti-affinity); on each, all
//! lower-priority pods are removed, and if the pod then fits they are put back one by one, most important
//! first, keeping back every pod the pod still fits beside. The node is chosen as kube-scheduler does: the
//! lowest highest-victim priority, then the lowest sum of priorities, then the fewest victims, then the latest
//! start among the most important victims, then (in place of kube-scheduler's arbitrary pick) the node name.
//! Unlike kube-scheduler, every candidate node is dry-run, not a sample, and `PodDisruptionBudget`s are not
//! considered.

use k8s_openapi::jiff::Timestamp;

use super::Config;
use super::explain::{Unschedulable, WAITING_FOR_VICTIMS, fit_message};
use super::filter::{Adjustment, Query, check};
use super::pod::PodInfo;
use super::snapshot::{NodeSlot, Snapshot};

/// The reason of a node where preemption cannot help.
const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
/// The reason of a node without lower-priority pods.
const NO_VICTIMS: &str = "No preemption victims found for incoming pod";

/// A pod to evict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Victim {
    /// The snapshot key ([`PodInfo::key`]).
    pub key: String,
    /// `metadata.uid`, for a delete precondition.
    pub uid: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `spec.priority`.
    pub priority: i32,
}

impl Victim {
    fn new(pod: &PodInfo) -> Self {
        Self {
            key: pod.key().to_owned(),
            uid: pod.uid().to_owned(),
            namespace: pod.namespace().to_owned(),
            name: pod.name().to_owned(),
            priority: pod.priority(),
        }
    }
}

/// The outcome of a successful preemption: nominate `node` for the pod and evict `victims` (most important
/// first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preemption {
    /// The node to nominate (`status.nominatedNodeName`).
    pub node: String,
    /// The pods to evict.
    pub victims: Vec<Victim>,
}

/// A node where preemption works, and its victims (most important first).
struct Candidate<'a> {
    node: &'a NodeSlot,
    victims: Vec<&'a PodInfo>,
}

impl Candidate<'_> {
    /// kube-scheduler's `pickOneNodeForPreemption` criteria, smaller is better.
    fn rank(&self) -> (i32, i64, usize, std::cmp::Reverse<Timestamp>) {
        let highest = self.victims.iter().map(|v| v.priority()).max().unwrap_or(i32::MIN);
        // Shifted so that many negative priorities do not beat fewer of the same.
        let sum: i64 = self.victims.iter().map(|v| i64::from(v.priority()) + (1 << 31)).sum();
        let earliest_top = self
            .victims
            .iter()
            .filter(|v| v.priority() == highest)
            .map(|v| v.started().unwrap_or(Timestamp::MAX))
            .min()
            .unwrap_or(Timestamp::MAX);
        (highest, sum, self.victims.len(), std::cmp::Reverse(earliest_top))
    }
}

/// Tries preemption for `pod` after `failure`. Returns the node to nominate and the victims, or `None` after
/// recording in `failure` why preemption cannot help.
pub(crate) fn preempt(
    config: &Config,
    snapshot: &Snapshot,
    pod: &PodInfo,
    failure: &mut Unschedulable,
) -> Option<Preemption> {
    let num_nodes = failure.num_nodes();
    if num_nodes == 0 {
        return None;
    }
    if pod.preemption_never() {
        failure.set_preemption_message("preemption: not eligible due to preemptionPolicy=Never.".to_owned());
        return None;
    }
    if let Some(nominated) = pod.nominated_node() {
        let unresolvable = failure.nodes().iter().any(|n| n.node == nominated && !n.resolvable);
        let waiting = snapshot.slot(nominated).is_some_and(|n| {
            n.pods.iter().any(|p| p.info.priority() < pod.priority() && p.info.is_terminating_by_preemption())
        });
        if waiting && !unresolvable {
            failure.set_preemption_message(WAITING_FOR_VICTIMS.to_owned());
            return None;
        }
    }

    let q = Query::new(snapshot, pod);
    let mut candidates = Vec::new();
    let mut statuses: Vec<String> = Vec::new();
    let mut tried = 0;
    if failure.pre_filter_message().is_none() {
        for node in snapshot.nodes.iter().filter(|n| n.present) {
            let Some(node_failure) = failure.nodes().iter().find(|f| f.node == node.name) else { continue };
            if !node_failure.resolvable {
                continue;
            }
            tried += 1;
            match select_victims(config, &q, snapshot, node) {
                Ok(victims) if !victims.is_empty() => candidates.push(Candidate { node, victims }),
                Ok(_) => {}
                Err(reasons) => statuses.extend(reasons),
            }
        }
    }

    let Some(best) =
        candidates.into_iter().min_by(|a, b| a.rank().cmp(&b.rank()).then(a.node.name.cmp(&b.node.name)))
    else {
        let not_helpful = std::iter::repeat_n(NOT_HELPFUL, num_nodes.saturating_sub(tried));
        let message = fit_message(num_nodes, statuses.iter().map(String::as_str).chain(not_helpful));
        failure.set_preemption_message(format!("preemption: {message}"));
        return None;
    };
    Some(Preemption {
        node: best.node.name.clone(),
        victims: best.victims.into_iter().map(Victim::new).collect(),
    })
}

/// kube-scheduler's `SelectVictimsOnNode`: the fewest lower-priority pods to evict from `node` for the pod to
/// fit, most important first; or the reasons it cannot fit even with all of them gone.
fn select_victims<'a>(
    config: &Config,
    q: &Query,
    snapshot: &'a Snapshot,
    node: &'a NodeSlot,
) -> Result<Vec<&'a PodInfo>, Vec<String>> {
    let pod = q.pod;
    let mut potential: Vec<&PodInfo> =
        node.pods.iter().map(|p| &*p.info).filter(|p| p.priority() < pod.priority()).collect();
    if potential.is_empty() {
        return Err(vec![NO_VICTIMS.to_owned()]);
    }
    let mut adjustment = Adjustment::nominated(node, pod).unwrap_or_default();
    for victim in &potential {
        adjustment.remove(victim);
    }
    if let Err(failure) = check(q, snapshot, node, Some(&adjustment)) {
        return Err(failure.reasons(pod, &snapshot.symbols, config.reveal_taints));
    }
    potential.sort_by(|a, b| a.more_important_than(b));
    let mut victims = Vec::new();
    for candidate in potential {
        adjustment.restore(candidate);
        if check(q, snapshot, node, Some(&adjustment)).is_err() {
            adjustment.remove(candidate);
            victims.push(candidate);
        }
    }
    Ok(victims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::Scheduler;
    use crate::placement::testing::{node, pod, ready_node};
    use serde_json::{Value, json};

    fn running(
        name: &str,
        node: &str,
        priority: i32,
        cpu: &str,
        started: &str,
    ) -> k8s_openapi::api::core::v1::Pod {
        pod(json!({
            "metadata": {"name": name, "namespace": "ns", "uid": name, "labels": {"app": name}},
            "spec": {"nodeName": node, "priority": priority,
                     "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]},
            "status": {"startTime": started},
        }))
    }

    fn incoming(priority: i32, cpu: &str, extra: Value) -> PodInfo {
        let mut spec = json!({"priority": priority, "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]});
        if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
            spec.extend(extra.clone());
        }
        PodInfo::from_pod(&pod(
            json!({"metadata": {"name": "new", "namespace": "ns", "uid": "new"}, "spec": spec}),
        ))
    }

    fn cluster(nodes: &[(&str, &str)], pods: &[k8s_openapi::api::core::v1::Pod]) -> Snapshot {
        let mut snapshot = Snapshot::new();
        for (name, cpu) in nodes {
            snapshot.upsert_node(&node(ready_node(name, cpu, "64Gi", json!({}), json!({}))));
        }
        for p in pods {
            snapshot.upsert_pod(p);
        }
        snapshot
    }

    /// Runs scheduling and preemption; returns the chosen node and victim names, or the full message.
    fn outcome(snapshot: &Snapshot, pod: &PodInfo) -> Expected {
        let scheduler = Scheduler::default();
        let mut failure = match scheduler.schedule(snapshot, pod) {
            Ok(node) => return Ok((node, Vec::new())),
            Err(failure) => failure,
        };
        match scheduler.preempt(snapshot, pod, &mut failure) {
            Some(p) => Ok((p.node, p.victims.into_iter().map(|v| v.name).collect())),
            None => Err(failure.to_string()),
        }
    }

    /// The chosen node and victims, or the whole message.
    type Expected = Result<(String, Vec<String>), String>;
    /// (case, nodes with their CPU, pods, incoming pod, expected).
    type Case = (
        &'static str,
        Vec<(&'static str, &'static str)>,
        Vec<k8s_openapi::api::core::v1::Pod>,
        PodInfo,
        Expected,
    );

    const T1: &str = "2024-01-01T00:00:01Z";
    const T2: &str = "2024-01-01T00:00:02Z";

    #[test]
    fn chooses_victims_and_nodes_like_kube_scheduler() {
        let ok = |node: &str, victims: &[&str]| {
            Ok((node.to_owned(), victims.iter().map(|v| (*v).to_owned()).collect()))
        };
        let cases: Vec<Case> = vec![
            (
                "fits without preemption",
                vec![("n1", "4")],
                vec![running("a", "n1", 0, "1", T1)],
                incoming(10, "1", json!({})),
                ok("n1", &[]),
            ),
            (
                "evicts only as much as needed, least important first",
                vec![("n1", "4")],
                vec![running("a", "n1", 1, "1", T1), running("b", "n1", 2, "1", T1), running("c", "n1", 3, "2", T1)],
                incoming(10, "2", json!({})),
                ok("n1", &["b", "a"]),
            ),
            (
                "keeps the more important pod when one victim suffices",
                vec![("n1", "4")],
                vec![running("a", "n1", 1, "2", T1), running("b", "n1", 5, "2", T1)],
                incoming(10, "2", json!({})),
                ok("n1", &["a"]),
            ),
            (
                "prefers the node whose most important victim has the lowest priority",
                vec![("n1", "2"), ("n2", "2")],
                vec![running("a", "n1", 5, "2", T1), running("b", "n2", 3, "1", T1), running("c", "n2", 3, "1", T1)],
                incoming(10, "2", json!({})),
                ok("n2", &["b", "c"]),
            ),
            (
                "then the lowest sum of priorities",
                vec![("n1", "2"), ("n2", "2")],
                vec![running("a", "n1", 5, "1", T1), running("b", "n1", 5, "1", T1), running("c", "n2", 5, "2", T1)],
                incoming(10, "2", json!({})),
                ok("n2", &["c"]),
            ),
            (
                "then the latest started most important victim",
                vec![("n1", "2"), ("n2", "2")],
                vec![running("a", "n1", 5, "2", T1), running("b", "n2", 5, "2", T2)],
                incoming(10, "2", json!({})),
                ok("n2", &["b"]),
            ),
            (
                "then the node name",
                vec![("n2", "2"), ("n1", "2")],
                vec![running("a", "n1", 5, "2", T1), running("b", "n2", 5, "2", T1)],
                incoming(10, "2", json!({})),
                ok("n1", &["a"]),
            ),
            (
                "equal priority pods are not victims",
                vec![("n1", "2")],
                vec![running("a", "n1", 10, "2", T1)],
                incoming(10, "1", json!({})),
                Err("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption \
                     victims found for incoming pod."
                    .to_owned()),
            ),
            (
                "evicting everything is not enough",
                vec![("n1", "2"), ("n2", "4")],
                vec![running("a", "n1", 0, "1", T1), running("b", "n2", 20, "2", T1), running("c", "n2", 0, "1", T1)],
                incoming(10, "3", json!({})),
                Err("0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 1 Insufficient \
                     cpu, 1 Preemption is not helpful for scheduling."
                    .to_owned()),
            ),
            (
                "preemptionPolicy Never",
                vec![("n1", "2")],
                vec![running("a", "n1", 0, "2", T1)],
                incoming(10, "1", json!({"preemptionPolicy": "Never"})),
                Err("0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."
                    .to_owned()),
            ),
            (
                "taints cannot be fixed by eviction",
                vec![("n1", "2")],
                vec![running("a", "n1", 0, "2", T1)],
                incoming(10, "1", json!({"nodeSelector": {"zone": "x"}})),
                Err("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes \
                     are available: 1 Preemption is not helpful for scheduling."
                    .to_owned()),
            ),
        ];
        for (case, nodes, pods, pod, expected) in cases {
            let snapshot = cluster(&nodes, &pods);
            assert_eq!(outcome(&snapshot, &pod), expected, "{case}");
        }
    }

    #[test]
    fn anti_affinity_victims() {
        let anti = json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "a"}}}]}}});
        let snapshot =
            cluster(&[("n1", "8")], &[running("a", "n1", 0, "1", T1), running("b", "n1", 0, "1", T1)]);
        assert_eq!(
            outcome(&snapshot, &incoming(10, "1", anti.clone())),
            Ok(("n1".to_owned(), vec!["a".to_owned()]))
        );
        // A higher-priority pod that anti-affinity rules out cannot be evicted.
        let snapshot =
            cluster(&[("n1", "8")], &[running("a", "n1", 50, "1", T1), running("c", "n1", 0, "1", T1)]);
        assert_eq!(
            outcome(&snapshot, &incoming(10, "1", anti)),
            Err("0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules. preemption: 0/1 nodes are \
                 available: 1 node(s) didn't match pod anti-affinity rules."
                .to_owned())
        );
        // An existing pod's anti-affinity against the new pod goes with it.
        let mut snapshot = cluster(&[("n1", "8")], &[]);
        snapshot.upsert_pod(&pod(json!({"metadata": {"name": "guard", "namespace": "ns", "uid": "guard"},
            "spec": {"nodeName": "n1", "priority": 1, "containers": [], "affinity": {"podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"topologyKey": "kubernetes.io/hostname", "labelSelector": {}}]}}}})));
        assert_eq!(
            outcome(&snapshot, &incoming(10, "1", json!({}))),
            Ok(("n1".to_owned(), vec!["guard".to_owned()]))
        );
    }

    #[test]
    fn waits_for_victims_on_the_nominated_node() {
        let mut terminating = running("old", "n1", 0, "2", T1);
        terminating.metadata.deletion_timestamp = serde_json::from_value(json!(T2)).ok();
        terminating.status = serde_json::from_value(json!({"conditions": [
            {"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler"}]}))
        .ok();
        let snapshot = cluster(&[("n1", "2")], &[terminating]);
        let nominated =
            PodInfo::from_pod(&pod(json!({"metadata": {"name": "new", "namespace": "ns", "uid": "new"},
            "spec": {"priority": 10, "containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]},
            "status": {"nominatedNodeName": "n1"}})));
        assert_eq!(
            outcome(&snapshot, &nominated),
            Err("0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to a terminating pod on the \
                 nominated node."
                .to_owned())
        );
    }

    #[test]
    fn nothing_to_preempt_without_nodes_or_with_a_bad_spec() {
        let scheduler = Scheduler::default();
        let empty = Snapshot::new();
        let pod = incoming(10, "1", json!({}));
        let mut failure = scheduler.schedule(&empty, &pod).err().unwrap_or_else(|| panic!("no nodes"));
        assert_eq!(scheduler.preempt(&empty, &pod, &mut failure), None);
        assert_eq!(failure.to_string(), "no nodes available to schedule pods");

        let snapshot = cluster(&[("n1", "2"), ("n2", "2")], &[]);
        let bad = incoming(10, "x", json!({}));
        assert_eq!(
            outcome(&snapshot, &bad),
            Err("0/2 nodes are available: spec.containers[0].resources.requests[cpu]: quantities must match the regular \
                 expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'. preemption: 0/2 nodes are available: 2 \
                 Preemption is not helpful for scheduling."
                .to_owned())
        );
    }
}
