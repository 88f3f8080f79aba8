//! Node IPAM, as kube-controller-manager's range allocator (`--allocate-node-cidrs`): every Node gets a
//! `spec.podCIDR` of its own, carved from the cluster CIDR, from which its agent gives pods their addresses.

pub mod controller;
pub mod plan;
