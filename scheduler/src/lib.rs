//! Wharf's scheduler: places pods that have no node, packing them tightly so that a small cluster runs as much
//! as it can hold, and explaining in kube-scheduler's words why a pod fits nowhere.
//!
//! [`placement`] is the pure core: from a [`PodInfo`] and a [`Snapshot`] of the nodes, [`Scheduler::decide`]
//! returns a node to bind to, a [`Preemption`], or an [`Unschedulable`] explanation. It does no IO.
//!
//! [`service`] is the loop that drives it: a kube-rs client that watches the API server, keeps the snapshot
//! current, binds pods and records events. [`Service::start`] runs it.
//!
//! ```
//! use scheduler::{Decision, PodInfo, Scheduler, Snapshot};
//!
//! let node = serde_json::from_value(serde_json::json!({
//!     "metadata": {"name": "edge-1"},
//!     "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
//!                "conditions": [{"type": "Ready", "status": "True"}]},
//! }))?;
//! let pod = serde_json::from_value(serde_json::json!({
//!     "metadata": {"name": "web", "namespace": "default", "uid": "u1"},
//!     "spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "3"}}}]},
//! }))?;
//! let mut snapshot = Snapshot::new();
//! snapshot.upsert_node(&node);
//! let pod = PodInfo::from_pod(&pod);
//!
//! match Scheduler::default().decide(&snapshot, &pod) {
//!     Decision::Bind(node) => snapshot.assume(&pod, &node)?,
//!     Decision::Preempt { preemption, .. } => println!("evict {:?} on {}", preemption.victims, preemption.node),
//!     Decision::Unschedulable(why) => assert_eq!(
//!         why.to_string(),
//!         "0/1 nodes are available: 1 Insufficient cpu. \
//!          preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
//!     ),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod placement;
pub mod service;

pub use placement::{
    Config, Decision, NodeFailure, NodeUsage, PodInfo, Preemption, QueueKey, Requests, Resources, Scheduler,
    Snapshot, Strategy, TaintEffect, UnknownNode, Unschedulable, Victim, wants_scheduling,
};
pub use service::{Backoff, DEFAULT_SCHEDULER_NAME, Options, Service};
