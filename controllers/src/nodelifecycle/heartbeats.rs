//! When each node was last seen alive: the moment this controller saw its Lease's `renewTime` change, not the
//! time written in it, so a node's clock does not matter (as Kubernetes' node lifecycle controller does it).
//! A node is given a full grace period from when it is first seen, including after a controller restart.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::jiff::Timestamp;

/// The observations so far.
#[derive(Debug, Default)]
pub struct Heartbeats {
    /// Per node: the last `renewTime` seen (as written) and when it was seen.
    seen: HashMap<String, (Option<String>, Timestamp)>,
}

impl Heartbeats {
    /// Takes in the current nodes and leases at `now`; returns when each node was last seen alive.
    pub fn observe(
        &mut self,
        nodes: &[Arc<Node>],
        leases: &[Arc<Lease>],
        now: Timestamp,
    ) -> BTreeMap<String, Timestamp> {
        let renewals: HashMap<&str, Option<String>> = leases
            .iter()
            .filter_map(|l| {
                let renew = l.spec.as_ref().and_then(|s| s.renew_time.as_ref()).map(|t| t.0.to_string());
                Some((l.metadata.name.as_deref()?, renew))
            })
            .collect();
        let mut out = BTreeMap::new();
        for node in nodes {
            let Some(name) = node.metadata.name.as_deref() else { continue };
            let renew = renewals.get(name).cloned().flatten();
            let entry = self.seen.entry(name.to_owned()).or_insert_with(|| (renew.clone(), now));
            if entry.0 != renew {
                *entry = (renew, now);
            }
            out.insert(name.to_owned(), entry.1);
        }
        self.seen.retain(|name, _| out.contains_key(name));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str) -> Arc<Node> {
        Arc::new(serde_json::from_value(json!({"metadata": {"name": name}})).unwrap())
    }

    fn lease(name: &str, renew: &str) -> Arc<Lease> {
        Arc::new(
            serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"renewTime": renew}}))
                .unwrap(),
        )
    }

    #[test]
    fn a_node_is_alive_when_its_renew_time_changes() {
        let t = |s: u32| format!("2026-01-01T00:00:{s:02}Z").parse::<Timestamp>().unwrap();
        let mut beats = Heartbeats::default();
        let nodes = [node("a"), node("b")];
        // First sight: both get the full grace period, with or without a lease.
        let seen = beats.observe(&nodes, &[lease("a", "2020-01-01T00:00:00.000000Z")], t(0));
        assert_eq!(seen, BTreeMap::from([("a".into(), t(0)), ("b".into(), t(0))]));
        // Unchanged renewals keep the old time; a renewal (or a first lease) moves it.
        let leases = [lease("a", "2020-01-01T00:00:00.000000Z"), lease("b", "2020-01-01T00:00:05.000000Z")];
        let seen = beats.observe(&nodes, &leases, t(5));
        assert_eq!(seen, BTreeMap::from([("a".into(), t(0)), ("b".into(), t(5))]));
        let leases = [lease("a", "2020-01-01T00:00:09.000000Z"), lease("b", "2020-01-01T00:00:05.000000Z")];
        let seen = beats.observe(&nodes, &leases, t(9));
        assert_eq!(seen, BTreeMap::from([("a".into(), t(9)), ("b".into(), t(5))]));
        // A deleted node is forgotten.
        let seen = beats.observe(&nodes[..1], &leases, t(10));
        assert_eq!(seen.len(), 1);
        assert_eq!(beats.seen.len(), 1);
    }
}
