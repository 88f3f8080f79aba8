//! How a node agent is set up.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use ipnet::Ipv4Net;
use std::path::PathBuf;
use std::time::Duration;

use crate::logs::LogLimits;
use crate::pod::state::Backoff;

/// Settings of one node agent.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The Node's name.
    pub node_name: String,
    /// Where pods' directories, logs and compiled code live.
    pub data_dir: PathBuf,
    /// Where images named by a relative name (`hello.wasm`) are looked up (default: `<data_dir>/images`).
    pub images_dir: PathBuf,
    /// PEM files of CA certificates trusted for https:// images besides Mozilla's roots, for self-hosted
    /// registries.
    pub image_ca_files: Vec<PathBuf>,
    /// Which modules may run: the trusted keys, and whether trust is required (see [`crate::trust`]).
    pub trust: crate::trust::Trust,
    /// The node's certificates: with them its endpoint serves HTTPS to cluster peers only, and it opens tunnels
    /// to other nodes with TLS; without, both are plain HTTP.
    pub tls: Option<NodeTls>,
    /// CPU capacity in millicores (default: the machine's cores).
    pub cpu_millis: Option<u64>,
    /// Memory capacity in bytes (default: the machine's memory).
    pub memory_bytes: Option<u64>,
    /// Memory kept for the agent itself, subtracted from capacity to give allocatable.
    pub memory_reserve: u64,
    /// How many pods the node takes.
    pub max_pods: u32,
    /// Directories under which `hostPath` volumes are allowed.
    pub host_path_roots: Vec<PathBuf>,
    /// Crash-loop backoff.
    pub backoff: Backoff,
    /// Log file bounds.
    pub log_limits: LogLimits,
    /// Where the node endpoint (logs, usage summary) listens (port 0: any free port).
    pub log_listen: SocketAddr,
    /// How often the Lease is renewed and the Ready condition refreshed.
    pub heartbeat: Duration,
    /// The node's address: its Node's InternalIP, where the API server reaches its endpoint, and the pods'
    /// `hostIP`.
    pub node_ip: IpAddr,
    /// Where node ports and load balancers listen (kube-proxy's `--nodeport-addresses`); `None`: the node's
    /// address.
    pub node_port_address: Option<IpAddr>,
    /// The node's pod range, registered as its `spec.podCIDR` (the kubelet's `--pod-cidr`). `None`: the
    /// control plane assigns one (node IPAM), and pods wait for it.
    pub pod_cidr: Option<Ipv4Net>,
    /// How often each running pod's emptyDir usage is measured against its `sizeLimit`.
    pub eviction_interval: Duration,
}

impl NodeConfig {
    /// Defaults for a node called `node_name` keeping its files in `data_dir`.
    pub fn new(node_name: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        let node_name = node_name.into();
        let data_dir = data_dir.into();
        Self {
            images_dir: data_dir.join("images"),
            image_ca_files: Vec::new(),
            trust: crate::trust::Trust::default(),
            tls: None,
            data_dir,
            cpu_millis: None,
            memory_bytes: None,
            memory_reserve: 256 << 20,
            max_pods: 110,
            host_path_roots: Vec::new(),
            backoff: Backoff::default(),
            log_limits: LogLimits::default(),
            log_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            heartbeat: Duration::from_secs(10),
            node_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            node_port_address: None,
            pod_cidr: None,
            eviction_interval: Duration::from_secs(5),
            node_name,
        }
    }
}

/// A node's TLS material, all PEM.
#[derive(Clone, Debug)]
pub struct NodeTls {
    /// The cluster CA: what peers' certificates must be signed by.
    pub ca_pem: String,
    /// The endpoint's serving certificate (its SANs cover the node's address) and key.
    pub serving: (String, String),
    /// The node's client certificate (`system:node:<name>` in `system:nodes`) and key, for tunnels to other nodes.
    pub client: (String, String),
}
