//! Integration tests: each starts real servers on 127.0.0.1:0 and drives them with real clients.

// A failed unwrap is a failed test, with its location; that is what tests want.
#![allow(clippy::unwrap_used, clippy::default_trait_access)]

mod addressing;
mod audit;
mod bad_input;
mod controllers;
mod controllers_daemonsets;
mod controllers_jobs;
mod controllers_nodes;
mod controllers_rollout;
mod crud;
mod encryption;
mod endpointslices;
mod examples;
mod kubectl;
mod logs;
mod metrics;
mod namespaces;
mod node;
mod protobuf;
mod scheduling;
mod security;
mod services;
mod verbs;
mod watch;
