//! `wctl controllers`: run the controllers as their own process against an API server.

use std::path::PathBuf;

use anyhow::Context;

/// Arguments of `wctl controllers`.
#[derive(clap::Args)]
pub struct ControllersArgs {
    /// Kubeconfig of the API server.
    #[arg(long)]
    kubeconfig: PathBuf,
}

pub async fn run(args: ControllersArgs) -> anyhow::Result<()> {
    let kubeconfig = kube::config::Kubeconfig::read_from(&args.kubeconfig)
        .with_context(|| format!("cannot read {}", args.kubeconfig.display()))?;
    let options = kube::config::KubeConfigOptions::default();
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &options).await.context("bad kubeconfig")?;
    let client = kube::Client::try_from(config).context("cannot build an API client")?;
    let controllers = controllers::Controllers::start(client);
    println!("controllers running");
    super::up::shutdown_signal().await;
    eprintln!("shutting down");
    controllers.shutdown().await;
    Ok(())
}
