//! What `k8s-openapi` lacks and every Wharf component needs.
//!
//! The object types themselves come from `k8s-openapi` (exact Kubernetes JSON). This crate adds the pure,
//! IO-free logic around them:
//! - [`quantity`]: parsing, comparing and adding resource quantities (`500m`, `1Gi`, `2e3`).
//! - [`selector`]: label selectors (equality and set-based, `matchLabels`/`matchExpressions`) and field selectors.
//! - [`validation`]: DNS-1123 names, label syntax, required fields and ranges, per kind, as Kubernetes reports them.
//! - [`defaults`]: the defaults the Kubernetes API server applies on write, and Secret `stringData` folding.
//! - [`egress`] and [`netpol`]: pods' egress allow-lists and NetworkPolicies, compiled for the node agent's checks.
//! - [`intstr`]: counts-or-percentages (`maxSurge: 25%`) resolved against a total.

pub mod defaults;
pub mod egress;
pub mod intstr;
pub mod netpol;
pub mod quantity;
pub mod selector;
pub mod validation;

/// The Node annotation with which an agent says its endpoint serves HTTPS with the cluster's certificates, so the
/// API server and other nodes connect to it with TLS and their own client certificates.
pub const ENDPOINT_TLS_ANNOTATION: &str = "wharf.dev/endpoint-tls";
