//! The EndpointSlice controller: keeps the `discovery.k8s.io/v1` slices of every Service with a selector listing
//! the pods it selects, with their Ready, Serving and Terminating conditions. Slices of Services without a
//! selector are written by their users and left alone.

pub mod controller;
pub mod plan;
