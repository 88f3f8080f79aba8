//! Opening a connection to an endpoint: straight to it when this node runs it (or no node is named), and
//! otherwise through the agent of the node that runs it, which is the one place a pod's address is sure to be
//! reachable from (pods' addresses are loopback addresses of their own machine).
//!
//! The tunnel is an HTTP/1.1 upgrade on the agent's endpoint, where the kubelet's port would be:
//! `GET /forward/{ip}/{port}` with `Upgrade: wharf-forward`. The agent connects to its pod first and answers
//! 101 Switching Protocols only once that worked (502 otherwise), then copies bytes both ways. The request names
//! the client's address (`Wharf-Source`), so that the destination's agent judges the connection by its
//! NetworkPolicies too. Connections from a
//! namespace's egress address leave from the node that holds it, through the same kind of tunnel:
//! `GET /egress/{address}/{ip}/{port}`.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use k8s_openapi::api::core::v1::Node;
use kube::runtime::reflector::Store;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;

use super::table::Backend;
use crate::stats::metrics::Metrics;

/// The protocol name of the tunnel's upgrade.
pub const UPGRADE: &str = "wharf-forward";

/// The tunnel request's header naming the address the connection comes from.
pub const SOURCE_HEADER: &str = "wharf-source";

/// How long opening a connection may take, tunnel included.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

pub use crate::runtime::Io;

/// Opens connections to endpoints, knowing which node runs what from the Nodes' `podCIDR`s and how to reach each
/// node's agent from their `InternalIP` and kubelet port.
pub struct Dialer {
    node_name: String,
    nodes: Store<Node>,
    metrics: Arc<Metrics>,
    /// TLS with the node's client certificate, for agents that serve it.
    tls: Option<TlsConnector>,
}

impl Dialer {
    /// A dialer for the agent of `node_name`, counting connections from egress addresses in `metrics`.
    pub fn new(
        node_name: String,
        nodes: Store<Node>,
        metrics: Arc<Metrics>,
        tls: Option<TlsConnector>,
    ) -> Self {
        Self { node_name, nodes, metrics, tls }
    }

    /// The nodes, as last seen.
    pub fn nodes(&self) -> Vec<Arc<Node>> {
        self.nodes.state()
    }

    /// Whether `node` is this agent's node (or unnamed).
    pub fn is_local(&self, node: Option<&str>) -> bool {
        node.is_none_or(|n| n == self.node_name)
    }

    /// Whether `ip` is in this node's pod range.
    pub fn owns(&self, ip: IpAddr) -> bool {
        self.nodes
            .find(|n| n.metadata.name.as_deref() == Some(self.node_name.as_str()))
            .is_some_and(|n| in_pod_cidr(&n, ip))
    }

    /// Whether `ip` is a pod's address: in a node's pod range, and not a node's own address (a node may take an
    /// address of its range, and what listens there, its agent's endpoint included, is no pod).
    pub fn in_pod_range(&self, ip: IpAddr) -> bool {
        let is_node = |node: &Node| {
            let addresses = node.status.as_ref().and_then(|s| s.addresses.as_ref());
            addresses.into_iter().flatten().any(|a| a.address.parse() == Ok(ip))
        };
        self.nodes.find(|n| in_pod_cidr(n, ip)).is_some() && self.nodes.find(is_node).is_none()
    }

    /// The node whose pod range holds `ip`, when it is another node.
    pub fn owner(&self, ip: IpAddr) -> Option<String> {
        let node = self.nodes.find(|n| in_pod_cidr(n, ip))?;
        node.metadata.name.clone().filter(|name| *name != self.node_name)
    }

    /// A connection to `backend` for a client at `source` (a pod's address, or a Service client's), which the
    /// agent of another node judges again by its policies.
    pub async fn open(&self, backend: &Backend, source: Option<IpAddr>) -> io::Result<Box<dyn Io>> {
        let opened = async {
            match self.via(backend) {
                None => {
                    let stream = TcpStream::connect(backend.addr).await?;
                    let _ = stream.set_nodelay(true);
                    Ok(Box::new(stream) as Box<dyn Io>)
                }
                Some(agent) => tunnel(agent, self.tls.as_ref(), &forward_path(backend.addr), source).await,
            }
        };
        within_timeout(opened).await
    }

    /// A connection to `destination` outside the cluster from the egress address `source`: bound to it here
    /// when this node holds it, else through the agent of the node that does.
    pub async fn open_egress(&self, source: IpAddr, destination: SocketAddr) -> io::Result<Box<dyn Io>> {
        let holder = super::egress::holder(&self.nodes.state(), source).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotConnected, format!("no node can hold egress address {source}"))
        })?;
        let opened = async {
            if holder.metadata.name.as_deref() == Some(self.node_name.as_str()) {
                return Ok(Box::new(self.leave_from(source, destination).await?) as Box<dyn Io>);
            }
            let agent = agent_endpoint(&holder).ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotConnected, "the egress node publishes no agent endpoint")
            })?;
            let path = format!("/egress/{source}/{}/{}", destination.ip(), destination.port());
            tunnel(agent, self.tls.as_ref(), &path, None).await
        };
        within_timeout(opened).await
    }

    /// A TCP connection to `destination` from `source`, an egress address this node holds, counted per address.
    pub async fn leave_from(&self, source: IpAddr, destination: SocketAddr) -> io::Result<TcpStream> {
        let socket = if source.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        socket.bind(SocketAddr::new(source, 0))?;
        let stream = socket.connect(destination).await?;
        let _ = stream.set_nodelay(true);
        self.metrics.count("wharf_egress_connections_total", vec![("address", source.to_string())]);
        Ok(stream)
    }

    /// Whether connections to `backend` go through another node's agent.
    pub fn tunnels(&self, backend: &Backend) -> bool {
        self.via(backend).is_some()
    }

    /// The agent endpoint to tunnel through, for a backend of another known node.
    fn via(&self, backend: &Backend) -> Option<Agent> {
        let node = backend.node.as_deref().filter(|n| !self.is_local(Some(n)))?;
        let node = self.nodes.find(|n| n.metadata.name.as_deref() == Some(node))?;
        agent_endpoint(&node)
    }
}

async fn within_timeout(opening: impl Future<Output = io::Result<Box<dyn Io>>>) -> io::Result<Box<dyn Io>> {
    tokio::time::timeout(CONNECT_TIMEOUT, opening)
        .await
        .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")))
}

fn forward_path(target: SocketAddr) -> String {
    format!("/forward/{}/{}", target.ip(), target.port())
}

fn in_pod_cidr(node: &Node, ip: IpAddr) -> bool {
    let spec = node.spec.as_ref();
    let ranges = spec.and_then(|s| s.pod_cidrs.clone()).unwrap_or_default();
    spec.and_then(|s| s.pod_cidr.as_ref())
        .into_iter()
        .chain(ranges.iter())
        .filter_map(|r| r.parse::<IpNet>().ok())
        .any(|r| r.contains(&ip))
}

/// Where a Node's agent listens (its InternalIP and kubelet port), and whether it serves TLS.
fn agent_endpoint(node: &Node) -> Option<Agent> {
    let status = node.status.as_ref()?;
    let ip = status.addresses.iter().flatten().find(|a| a.type_ == "InternalIP")?.address.parse().ok()?;
    let port = status.daemon_endpoints.as_ref()?.kubelet_endpoint.as_ref()?.port;
    let tls = node
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(api::ENDPOINT_TLS_ANNOTATION))
        .is_some_and(|v| v == "true");
    Some(Agent { addr: SocketAddr::new(ip, u16::try_from(port).ok()?), tls })
}

/// A node agent's endpoint.
#[derive(Clone, Copy, Debug)]
struct Agent {
    addr: SocketAddr,
    tls: bool,
}

/// Opens the tunnel at `path` (`/forward/...` or `/egress/...`) through the agent at `agent`, for a client at
/// `source`.
async fn tunnel(
    agent: Agent,
    tls: Option<&TlsConnector>,
    path: &str,
    source: Option<IpAddr>,
) -> io::Result<Box<dyn Io>> {
    let stream = TcpStream::connect(agent.addr).await?;
    let _ = stream.set_nodelay(true);
    if !agent.tls {
        return finish_tunnel(BufReader::new(stream), agent.addr, path, source).await;
    }
    let tls = tls.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("the node agent at {} serves TLS and this node has no certificate", agent.addr),
        )
    })?;
    let name = rustls::pki_types::ServerName::IpAddress(agent.addr.ip().into());
    let stream = tls.connect(name, stream).await?;
    finish_tunnel(BufReader::new(stream), agent.addr, path, source).await
}

/// Sends the tunnel's upgrade request and reads the answer's head.
async fn finish_tunnel<S>(
    mut stream: BufReader<S>,
    agent: SocketAddr,
    path: &str,
    source: Option<IpAddr>,
) -> io::Result<Box<dyn Io>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    BufReader<S>: Io,
{
    let source = source.map(|ip| format!("{SOURCE_HEADER}: {ip}\r\n")).unwrap_or_default();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {agent}\r\nConnection: Upgrade\r\nUpgrade: {UPGRADE}\r\n{source}\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut status = String::new();
    stream.read_line(&mut status).await?;
    // The rest of the head: headers up to the empty line. Bytes after it are the endpoint's and stay buffered.
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the node agent closed the tunnel"));
        }
        if line == "\r\n" || line == "\n" {
            break;
        }
    }
    if status.split_whitespace().nth(1) != Some("101") {
        return Err(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            format!("the node agent at {agent} refused the tunnel {path}: {}", status.trim()),
        ));
    }
    Ok(Box::new(stream))
}
