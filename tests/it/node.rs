//! The node agent: real guests built from `examples/guests` for both wasm targets, run through the API on one
//! node and on three agents joined to one server, and through the real kubectl.

mod crossnode;
mod egress;
mod eviction;
mod hostile;
mod kubectl;
mod lifecycle;
mod policies;
mod probes;
mod rollout;
mod routing;
mod scheduled;
mod serving;
mod termination;
mod trust;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use host::{Agent, NodeConfig};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::PostParams;
use serde_json::{Value, json};
use tempfile::TempDir;
use tests::{TestServer, eventually, workspace_root};

/// The wasm targets guests are built for.
pub const TARGETS: [&str; 2] = ["wasm32-wasip1", "wasm32-wasip2"];

/// Builds the guest programs once per test process and returns the path of `name` built for `target`.
pub fn guest(target: &str, name: &str) -> String {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let root = workspace_root();
        let target_dir = root.join("target/guests");
        let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "build",
                "--release",
                "--quiet",
                "--target",
                TARGETS[0],
                "--target",
                TARGETS[1],
                "--manifest-path",
            ])
            .arg(root.join("examples/guests/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the guests failed (run scripts/setup.sh for the wasm targets)");
        target_dir
    });
    dir.join(target).join("release").join(format!("{name}.wasm")).display().to_string()
}

/// A pod range no other test cluster on this machine uses: a /24 of 127.96.0.0/11 (the half of the default
/// cluster CIDR that node IPAM reaches last), held by a lock file for the life of the test process, since test
/// processes run side by side and pods bind their addresses.
pub fn fresh_pod_cidr() -> host::Ipv4Net {
    static HELD: std::sync::Mutex<Vec<std::fs::File>> = std::sync::Mutex::new(Vec::new());
    let pool: host::Ipv4Net = "127.96.0.0/11".parse().unwrap();
    let ranges: Vec<host::Ipv4Net> = pool.subnets(24).unwrap().collect();
    let start = std::process::id() as usize * 7919 % ranges.len();
    for offset in 0..ranges.len() {
        let index = (start + offset) % ranges.len();
        let path = std::env::temp_dir().join(format!("wharf-test-pod-cidr-{index}.lock"));
        let Ok(file) = std::fs::File::options().create(true).write(true).truncate(false).open(&path) else {
            continue;
        };
        if file.try_lock().is_ok() {
            HELD.lock().unwrap().push(file);
            return ranges[index];
        }
    }
    panic!("every test pod range is taken");
}

/// A server with node agents joined to it.
pub struct Cluster {
    /// The API server.
    pub server: TestServer,
    /// The agents, by node name.
    pub agents: Vec<(String, Agent)>,
    /// Their pod ranges; each node's address is the first of its range.
    pub pod_cidrs: Vec<host::Ipv4Net>,
    /// Their data directories.
    pub dirs: Vec<TempDir>,
}

impl Cluster {
    /// One server and `nodes` agents named node-0, node-1...
    pub async fn start(nodes: usize, adjust: impl Fn(&mut NodeConfig)) -> Self {
        let server = TestServer::start().await;
        let mut cluster = Self { server, agents: Vec::new(), pod_cidrs: Vec::new(), dirs: Vec::new() };
        for i in 0..nodes {
            let dir = tempfile::tempdir().unwrap();
            let mut config = NodeConfig::new(format!("node-{i}"), dir.path());
            config.heartbeat = Duration::from_secs(1);
            // Each agent brings a range of its own, so that node IPAM leaves it alone and no other test's pods
            // share its addresses.
            let pod_cidr = fresh_pod_cidr();
            config.pod_cidr = Some(pod_cidr);
            // The node takes the range's first address (pods get the others): its node ports and endpoint are then
            // its own too.
            let node_ip = pod_cidr.hosts().next().expect("a /24 has hosts");
            config.node_ip = node_ip.into();
            config.log_listen = std::net::SocketAddr::new(node_ip.into(), 0);
            // Each agent is a node of its own: its identity and certificates come from the cluster CA, so the
            // Node authoriser, the endpoint's TLS and the tunnels' TLS are what every node test goes through.
            let name = format!("node-{i}");
            let certificates =
                cluster.server.server.node_certificates(&name, node_ip.into()).expect("certificates");
            config.tls = Some(host::NodeTls {
                ca_pem: certificates.ca_pem,
                serving: (certificates.serving.cert_pem, certificates.serving.key_pem),
                client: (certificates.client.cert_pem, certificates.client.key_pem),
            });
            adjust(&mut config);
            cluster.pod_cidrs.extend(config.pod_cidr);
            let client = cluster.server.client_as(&format!("system:node:{name}"), &["system:nodes"]);
            let agent = Agent::start(client, config).await.expect("agent starts");
            cluster.agents.push((format!("node-{i}"), agent));
            cluster.dirs.push(dir);
        }
        cluster
    }

    /// The data directory of node `i`.
    pub fn data_dir(&self, i: usize) -> &Path {
        self.dirs[i].path()
    }

    /// Pods in `default`.
    pub fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.server.client(), "default")
    }

    /// Creates a pod bound to `node` from a JSON spec.
    pub async fn create_pod(&self, name: &str, node: &str, spec: Value) -> Pod {
        let mut spec = spec;
        spec["nodeName"] = json!(node);
        let pod: Pod = serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec})).unwrap();
        self.pods().create(&PostParams::default(), &pod).await.expect("pod created")
    }

    /// The log of a container, through node `i`'s log endpoint.
    pub async fn logs(&self, i: usize, pod: &str, container: &str, query: &str) -> String {
        self.agent_get(i, &format!("/containerLogs/default/{pod}/{container}?{query}")).await
    }

    /// A TLS connection to agent `i`'s endpoint as `user` in `groups` (a certificate from the cluster CA).
    pub async fn agent_connection(
        &self,
        i: usize,
        user: &str,
        groups: &[&str],
    ) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
        let pki = self.server.dir.path().join("pki");
        let read = |f: &str| std::fs::read_to_string(pki.join(f)).unwrap();
        let ca = pki::Ca::from_pem(&read("ca.crt"), &read("ca.key")).unwrap();
        let identity = ca.issue_client(user, groups, Duration::from_secs(600)).unwrap();
        let config =
            pki::client_config(ca.cert_pem(), Some((&identity.cert_pem, &identity.key_pem))).unwrap();
        let addr = self.agents[i].1.log_addr();
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
        tokio_rustls::TlsConnector::from(std::sync::Arc::new(config)).connect(name, tcp).await.unwrap()
    }

    /// A GET from agent `i`'s endpoint, over TLS as the cluster's admin (the endpoint serves only peers with a
    /// certificate from the cluster CA); the body as text.
    pub async fn agent_get(&self, i: usize, path: &str) -> String {
        let mut stream = self.agent_connection(i, "wharf-admin", &["system:masters"]).await;
        let addr = self.agents[i].1.log_addr();
        let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
        tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        // A TLS peer may close without close_notify once HTTP/1.0 is answered; what arrived is the answer.
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut response).await;
        let text = String::from_utf8_lossy(&response).into_owned();
        text.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or(text)
    }
}

/// Waits (generously) until the pod satisfies `ok`.
pub async fn wait_pod(api: &Api<Pod>, name: &str, secs: u64, ok: impl Fn(&Pod) -> bool) -> Pod {
    let what = format!("pod {name} to reach the expected state");
    eventually(&what, Duration::from_secs(secs), async || api.get_opt(name).await.unwrap().filter(|p| ok(p)))
        .await
}

/// The pod's phase.
pub fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or_default()
}

/// The terminated state of the pod's first app container: (exit code, reason).
pub fn terminated(pod: &Pod) -> Option<(i32, String)> {
    let status = pod.status.as_ref()?.container_statuses.as_ref()?.first()?;
    let t = status.state.as_ref()?.terminated.as_ref()?;
    Some((t.exit_code, t.reason.clone().unwrap_or_default()))
}

/// The waiting reason of the pod's first app container.
pub fn waiting(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?.container_statuses.as_ref()?.first()?;
    status.state.as_ref()?.waiting.as_ref()?.reason.clone()
}
