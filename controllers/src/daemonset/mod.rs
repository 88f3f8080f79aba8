//! The DaemonSet controller: one pod on every eligible node, including nodes that join later; pods leave
//! nodes that stop being eligible or disappear; a changed template rolls out `maxUnavailable` nodes at a time
//! (`RollingUpdate`) or as pods are deleted (`OnDelete`).
//!
//! - [`plan`]: the pure decision (eligible nodes, pods to create and delete, the rolling step, status);
//! - [`pod`]: the pod made from the template for one node;
//! - [`controller`]: the loop that applies the plan.

pub mod controller;
pub mod plan;
pub mod pod;
