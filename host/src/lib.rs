//! Wharf's node agent, the kubelet of Wharf: a kube-rs client of the API server that runs every Pod bound to its
//! node as a sandboxed WebAssembly program in wasmtime, and reports the truth through the Pod's status, Events and
//! logs.
//!
//! Layout:
//! - [`agent`]: the watch on the node's pods and the reconcile loop; [`node`]: Node, Lease, Ready.
//! - [`pod`]: one pod's life, pure decisions in `state`, the task that applies them in `task`.
//! - [`runtime`]: the wasmtime engine, epoch ticker, compiled-code cache, and running a guest.
//! - [`sandbox`], [`env`], [`volumes`], [`limits`]: what a guest is granted, and how much; [`sources`]: the
//!   watched ConfigMaps and Secrets they read.
//! - [`image`]: fetching wasm; [`logs`]: rotating log files; [`stats`]: CPU and memory use.
//! - [`once`]: per-key gates, so that replicas starting together share one image read and one compilation.
//! - [`endpoint`]: the node's HTTP endpoint (logs, usage summary), where the kubelet's would be.

pub mod agent;
pub mod config;
pub mod endpoint;
pub mod env;
pub mod image;
pub mod limits;
pub mod logs;
pub mod node;
pub mod once;
pub mod pod;
pub mod runtime;
pub mod sandbox;
pub mod services;
pub mod sources;
pub mod stats;
pub mod trust;
pub mod volumes;

pub use agent::Agent;
pub use config::{NodeConfig, NodeTls};
/// The IPv4 range type of [`NodeConfig::pod_cidr`].
pub use ipnet::Ipv4Net;
