//! The node lifecycle controller: nodes whose agent stops renewing its Lease become `Ready=Unknown` and get
//! the `node.kubernetes.io/unreachable` taints (`not-ready` when the node reports `Ready=False`); their pods
//! are evicted once their toleration runs out, so owners replace them on healthy nodes; a node that comes
//! back loses the taints.
//!
//! - [`heartbeats`]: when each node was last seen alive;
//! - [`plan`]: the pure decision (conditions, taints, evictions);
//! - [`controller`]: the periodic pass that applies it.

pub mod controller;
pub mod heartbeats;
pub mod plan;
