//! The built-in load balancer's status, as k3s' ServiceLB reports it: every LoadBalancer Service without a
//! `loadBalancerClass` is served by the node agents on its own port at each node's address, so its
//! `status.loadBalancer.ingress` lists the InternalIPs of the Ready nodes.

pub mod controller;
pub mod plan;
