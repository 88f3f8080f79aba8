//! What a pod's guests see of the cluster's network: where a connection to a Service (by name or cluster IP) or
//! to a pod goes, what a name lookup of a Service answers, and what the NetworkPolicies allow. The node's Service
//! caches implement it for one pod; the pod's [`PodNetwork`](super::PodNetwork) consults it for every outgoing
//! `wasi:http` request, `wasi:sockets` connect, datagram and name lookup.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};

use super::network::Refusal;

/// A byte stream to a destination.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A connection being opened.
pub type Opening = Pin<Box<dyn Future<Output = io::Result<Box<dyn Io>>> + Send>>;

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

/// Where a connection goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Inside the cluster, allowed by the NetworkPolicies: connect to this address (the endpoint itself, or the
    /// agent's relay to another node's pod).
    Inside(SocketAddr),
    /// Outside the cluster: the pod's allow-list decides, then the policies ([`ServiceDirectory::permit`]).
    Outside,
}

/// A transport protocol, as NetworkPolicy ports name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// TCP connections.
    Tcp,
    /// UDP datagrams.
    Udp,
}

impl Protocol {
    /// Its name in a NetworkPolicy.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "TCP",
            Self::Udp => "UDP",
        }
    }
}

/// A pod's view of the cluster's network.
pub trait ServiceDirectory: Send + Sync {
    /// The pod's own address: where a guest binding the unspecified address listens.
    fn pod_ip(&self) -> Option<IpAddr>;

    /// Where a TCP connection to `host:port` goes; `Err(why)` when it names a Service without a ready endpoint or
    /// the policies refuse it.
    fn route(&self, host: &str, port: u16) -> Result<Route, String>;

    /// Whether the policies allow the pod to send datagrams to `destination`, a pod's address; a refusal says why.
    fn permit(&self, destination: SocketAddr, protocol: Protocol) -> Result<(), String>;

    /// Whether the pod may reach `destination` outside the cluster (its allow-list aside), and where a guest's
    /// socket connects for it: the destination itself, or the relay that leaves from the namespace's egress
    /// address. The policies and the namespace's egress rules decide.
    fn outside(&self, destination: SocketAddr, protocol: Protocol) -> Result<SocketAddr, Refusal>;

    /// Opens a TCP connection to `destination` outside the cluster, after [`Self::outside`] allowed it: from the
    /// namespace's egress address when it has one.
    fn open_outside(&self, destination: SocketAddr) -> Opening;

    /// Whether `ip` is in the cluster: a pod's or a Service's address.
    fn is_inside(&self, ip: IpAddr) -> bool;

    /// What a lookup of `name` answers: `None` when it is no Service's name (ask the resolver).
    fn lookup(&self, name: &str) -> Option<Lookup>;
}

/// A pod's directory, shared by all its instances.
pub type Directory = Arc<dyn ServiceDirectory>;
