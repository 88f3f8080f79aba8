//! How a node agent is set up.

use std::net::{Ipv4Addr, SocketAddr};
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
    /// First address of the node's pod range; pods get the next free addresses.
    pub pod_range: Ipv4Addr,
    /// How often each running pod's emptyDir usage is measured against its `sizeLimit`.
    pub eviction_interval: Duration,
}

impl NodeConfig {
    /// Defaults for a node called `node_name` keeping its files in `data_dir`.
    pub fn new(node_name: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        let node_name = node_name.into();
        // A per-node /16 picked from the name, so that agents joined to one server hand out distinct addresses.
        let hash = node_name.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
        let data_dir = data_dir.into();
        Self {
            images_dir: data_dir.join("images"),
            image_ca_files: Vec::new(),
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
            pod_range: Ipv4Addr::new(10, 64 + (hash % 128) as u8, 0, 0),
            eviction_interval: Duration::from_secs(5),
            node_name,
        }
    }
}
