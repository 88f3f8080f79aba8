//! The Node object: registration with real capacity and the standard labels, the Lease heartbeat in
//! `kube-node-lease`, and the Ready condition.

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use ipnet::Ipv4Net;
use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSystemInfo,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::watcher;

use crate::config::NodeConfig;

/// Errors talking to the API about the node.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API refused or failed.
    #[error("node registration failed")]
    Api(#[from] kube::Error),
}

/// Capacity of this machine, with the configured overrides.
pub fn capacity(config: &NodeConfig) -> (u64, u64) {
    let cpu = config.cpu_millis.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get) as u64 * 1000
    });
    let memory = config.memory_bytes.unwrap_or_else(machine_memory);
    (cpu, memory)
}

/// Total memory of the machine (Linux: /proc/meminfo; elsewhere a conservative 4 GiB).
#[cfg(target_os = "linux")]
fn machine_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(4 << 30)
}

/// Total memory of the machine without /proc: asking the system needs unsafe calls, which the workspace forbids,
/// so a conservative 4 GiB.
#[cfg(not(target_os = "linux"))]
fn machine_memory() -> u64 {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        tracing::warn!(
            "the machine's memory is not known on this platform: the node offers 4 GiB (see --memory-bytes)"
        );
    });
    4 << 30
}

/// The Node as this agent describes it.
pub fn describe(config: &NodeConfig, log_port: u16) -> Node {
    let (cpu, memory) = capacity(config);
    let resources = |memory: u64| -> BTreeMap<String, Quantity> {
        [
            ("cpu".to_owned(), Quantity(format_cpu(cpu))),
            ("memory".to_owned(), Quantity(format!("{}Ki", memory / 1024))),
            ("pods".to_owned(), Quantity(config.max_pods.to_string())),
            ("ephemeral-storage".to_owned(), Quantity("10Gi".to_owned())),
        ]
        .into()
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    // Kubernetes names operating systems as Go does, which calls macOS `darwin`.
    let os = if cfg!(target_os = "macos") { "darwin" } else { std::env::consts::OS };
    let labels: BTreeMap<String, String> = [
        ("kubernetes.io/os".to_owned(), os.to_owned()),
        ("kubernetes.io/arch".to_owned(), arch.to_owned()),
        ("kubernetes.io/hostname".to_owned(), config.node_name.clone()),
        ("beta.kubernetes.io/os".to_owned(), os.to_owned()),
        ("beta.kubernetes.io/arch".to_owned(), arch.to_owned()),
    ]
    .into();
    Node {
        metadata: ObjectMeta {
            name: Some(config.node_name.clone()),
            labels: Some(labels),
            annotations: Some(
                [(api::ENDPOINT_TLS_ANNOTATION.to_owned(), config.tls.is_some().to_string())].into(),
            ),
            ..ObjectMeta::default()
        },
        spec: Some(k8s_openapi::api::core::v1::NodeSpec {
            pod_cidr: config.pod_cidr.map(|c| c.to_string()),
            pod_cidrs: config.pod_cidr.map(|c| vec![c.to_string()]),
            ..Default::default()
        }),
        status: Some(k8s_openapi::api::core::v1::NodeStatus {
            capacity: Some(resources(memory)),
            allocatable: Some(resources(memory.saturating_sub(config.memory_reserve))),
            addresses: Some(vec![
                NodeAddress { type_: "InternalIP".into(), address: config.node_ip.to_string() },
                NodeAddress { type_: "Hostname".into(), address: config.node_name.clone() },
            ]),
            daemon_endpoints: Some(NodeDaemonEndpoints {
                kubelet_endpoint: Some(DaemonEndpoint { port: i32::from(log_port) }),
            }),
            conditions: Some(vec![ready_condition()]),
            node_info: Some(NodeSystemInfo {
                architecture: arch.into(),
                operating_system: os.into(),
                kubelet_version: concat!("wharf-", env!("CARGO_PKG_VERSION")).into(),
                kube_proxy_version: String::new(),
                container_runtime_version: "wasmtime://48".into(),
                os_image: "WebAssembly (WASI p1, p2)".into(),
                ..NodeSystemInfo::default()
            }),
            ..Default::default()
        }),
    }
}

fn format_cpu(millis: u64) -> String {
    if millis.is_multiple_of(1000) { (millis / 1000).to_string() } else { format!("{millis}m") }
}

fn ready_condition() -> NodeCondition {
    let now = Time(Timestamp::now());
    NodeCondition {
        type_: "Ready".into(),
        status: "True".into(),
        reason: Some("KubeletReady".into()),
        message: Some("wharf node agent is posting ready status".into()),
        last_heartbeat_time: Some(now.clone()),
        last_transition_time: Some(now),
    }
}

/// Creates the Node, or updates its labels and status when it exists (the agent restarted).
pub async fn register(client: &kube::Client, config: &NodeConfig, log_port: u16) -> Result<(), Error> {
    let api: Api<Node> = Api::all(client.clone());
    let node = describe(config, log_port);
    match api.create(&PostParams::default(), &node).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let labels = serde_json::json!({ "metadata": {
                "labels": node.metadata.labels, "annotations": node.metadata.annotations,
            } });
            api.patch(&config.node_name, &PatchParams::default(), &Patch::Merge(&labels)).await?;
        }
        Err(e) => return Err(e.into()),
    }
    let status = serde_json::json!({ "status": node.status });
    api.patch_status(&config.node_name, &PatchParams::default(), &Patch::Merge(&status)).await?;
    Ok(())
}

/// The node's pod range: its `spec.podCIDR`, waiting until the control plane assigns one. `None` when the
/// watch ends (the agent is stopping).
pub async fn pod_cidr(client: &kube::Client, config: &NodeConfig) -> Option<Ipv4Net> {
    let api: Api<Node> = Api::all(client.clone());
    let selector = format!("metadata.name={}", config.node_name);
    let mut nodes = watcher::watcher(api, watcher::Config::default().fields(&selector)).boxed();
    let mut waiting = false;
    loop {
        match nodes.try_next().await {
            Ok(Some(watcher::Event::Apply(node) | watcher::Event::InitApply(node))) => {
                let assigned = node.spec.and_then(|s| s.pod_cidr).filter(|c| !c.is_empty());
                match assigned.as_deref().map(str::parse::<Ipv4Net>) {
                    Some(Ok(cidr)) => {
                        if config.pod_cidr.is_some_and(|wanted| wanted != cidr) {
                            tracing::warn!(registered = %cidr, "the node keeps the pod CIDR it has: a podCIDR cannot change");
                        }
                        #[cfg(not(target_os = "linux"))]
                        warn_if_unbindable(cidr);
                        return Some(cidr);
                    }
                    Some(Err(_)) => {
                        tracing::error!(cidr = ?assigned, "the node's podCIDR is not an IPv4 range; pods cannot start");
                    }
                    None if !waiting => {
                        waiting = true;
                        tracing::info!("waiting for the control plane to assign the node's pod CIDR");
                    }
                    None => {}
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => return None,
            Err(error) => {
                tracing::warn!(%error, "node watch failed; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

/// Linux routes all of 127.0.0.0/8 to the loopback interface, so every pod address can be bound; macOS binds
/// only 127.0.0.1 until more are added to `lo0`. Pods still start, but their listeners and their connections within
/// the machine then fail: say so once, with the fix.
#[cfg(not(target_os = "linux"))]
fn warn_if_unbindable(range: Ipv4Net) {
    // The first pod's address: the range's first host is the node's.
    let Some(first) = range.hosts().nth(1) else { return };
    if let Err(error) = std::net::TcpListener::bind((first, 0)) {
        tracing::warn!(
            %range,
            %error,
            "pod addresses cannot be bound on this machine: pods cannot listen or connect within it until they \
             can (macOS: sudo ifconfig lo0 alias {first} up, and so on for each pod address)"
        );
    }
}

/// Renews the node's Lease (creating it the first time) and refreshes the Ready condition.
pub async fn heartbeat(client: &kube::Client, config: &NodeConfig) -> Result<(), Error> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let now = MicroTime(Timestamp::now());
    let spec = LeaseSpec {
        holder_identity: Some(config.node_name.clone()),
        lease_duration_seconds: Some(40),
        renew_time: Some(now),
        ..LeaseSpec::default()
    };
    let patch = serde_json::json!({ "spec": spec });
    match leases.patch(&config.node_name, &PatchParams::default(), &Patch::Merge(&patch)).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 => {
            let lease = Lease {
                metadata: ObjectMeta { name: Some(config.node_name.clone()), ..ObjectMeta::default() },
                spec: Some(spec),
            };
            leases.create(&PostParams::default(), &lease).await?;
        }
        Err(e) => return Err(e.into()),
    }
    let nodes: Api<Node> = Api::all(client.clone());
    let status = serde_json::json!({ "status": { "conditions": [ready_condition()] } });
    nodes.patch_status(&config.node_name, &PatchParams::default(), &Patch::Strategic(&status)).await?;
    Ok(())
}
