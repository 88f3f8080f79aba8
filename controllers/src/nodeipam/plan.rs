//! Which pod CIDR a node gets: the first subnet of the cluster CIDR that no node holds yet.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// How node pod CIDRs are carved (kube-controller-manager's `--cluster-cidr` and `--node-cidr-mask-size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The range every pod address of the cluster comes from.
    pub cluster_cidr: Ipv4Net,
    /// The prefix length of each node's share.
    pub node_mask: u8,
}

impl Default for Config {
    /// 127.64.0.0/10 in /18s: 256 nodes of up to 16,382 pods, every address usable on a Linux node's loopback
    /// without set-up (ARCHITECTURE.md, "Pod addresses").
    fn default() -> Self {
        Self { cluster_cidr: Ipv4Net::new_assert(Ipv4Addr::new(127, 64, 0, 0), 10), node_mask: 18 }
    }
}

/// Why a configuration cannot carve node ranges.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The node mask is not longer than the cluster CIDR's or leaves no room for pods.
    #[error(
        "--node-cidr-mask-size {node_mask} must be longer than the cluster CIDR's /{cluster} and at most 30"
    )]
    Mask {
        /// The node prefix length asked for.
        node_mask: u8,
        /// The cluster CIDR's prefix length.
        cluster: u8,
    },
}

impl Config {
    /// A configuration, checked.
    pub fn new(cluster_cidr: Ipv4Net, node_mask: u8) -> Result<Self, ConfigError> {
        let cluster = cluster_cidr.prefix_len();
        if node_mask <= cluster || node_mask > 30 {
            return Err(ConfigError::Mask { node_mask, cluster });
        }
        Ok(Self { cluster_cidr: cluster_cidr.trunc(), node_mask })
    }

    /// The first node range, the one `wctl up` gives its own node so that it never waits for an assignment.
    pub fn first(&self) -> Ipv4Net {
        self.next_free(&Taken::default()).unwrap_or(self.cluster_cidr)
    }

    /// The first node range that overlaps no taken one; `None` when the cluster CIDR is full.
    pub fn next_free(&self, taken: &Taken) -> Option<Ipv4Net> {
        self.cluster_cidr.subnets(self.node_mask).ok()?.find(|candidate| !taken.overlaps(*candidate))
    }
}

/// The ranges held by nodes (or being given to them).
#[derive(Debug, Default, Clone)]
pub struct Taken(BTreeSet<Ipv4Net>);

impl Taken {
    /// Marks a range held; text that is not an IPv4 CIDR is ignored (validation rejects it on write).
    pub fn insert(&mut self, cidr: &str) {
        if let Ok(net) = cidr.parse::<Ipv4Net>() {
            self.0.insert(net.trunc());
        }
    }

    /// Marks a range held.
    pub fn insert_net(&mut self, net: Ipv4Net) {
        self.0.insert(net);
    }

    fn overlaps(&self, candidate: Ipv4Net) -> bool {
        self.0.iter().any(|held| held.contains(&candidate) || candidate.contains(held))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn nodes_get_the_first_range_no_one_holds() {
        let config = Config::new(net("10.244.0.0/16"), 24).unwrap();
        let mut taken = Taken::default();
        assert_eq!(config.next_free(&taken), Some(net("10.244.0.0/24")));
        taken.insert("10.244.0.0/24");
        taken.insert("10.244.2.0/24");
        assert_eq!(config.next_free(&taken), Some(net("10.244.1.0/24")));
        taken.insert("10.244.1.0/24");
        assert_eq!(config.next_free(&taken), Some(net("10.244.3.0/24")));
    }

    #[test]
    fn ranges_set_by_hand_block_every_subnet_they_overlap() {
        let config = Config::new(net("10.244.0.0/16"), 24).unwrap();
        let mut taken = Taken::default();
        // A node registered with a larger range of its own (`wctl node --pod-cidr`).
        taken.insert("10.244.0.0/22");
        assert_eq!(config.next_free(&taken), Some(net("10.244.4.0/24")));
        // And one with a smaller one inside the next subnet.
        taken.insert("10.244.4.128/25");
        assert_eq!(config.next_free(&taken), Some(net("10.244.5.0/24")));
    }

    #[test]
    fn a_full_cluster_cidr_gives_nothing() {
        let config = Config::new(net("10.0.0.0/30"), 30).err();
        assert!(config.is_some(), "a node mask equal to the cluster's leaves one node: refused");
        let config = Config::new(net("10.0.0.0/29"), 30).unwrap();
        let mut taken = Taken::default();
        taken.insert("10.0.0.0/30");
        taken.insert("10.0.0.4/30");
        assert_eq!(config.next_free(&taken), None);
    }

    #[test]
    fn the_default_fits_the_loopback_range_and_many_pods_per_node() {
        let config = Config::default();
        assert_eq!(config.first(), net("127.64.0.0/18"));
        assert!(net("127.0.0.0/8").contains(&config.cluster_cidr));
        assert_eq!(config.first().hosts().count(), 16_382);
        assert_eq!(Config::new(net("10.1.2.3/16"), 24).unwrap().cluster_cidr, net("10.1.0.0/16"));
        assert!(Config::new(net("10.0.0.0/16"), 31).is_err());
    }
}
