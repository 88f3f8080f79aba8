//! `wctl node`: run a node agent that joins a remote API server.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use ipnet::Ipv4Net;

/// Arguments of `wctl node`.
#[derive(clap::Args)]
pub struct NodeArgs {
    /// Kubeconfig of the API server to join, with the node's credentials.
    #[arg(long, required_unless_present = "token", conflicts_with = "token")]
    kubeconfig: Option<PathBuf>,
    /// The API server to join with a bootstrap token (`https://host:6443`).
    #[arg(long, requires = "token")]
    server: Option<String>,
    /// A bootstrap token (`wctl token create`): the node asks for its own certificate with it, once, and keeps
    /// its credentials in DATA_DIR/kubeconfig.
    #[arg(long, requires_all = ["server", "certificate_authority"])]
    token: Option<String>,
    /// The cluster CA certificate to trust the API server with (DATA_DIR/pki/ca.crt of `wctl up`).
    #[arg(long, value_name = "FILE", requires = "token")]
    certificate_authority: Option<PathBuf>,
    /// Name of the Node object this agent registers.
    #[arg(long)]
    node_name: String,
    /// Directory for pods' files, logs and compiled code (one per agent).
    #[arg(long)]
    data_dir: PathBuf,
    /// Directory where images given by a relative name (`--image=hello.wasm`) are looked up
    /// [default: DATA_DIR/images].
    #[arg(long)]
    images_dir: Option<PathBuf>,
    /// PEM file of CA certificates to trust for https:// images besides the public roots (repeatable).
    #[arg(long = "image-ca", value_name = "FILE")]
    image_ca: Vec<PathBuf>,
    #[command(flatten)]
    trust: super::trust::TrustFlags,
    /// Directory under which hostPath volumes are allowed (repeatable); none by default.
    #[arg(long = "allow-host-path", value_name = "DIR")]
    allow_host_path: Vec<PathBuf>,
    /// CPU capacity in millicores [default: the machine's cores].
    #[arg(long)]
    cpu_millis: Option<u64>,
    /// Memory capacity in bytes [default: the machine's memory].
    #[arg(long)]
    memory_bytes: Option<u64>,
    /// Memory in bytes kept for the agent itself: allocatable is capacity minus this (the kubelet's
    /// system-reserved).
    #[arg(long, default_value_t = 256 << 20)]
    memory_reserve_bytes: u64,
    /// Most pods the node takes.
    #[arg(long, default_value_t = 110)]
    max_pods: u32,
    /// The node's pod address range, such as 127.70.0.0/18 [default: the one the control plane assigns].
    #[arg(long, value_name = "CIDR", value_parser = parse_pod_cidr)]
    pod_cidr: Option<Ipv4Net>,
    /// The node's address: published as its InternalIP, where the API server and other nodes reach it, and
    /// where its endpoint (logs, usage) listens.
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    node_ip: IpAddr,
    /// Where node ports and LoadBalancer Services listen [default: the node's address]; `0.0.0.0` exposes them on
    /// every address of the machine.
    #[arg(long, value_name = "IP")]
    node_port_address: Option<IpAddr>,
    /// First crash-loop backoff delay in seconds (doubles up to --backoff-max-seconds).
    #[arg(long, default_value_t = 10)]
    backoff_seconds: u64,
    /// Longest crash-loop backoff delay in seconds.
    #[arg(long, default_value_t = 300)]
    backoff_max_seconds: u64,
}

impl NodeArgs {
    /// The agent's configuration.
    pub fn config(&self) -> host::NodeConfig {
        let mut config = host::NodeConfig::new(&self.node_name, &self.data_dir);
        config.host_path_roots.clone_from(&self.allow_host_path);
        if let Some(dir) = &self.images_dir {
            config.images_dir.clone_from(dir);
        }
        config.image_ca_files.clone_from(&self.image_ca);
        config.cpu_millis = self.cpu_millis;
        config.memory_bytes = self.memory_bytes;
        config.memory_reserve = self.memory_reserve_bytes;
        config.max_pods = self.max_pods;
        config.pod_cidr = self.pod_cidr;
        config.node_ip = self.node_ip;
        config.node_port_address = self.node_port_address;
        config.log_listen = SocketAddr::new(self.node_ip, 0);
        config.backoff.initial = Duration::from_secs(self.backoff_seconds);
        config.backoff.max = Duration::from_secs(self.backoff_max_seconds);
        config
    }
}

/// An IPv4 range with no bits set past its prefix, as Kubernetes validates `spec.podCIDR`.
fn parse_pod_cidr(text: &str) -> Result<Ipv4Net, String> {
    let net: Ipv4Net =
        text.parse().map_err(|_| format!("{text:?} is not an IPv4 range such as 127.70.0.0/18"))?;
    if net.trunc() != net {
        return Err(format!("{text:?} has bits set past its prefix length; did you mean {}?", net.trunc()));
    }
    if net.prefix_len() > 30 {
        return Err(format!("{text:?} leaves no addresses for pods; use a /30 or larger range"));
    }
    Ok(net)
}

pub async fn run(args: NodeArgs) -> anyhow::Result<()> {
    let mut config = args.config();
    let kubeconfig = match (&args.kubeconfig, &args.server, &args.token, &args.certificate_authority) {
        (Some(path), ..) => path.clone(),
        (None, Some(server), Some(token), Some(ca)) => {
            let joined =
                super::join::join(server, token, ca, &args.node_name, args.node_ip, &args.data_dir).await?;
            config.tls = Some(joined.tls);
            joined.kubeconfig
        }
        _ => anyhow::bail!("pass --kubeconfig, or --server, --token and --certificate-authority"),
    };
    let client = super::client_from_kubeconfig(&kubeconfig).await?;
    config.trust = args.trust.trust()?;
    let config_tls = config.tls.is_some();
    let agent = host::Agent::start(client, config).await.context("cannot start the node agent")?;
    let scheme = if config_tls { "https" } else { "http" };
    println!("node {} joined; its endpoint is at {scheme}://{}", args.node_name, agent.log_addr());
    super::up::shutdown_signal().await;
    eprintln!("shutting down");
    agent.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_cidrs_are_ipv4_ranges_without_host_bits() {
        assert_eq!(parse_pod_cidr("10.70.0.0/16"), Ok("10.70.0.0/16".parse().unwrap()));
        assert_eq!(parse_pod_cidr("127.70.64.0/18"), Ok("127.70.64.0/18".parse().unwrap()));
        for bad in ["10.70.1.0/16", "10.70.0.0", "x/16", "10.70.0.0/", "10.70.0.0/31", "fd00::/64"] {
            assert!(parse_pod_cidr(bad).is_err(), "{bad}");
        }
    }
}
