//! The ReplicaSet controller: keeps `spec.replicas` pods matching the selector.
//!
//! - [`plan`]: the pure decision (adopt, release, create, delete, status);
//! - [`controller`]: the loop that applies it.

pub mod controller;
pub mod plan;
