//! `wctl controllers`: run the controllers as their own process against an API server.

use std::path::PathBuf;
use std::time::Duration;

use ipnet::Ipv4Net;

/// Arguments of `wctl controllers`.
#[derive(clap::Args)]
pub struct ControllersArgs {
    /// Kubeconfig of the API server.
    #[arg(long)]
    kubeconfig: PathBuf,
    #[command(flatten)]
    options: ControllerFlags,
}

/// The controllers' settings, shared by `wctl controllers` and `wctl up`.
#[derive(clap::Args)]
pub struct ControllerFlags {
    /// Seconds a node may go without renewing its Lease before it is marked Ready=Unknown and tainted
    /// unreachable (Kubernetes: 40).
    #[arg(long, value_name = "SECONDS", default_value_t = 20)]
    node_monitor_grace_period: u64,
    /// Seconds pods without their own toleration stay on an unreachable or not-ready node before they are
    /// evicted and replaced elsewhere (Kubernetes: 300; shorter here so that edge nodes recover fast).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    default_unreachable_toleration_seconds: u64,
    /// The range every pod address comes from; each node gets a share of it as its podCIDR.
    #[arg(long, value_name = "CIDR", default_value = "127.64.0.0/10")]
    cluster_cidr: Ipv4Net,
    /// The prefix length of each node's podCIDR (a /18 holds 16,382 pods).
    #[arg(long, value_name = "BITS", default_value_t = 18)]
    node_cidr_mask_size: u8,
    /// Leave nodes' podCIDRs to their agents (`wctl node --pod-cidr`) instead of assigning them.
    #[arg(long)]
    no_allocate_node_cidrs: bool,
}

impl ControllerFlags {
    /// The controllers' options these flags give.
    pub fn options(&self) -> anyhow::Result<controllers::Options> {
        let mut options = controllers::Options::default();
        options.node_lifecycle.grace = Duration::from_secs(self.node_monitor_grace_period);
        options.node_lifecycle.eviction = Duration::from_secs(self.default_unreachable_toleration_seconds);
        options.node_ipam = if self.no_allocate_node_cidrs {
            None
        } else {
            Some(controllers::nodeipam::plan::Config::new(self.cluster_cidr, self.node_cidr_mask_size)?)
        };
        Ok(options)
    }

    /// How node pod CIDRs are carved, also when no controller assigns them (the local node's range).
    pub fn node_ipam(&self) -> anyhow::Result<controllers::nodeipam::plan::Config> {
        Ok(controllers::nodeipam::plan::Config::new(self.cluster_cidr, self.node_cidr_mask_size)?)
    }
}

pub async fn run(args: ControllersArgs) -> anyhow::Result<()> {
    let client = super::client_from_kubeconfig(&args.kubeconfig).await?;
    let controllers = controllers::Controllers::start_with(client, args.options.options()?);
    println!("controllers running");
    super::up::shutdown_signal().await;
    eprintln!("shutting down");
    controllers.shutdown().await;
    Ok(())
}
