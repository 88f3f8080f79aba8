//! `wctl controllers`: run the controllers as their own process against an API server.

use std::path::PathBuf;

/// Arguments of `wctl controllers`.
#[derive(clap::Args)]
pub struct ControllersArgs {
    /// Kubeconfig of the API server.
    #[arg(long)]
    kubeconfig: PathBuf,
}

pub async fn run(args: ControllersArgs) -> anyhow::Result<()> {
    let client = super::client_from_kubeconfig(&args.kubeconfig).await?;
    let controllers = controllers::Controllers::start(client);
    println!("controllers running");
    super::up::shutdown_signal().await;
    eprintln!("shutting down");
    controllers.shutdown().await;
    Ok(())
}
