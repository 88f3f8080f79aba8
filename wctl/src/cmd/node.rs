//! `wctl node`: run a node agent that joins a remote API server.

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
    /// Directory under which hostPath volumes are allowed (repeatable); none by default.
    #[arg(long = "allow-host-path", value_name = "DIR")]
    allow_host_path: Vec<PathBuf>,
    /// CPU capacity in millicores [default: the machine's cores].
    #[arg(long)]
    cpu_millis: Option<u64>,
    /// Memory capacity in bytes [default: the machine's memory].
    #[arg(long)]
    memory_bytes: Option<u64>,
    /// Most pods the node takes.
    #[arg(long, default_value_t = 110)]
    max_pods: u32,
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
        config.cpu_millis = self.cpu_millis;
        config.memory_bytes = self.memory_bytes;
        config.max_pods = self.max_pods;
        config.backoff.initial = Duration::from_secs(self.backoff_seconds);
        config.backoff.max = Duration::from_secs(self.backoff_max_seconds);
        config
    }
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
