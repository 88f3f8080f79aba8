//! The Deployment controller: rolls templates out through ReplicaSets.
//!
//! - [`plan`]: the pure rollout step and status;
//! - [`revision`]: revision annotations for history and undo;
//! - [`controller`]: the loop that applies the plan.

pub mod controller;
pub mod plan;
pub mod revision;
