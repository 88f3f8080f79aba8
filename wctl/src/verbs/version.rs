//! `wctl version`: this binary's version and the server's.

use crate::client::ConnectArgs;

/// Arguments of `wctl version`.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  wctl version\n  wctl version --client")]
pub struct Args {
    /// Only this binary's version (no server needed).
    #[arg(long)]
    client: bool,
}

pub async fn run(args: Args, connect: &ConnectArgs) -> anyhow::Result<()> {
    outln!("Client Version: v{}", env!("CARGO_PKG_VERSION"));
    if args.client {
        return Ok(());
    }
    let cluster = connect.connect().await?;
    let server = cluster.client.apiserver_version().await.map_err(|e| cluster.explain(e))?;
    outln!("Server Version: {}", server.git_version);
    Ok(())
}
