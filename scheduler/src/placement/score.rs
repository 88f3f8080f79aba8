//! The scores: how much a node that passed the filters is preferred, per kube-scheduler plugin, each on a
//! 0–100 scale and combined as a weighted sum.
//!
//! - `NodeResourcesFit`: most-allocated (bin-packing, the default here) or least-allocated (spreading) over CPU
//!   and memory with configurable weights, using the scoring requests (containers without requests count
//!   100m CPU and 200Mi memory).
//! - `NodeAffinity`: the summed weights of the matching preferred terms, scaled so the best node gets 100.
//! - `TaintToleration`: the number of untolerated `PreferNoSchedule` taints, scaled and reversed so a node
//!   with none gets 100.
//!
//! Unlike kube-scheduler, scores keep their fractions instead of being truncated to integers, so that nodes
//! a few percent apart in allocation are still told apart when packing.

use super::filter::Query;
use super::pod::{Requests, TaintEffect};
use super::snapshot::{NodeSlot, Symbols};

/// The highest score a plugin gives (kube-scheduler's `MaxNodeScore`).
pub(crate) const MAX_NODE_SCORE: f64 = 100.0;

/// How the resource score ranks nodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Strategy {
    /// Prefer the nodes that are fullest after placing the pod, so that pods pack onto as few nodes as
    /// possible (kube-scheduler's `MostAllocated`).
    #[default]
    MostAllocated,
    /// Prefer the emptiest nodes, spreading pods (kube-scheduler's default `LeastAllocated`).
    LeastAllocated,
}

/// `NodeResourcesFit`'s score of `node` for a pod with `requests`: per resource, the share of the node's
/// allocatable amount its pods and this one request (most-allocated) or leave free (least-allocated),
/// averaged with the weights. Resources the node does not offer are left out.
pub(crate) fn resource_score(
    strategy: Strategy,
    cpu_weight: u32,
    memory_weight: u32,
    node: &NodeSlot,
    requests: &Requests,
) -> f64 {
    let resources = [
        (
            node.allocatable.milli_cpu,
            node.non_zero_milli_cpu.saturating_add(requests.non_zero_milli_cpu),
            cpu_weight,
        ),
        (
            node.allocatable.memory,
            node.non_zero_memory.saturating_add(requests.non_zero_memory),
            memory_weight,
        ),
    ];
    let (mut total, mut weights) = (0.0, 0.0);
    for (allocatable, requested, weight) in resources {
        if allocatable <= 0 || weight == 0 {
            continue;
        }
        // Defaults for containers without requests can push the sum past the node's size.
        let used = requested.clamp(0, allocatable) as f64 / allocatable as f64;
        let share = match strategy {
            Strategy::MostAllocated => used,
            Strategy::LeastAllocated => 1.0 - used,
        };
        total += share * MAX_NODE_SCORE * f64::from(weight);
        weights += f64::from(weight);
    }
    if weights == 0.0 { 0.0 } else { total / weights }
}

/// `NodeResourcesBalancedAllocation`'s score of `node` for a pod with `requests`: 100 when CPU and memory would
/// be the same share of the node after placing the pod, less the further apart they are (100 × (1 − half the
/// difference of the shares)). It keeps nodes from filling up in one resource while the other stays idle.
pub(crate) fn balanced_score(node: &NodeSlot, requests: &Requests) -> f64 {
    let share = |allocatable: i64, requested: i64| {
        (allocatable > 0).then(|| requested.clamp(0, allocatable) as f64 / allocatable as f64)
    };
    let cpu =
        share(node.allocatable.milli_cpu, node.requested.milli_cpu.saturating_add(requests.fit.milli_cpu));
    let memory = share(node.allocatable.memory, node.requested.memory.saturating_add(requests.fit.memory));
    match (cpu, memory) {
        (Some(cpu), Some(memory)) => (1.0 - (cpu - memory).abs() / 2.0) * MAX_NODE_SCORE,
        _ => MAX_NODE_SCORE,
    }
}

/// `NodeAffinity`'s raw score: the summed weights of the preferred terms `node` matches.
pub(crate) fn node_affinity_raw(q: &Query, node: &NodeSlot, symbols: &Symbols) -> i64 {
    q.preferred.iter().filter(|(_, term)| term.matches(node, symbols)).map(|(weight, _)| weight).sum()
}

/// `TaintToleration`'s raw score: the `PreferNoSchedule` taints of `node` the pod does not tolerate.
pub(crate) fn taint_raw(q: &Query, node: &NodeSlot) -> i64 {
    node.taints
        .iter()
        .filter(|t| t.effect == TaintEffect::PreferNoSchedule)
        .filter(|t| !q.prefer_tolerations.iter().any(|tol| tol.tolerates(t)))
        .count() as i64
}

/// kube-scheduler's `DefaultNormalizeScore`: scales `raw` so that `max` becomes 100, reversed for plugins where
/// less is better. When every raw score is zero, all nodes get 0, or 100 when reversed.
pub(crate) fn normalize(raw: i64, max: i64, reverse: bool) -> f64 {
    if max <= 0 {
        return if reverse { MAX_NODE_SCORE } else { 0.0 };
    }
    let score = MAX_NODE_SCORE * raw as f64 / max as f64;
    if reverse { MAX_NODE_SCORE - score } else { score }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::pod::PodInfo;
    use crate::placement::snapshot::Snapshot;
    use crate::placement::testing::{bound, node, pod, ready_node};
    use serde_json::{Value, json};

    fn requests(cpu: &str, memory: &str) -> Requests {
        let mut resources = serde_json::Map::new();
        if !cpu.is_empty() {
            resources.insert("cpu".into(), json!(cpu));
        }
        if !memory.is_empty() {
            resources.insert("memory".into(), json!(memory));
        }
        let p = pod(json!({"metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "resources": {"requests": resources}}]}}));
        PodInfo::from_pod(&p).requests().clone()
    }

    fn scored_node(cpu: &str, memory: &str, used_cpu: &str, used_memory: &str) -> Snapshot {
        let mut snapshot = Snapshot::new();
        snapshot.upsert_node(&node(ready_node("n", cpu, memory, json!({}), json!({}))));
        if !used_cpu.is_empty() {
            snapshot.upsert_pod(&bound("used", "n", used_cpu, used_memory));
        }
        snapshot
    }

    #[test]
    fn resource_scores() {
        use Strategy::{LeastAllocated, MostAllocated};
        // (strategy, cpu weight, memory weight, node cpu, memory, used cpu, memory, pod cpu, memory, score)
        let cases = [
            (MostAllocated, 1, 1, "4", "8Gi", "", "", "1", "2Gi", 25.0),
            (MostAllocated, 1, 1, "4", "8Gi", "1", "2Gi", "1", "2Gi", 50.0),
            (MostAllocated, 1, 1, "4", "8Gi", "2", "0", "1", "4Gi", 62.5),
            (MostAllocated, 3, 1, "4", "8Gi", "2", "0", "1", "4Gi", 68.75),
            (MostAllocated, 1, 0, "4", "8Gi", "2", "0", "1", "4Gi", 75.0),
            (MostAllocated, 1, 1, "4", "8Gi", "4", "8Gi", "", "", 100.0),
            (MostAllocated, 1, 1, "1", "1Gi", "", "", "", "", 100.0 * (0.1 + 200.0 / 1024.0) / 2.0),
            (LeastAllocated, 1, 1, "4", "8Gi", "", "", "1", "2Gi", 75.0),
            (LeastAllocated, 1, 1, "4", "8Gi", "1", "2Gi", "1", "6Gi", 25.0),
            (LeastAllocated, 1, 1, "4", "8Gi", "4", "8Gi", "", "", 0.0),
            (MostAllocated, 1, 1, "0", "8Gi", "", "", "1", "2Gi", 25.0),
            (MostAllocated, 1, 1, "0", "0", "", "", "1", "2Gi", 0.0),
        ];
        for (strategy, cw, mw, cpu, memory, ucpu, umem, pcpu, pmem, expected) in cases {
            let snapshot = scored_node(cpu, memory, ucpu, umem);
            let score = resource_score(strategy, cw, mw, &snapshot.nodes[0], &requests(pcpu, pmem));
            assert!(
                (score - expected).abs() < 1e-9,
                "{strategy:?} {cw}:{mw} {cpu}/{memory} used {ucpu}/{umem} + {pcpu}/{pmem}: {score} != {expected}"
            );
        }
    }

    #[test]
    fn balanced_scores() {
        // (node cpu, memory, used cpu, memory, pod cpu, memory, score)
        let cases = [
            ("4", "8Gi", "", "", "1", "2Gi", 100.0),
            ("4", "8Gi", "", "", "2", "0", 75.0),
            ("4", "8Gi", "2", "0", "0", "8Gi", 75.0),
            ("4", "8Gi", "4", "0", "", "", 50.0),
            ("4", "8Gi", "1", "6Gi", "1", "0", 87.5),
            ("0", "8Gi", "", "", "1", "2Gi", 100.0),
        ];
        for (cpu, memory, ucpu, umem, pcpu, pmem, expected) in cases {
            let snapshot = scored_node(cpu, memory, ucpu, umem);
            let score = balanced_score(&snapshot.nodes[0], &requests(pcpu, pmem));
            assert!(
                (score - expected).abs() < 1e-9,
                "{cpu}/{memory} used {ucpu}/{umem} + {pcpu}/{pmem}: {score}"
            );
        }
    }

    fn query_scores(node_json: Value, pod_spec: Value) -> (i64, i64) {
        let mut snapshot = Snapshot::new();
        snapshot.upsert_node(&node(node_json));
        let mut spec = pod_spec;
        spec["containers"] = json!([]);
        let info = PodInfo::from_pod(&pod(json!({"metadata": {"name": "p"}, "spec": spec})));
        let q = Query::new(&snapshot, &info);
        let slot = &snapshot.nodes[0];
        (node_affinity_raw(&q, slot, &snapshot.symbols), taint_raw(&q, slot))
    }

    #[test]
    fn preferred_node_affinity_sums_matching_weights() {
        let n = ready_node("n", "1", "1Gi", json!({"zone": "a", "disk": "ssd"}), json!({}));
        let preferred = |terms: Value| json!({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": terms}}});
        let pref = |weight: i32, key: &str, values: Value| json!({"weight": weight, "preference": {"matchExpressions": [{"key": key, "operator": "In", "values": values}]}});
        let cases = [
            (json!({}), 0),
            (preferred(json!([pref(10, "zone", json!(["a"]))])), 10),
            (
                preferred(json!([
                    pref(10, "zone", json!(["a"])),
                    pref(5, "disk", json!(["ssd"])),
                    pref(7, "disk", json!(["hdd"]))
                ])),
                15,
            ),
            (preferred(json!([pref(0, "zone", json!(["a"]))])), 0),
            (preferred(json!([{"weight": 9, "preference": {}}])), 0),
        ];
        for (spec, expected) in cases {
            assert_eq!(query_scores(n.clone(), spec.clone()).0, expected, "{spec}");
        }
    }

    #[test]
    fn prefer_no_schedule_taints_count_unless_tolerated() {
        let n = ready_node(
            "n",
            "1",
            "1Gi",
            json!({}),
            json!({"taints": [
            {"key": "a", "effect": "PreferNoSchedule"}, {"key": "b", "value": "x", "effect": "PreferNoSchedule"},
            {"key": "c", "effect": "NoSchedule"}]}),
        );
        let cases = [
            (json!({}), 2),
            (json!({"tolerations": [{"key": "a", "operator": "Exists"}]}), 1),
            (json!({"tolerations": [{"key": "a", "operator": "Exists", "effect": "NoSchedule"}]}), 2),
            (json!({"tolerations": [{"key": "b", "value": "x", "effect": "PreferNoSchedule"}]}), 1),
            (json!({"tolerations": [{"operator": "Exists"}]}), 0),
        ];
        for (spec, expected) in cases {
            assert_eq!(query_scores(n.clone(), spec.clone()).1, expected, "{spec}");
        }
    }

    #[test]
    fn normalization() {
        let cases = [
            (0, 0, false, 0.0),
            (0, 0, true, 100.0),
            (5, 10, false, 50.0),
            (10, 10, false, 100.0),
            (5, 10, true, 50.0),
            (0, 4, true, 100.0),
            (4, 4, true, 0.0),
            (1, 3, false, 100.0 / 3.0),
        ];
        for (raw, max, reverse, expected) in cases {
            let score = normalize(raw, max, reverse);
            assert!((score - expected).abs() < 1e-9, "{raw}/{max} reverse {reverse}: {score}");
        }
    }
}
