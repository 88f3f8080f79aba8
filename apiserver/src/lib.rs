//! The Wharf API server: the Kubernetes API over a durable redb store.
//!
//! Layout, from the wire inwards:
//! - [`http`]: axum routes, content negotiation, watch streams, discovery and OpenAPI documents.
//! - [`registry`]: what each verb means for each kind (metadata, admission, subresources, deletion).
//! - [`protobuf`]: Kubernetes protobuf request bodies, decoded into the JSON the rest of the server takes.
//! - [`patch`]: JSON patch, merge patch, strategic merge patch and server-side apply.
//! - [`printers`]: the Table columns and cells `kubectl get` prints, computed on the server.
//! - [`store`]: redb persistence with group commit, the in-memory object cache and the watch history.
//! - [`auth`]: authentication, authorisation (Node, RBAC), reviews, fair sharing: the request pipeline's security.
//! - [`tls`]: HTTPS serving and the cluster's certificates in `DATA_DIR/pki`.
//! - [`server`]: start-up, the namespace finalizer task and the kubeconfig.

pub mod auth;
pub mod error;
pub mod http;
mod namespace;
pub mod patch;
pub mod printers;
pub mod protobuf;
pub mod registry;
pub mod server;
pub mod store;
pub mod tls;

pub use error::ApiError;
pub use http::audit::AuditConfig;
pub use registry::ServiceNetwork;
pub use server::{AuthenticationOptions, Server, ServerConfig, StartError};
