//! Egress addresses per namespace, as OpenShift's EgressIP: a namespace annotated
//! [`EGRESS_IP_ANNOTATION`] sends every connection of its pods to destinations outside the cluster from that one
//! address, whichever node the pod runs on, so that a firewall in front of a protected service can let in exactly
//! the namespaces it trusts.
//!
//! The address is held by one node: of the Ready nodes labelled [`EGRESS_ASSIGNABLE_LABEL`], the one that ranks
//! first for that address (rendezvous hashing of address and node name). Every agent computes the same holder
//! from its Node cache, with no election and no writes; when the holder is lost (its Ready condition leaves
//! `True`, which the node lifecycle controller decides) the next-ranked node takes over, and only the addresses
//! the lost node held move. Connections from a pod on another node reach the holder through its agent's tunnel
//! (`GET /egress/{address}/{ip}/{port}`), which binds the address and connects.
//!
//! The ConfigMap `kube-system/wharf-egress` may name protected networks (key [`PROTECTED_KEY`], CIDRs separated
//! by commas or whitespace): destinations there are reachable only from namespaces with an egress address.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node};
use kube::runtime::reflector::Store;
use sha2::{Digest, Sha256};

/// The namespace annotation that assigns its egress address.
pub const EGRESS_IP_ANNOTATION: &str = "wharf.dev/egress-ip";
/// The node label that makes a node eligible to hold egress addresses.
pub const EGRESS_ASSIGNABLE_LABEL: &str = "wharf.dev/egress-assignable";
pub use api::egress::EGRESS_CONFIG;
/// Its key listing the protected networks.
pub const PROTECTED_KEY: &str = "protected-cidrs";

/// The namespaces' egress addresses and the protected networks, from watched Namespaces and the egress
/// ConfigMap (the holders come from the Nodes, see [`holder`]). Cheap to clone.
#[derive(Clone)]
pub struct EgressAddresses {
    pub(super) namespaces: Store<Namespace>,
    pub(super) config: Store<ConfigMap>,
}

impl EgressAddresses {
    /// The egress address of `namespace`: `Ok(None)` without one, `Err` when its annotation is not an address
    /// (its pods then reach nothing outside the cluster, rather than leaving from the node's address).
    pub fn address_of(&self, namespace: &str) -> Result<Option<IpAddr>, String> {
        let found = self.namespaces.find(|n| n.metadata.name.as_deref() == Some(namespace));
        let annotation =
            found.as_ref().and_then(|n| n.metadata.annotations.as_ref()?.get(EGRESS_IP_ANNOTATION));
        match annotation {
            None => Ok(None),
            Some(text) => text.trim().parse().map(Some).map_err(|_| {
                format!(
                    "namespace {namespace} has an unusable egress address: {EGRESS_IP_ANNOTATION}: {text:?}"
                )
            }),
        }
    }

    /// The labels of the namespace `name`, when the cache holds it.
    pub fn namespace_labels(&self, name: &str) -> Option<BTreeMap<String, String>> {
        let found = self.namespaces.find(|n| n.metadata.name.as_deref() == Some(name))?;
        Some(found.metadata.labels.clone().unwrap_or_default())
    }

    /// Whether some namespace has `address` as its egress address.
    pub fn is_assigned(&self, address: IpAddr) -> bool {
        let text = address.to_string();
        self.namespaces
            .find(|n| {
                n.metadata.annotations.as_ref().and_then(|a| a.get(EGRESS_IP_ANNOTATION)).map(|v| v.trim())
                    == Some(text.as_str())
            })
            .is_some()
    }

    /// The protected network that holds `ip`, if any.
    pub fn protected(&self, ip: IpAddr) -> Option<IpNet> {
        let config = self.config.find(|c| c.metadata.name.as_deref() == Some(EGRESS_CONFIG.1))?;
        protected_networks(config.data.as_ref()).into_iter().find(|net| net.contains(&ip))
    }
}

/// The networks a ConfigMap's data protects; entries that are no CIDR or address are skipped.
fn protected_networks(data: Option<&BTreeMap<String, String>>) -> Vec<IpNet> {
    let Some(text) = data.and_then(|d| d.get(PROTECTED_KEY)) else { return Vec::new() };
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|entry| !entry.is_empty())
        .filter_map(|entry| {
            entry.parse::<IpNet>().ok().or_else(|| entry.parse::<IpAddr>().ok().map(IpNet::from))
        })
        .collect()
}

/// The node that holds `address` among `nodes`: the first-ranked Ready node labelled egress-assignable.
pub fn holder(nodes: &[Arc<Node>], address: IpAddr) -> Option<Arc<Node>> {
    nodes
        .iter()
        .filter(|n| eligible(n))
        .max_by_key(|n| rank(address, n.metadata.name.as_deref().unwrap_or_default()))
        .cloned()
}

fn eligible(node: &Node) -> bool {
    let labelled = node.metadata.labels.as_ref().is_some_and(|l| l.contains_key(EGRESS_ASSIGNABLE_LABEL));
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True");
    labelled && ready && !node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false)
}

/// The rank of `node` for `address`: the first eight bytes of SHA-256 over both, so every agent agrees.
fn rank(address: IpAddr, node: &str) -> u64 {
    let digest =
        Sha256::new().chain_update(address.to_string()).chain_update("/").chain_update(node).finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn node(name: &str, assignable: bool, ready: &str) -> Arc<Node> {
        let labels = if assignable { json!({EGRESS_ASSIGNABLE_LABEL: ""}) } else { json!({}) };
        Arc::new(
            serde_json::from_value(json!({"metadata": {"name": name, "labels": labels},
                "status": {"conditions": [{"type": "Ready", "status": ready}]}}))
            .unwrap(),
        )
    }

    fn name(node: Option<Arc<Node>>) -> Option<String> {
        node.and_then(|n| n.metadata.name.clone())
    }

    #[test]
    fn an_address_moves_only_when_its_holder_is_lost() {
        let address: IpAddr = "192.0.2.50".parse().unwrap();
        let nodes: Vec<Arc<Node>> = ["a", "b", "c", "d"].iter().map(|n| node(n, true, "True")).collect();
        let first = name(holder(&nodes, address)).unwrap();
        let mut reordered = nodes.clone();
        reordered.reverse();
        assert_eq!(name(holder(&reordered, address)), Some(first.clone()), "every agent agrees");
        // Losing another node leaves the address where it is; losing its holder moves it.
        let other = nodes.iter().find(|n| n.metadata.name.as_deref() != Some(first.as_str())).unwrap();
        let without_other: Vec<_> =
            nodes.iter().filter(|n| n.metadata.name != other.metadata.name).cloned().collect();
        assert_eq!(name(holder(&without_other, address)), Some(first.clone()));
        let lost: Vec<_> = nodes
            .iter()
            .map(|n| {
                if n.metadata.name.as_deref() == Some(first.as_str()) {
                    node(&first, true, "Unknown")
                } else {
                    n.clone()
                }
            })
            .collect();
        let next = name(holder(&lost, address)).unwrap();
        assert_ne!(next, first);
        // Addresses spread over the nodes.
        let holders: std::collections::BTreeSet<String> =
            (1..=40u8).filter_map(|i| name(holder(&nodes, IpAddr::from([192, 0, 2, i])))).collect();
        assert!(holders.len() > 1, "{holders:?}");
    }

    #[test]
    fn only_ready_labelled_nodes_hold_addresses() {
        let address: IpAddr = "192.0.2.50".parse().unwrap();
        assert_eq!(name(holder(&[node("a", false, "True"), node("b", true, "False")], address)), None);
        assert_eq!(
            name(holder(&[node("a", false, "True"), node("b", true, "True")], address)),
            Some("b".into())
        );
    }

    #[test]
    fn protected_networks_are_cidrs_or_addresses() {
        let data =
            BTreeMap::from([(PROTECTED_KEY.to_owned(), "10.50.0.0/16, 192.0.2.77\nnonsense".to_owned())]);
        let nets = protected_networks(Some(&data));
        assert_eq!(nets, ["10.50.0.0/16".parse::<IpNet>().unwrap(), "192.0.2.77/32".parse().unwrap()]);
    }
}
