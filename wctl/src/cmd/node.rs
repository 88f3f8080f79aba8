//! `wctl node`: run a node agent that joins a remote API server.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

/// Arguments of `wctl node`.
#[derive(clap::Args)]
pub struct NodeArgs {
    /// Kubeconfig of the API server to join.
    #[arg(long)]
    kubeconfig: PathBuf,
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
    /// The node's pod address range, a /16 such as 10.64.0.0/16 [default: one derived from the node name].
    #[arg(long, value_name = "CIDR", value_parser = parse_pod_cidr)]
    pod_cidr: Option<Ipv4Addr>,
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
        if let Some(range) = self.pod_cidr {
            config.pod_range = range;
        }
        config.backoff.initial = Duration::from_secs(self.backoff_seconds);
        config.backoff.max = Duration::from_secs(self.backoff_max_seconds);
        config
    }
}

/// The first address of a /16 written as `a.b.0.0/16`.
fn parse_pod_cidr(text: &str) -> Result<Ipv4Addr, String> {
    let invalid = || format!("{text:?} is not a /16 range such as 10.64.0.0/16");
    let (address, bits) = text.split_once('/').ok_or_else(invalid)?;
    let address: Ipv4Addr = address.parse().map_err(|_| invalid())?;
    if bits != "16" || u32::from(address) & 0xffff != 0 {
        return Err(invalid());
    }
    Ok(address)
}

pub async fn run(args: NodeArgs) -> anyhow::Result<()> {
    let client = super::client_from_kubeconfig(&args.kubeconfig).await?;
    let agent = host::Agent::start(client, args.config()).await.context("cannot start the node agent")?;
    println!("node {} joined; logs at http://{}", args.node_name, agent.log_addr());
    super::up::shutdown_signal().await;
    eprintln!("shutting down");
    agent.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_cidrs_are_slash_16_ranges() {
        assert_eq!(parse_pod_cidr("10.70.0.0/16"), Ok(Ipv4Addr::new(10, 70, 0, 0)));
        for bad in ["10.70.0.0/24", "10.70.1.0/16", "10.70.0.0", "x/16", "10.70.0.0/"] {
            assert!(parse_pod_cidr(bad).is_err(), "{bad}");
        }
    }
}
