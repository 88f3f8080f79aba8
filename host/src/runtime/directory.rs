//! What a pod's guests see of the cluster's network: where a connection to a Service (by name or cluster IP) or
//! to another node's pod goes, and what a name lookup of a Service answers. The node's Service caches implement
//! it for one namespace; the runtime consults it for every outgoing `wasi:http` request, `wasi:sockets` TCP
//! connect and `wasi:sockets/ip-name-lookup` query.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The answer to a name lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The name is a Service's: its cluster IP, or a ready endpoint of a headless one.
    Address(IpAddr),
    /// The name is an `ExternalName` Service's: look this name up instead (a CNAME).
    Alias(String),
    /// The name is a Service's that has no address to give (headless without a ready endpoint).
    Unresolvable,
}

/// A pod's view of the cluster's network.
pub trait ServiceDirectory: Send + Sync {
    /// The pod's own address: where a guest binding the unspecified address listens.
    fn pod_ip(&self) -> Option<IpAddr>;

    /// Where a connection to `host:port` goes: `None` when it names nothing in the cluster (connect as asked),
    /// `Some(Err(why))` when it names a Service without a ready endpoint, else the address to connect to.
    fn route(&self, host: &str, port: u16) -> Option<Result<SocketAddr, String>>;

    /// What a lookup of `name` answers: `None` when it is no Service's name (ask the resolver).
    fn lookup(&self, name: &str) -> Option<Lookup>;
}

/// A pod's directory, shared by all its instances.
pub type Directory = Arc<dyn ServiceDirectory>;
