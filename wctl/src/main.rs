//! `wctl`: Wharf's command line. `wctl up` runs a whole cluster in one process.

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Every part of the cluster allocates small, short-lived objects per request and per watch event (JSON values,
/// typed API objects); mimalloc serves them with far less contention and fragmentation than glibc's malloc on
/// the many-threaded `wctl up`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Wharf: a lightweight orchestrator for WebAssembly that speaks the Kubernetes API.
#[derive(Parser)]
#[command(name = "wctl", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a cluster (API server with its store) and write its kubeconfig.
    Up(cmd::up::UpArgs),
    /// Run a node agent that joins a remote API server and runs the pods bound to this node.
    Node(cmd::node::NodeArgs),
    /// Run the scheduler against a remote API server, binding its pending pods to nodes.
    Scheduler(cmd::scheduler::SchedulerArgs),
    /// Run the controllers (ReplicaSet, Deployment, garbage collection) against a remote API server.
    Controllers(cmd::controllers::ControllersArgs),
    /// Make an ed25519 key pair for signing modules.
    Keygen(cmd::trust::KeygenArgs),
    /// Sign a module with a private key: nodes that require trusted modules run it.
    Sign(cmd::trust::SignArgs),
    /// Check a module's signature against a public key.
    Verify(cmd::trust::VerifyArgs),
    /// Bootstrap tokens for joining nodes.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make a bootstrap token that lets a node join with `wctl node --token` (kubeadm's `token create`).
    Create(cmd::token::TokenArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WHARF_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Up(args) => cmd::up::run(args).await,
            Command::Node(args) => cmd::node::run(args).await,
            Command::Scheduler(args) => cmd::scheduler::run(args).await,
            Command::Controllers(args) => cmd::controllers::run(args).await,
            Command::Keygen(args) => cmd::trust::keygen(&args),
            Command::Sign(args) => cmd::trust::sign(&args),
            Command::Verify(args) => cmd::trust::verify(&args),
            Command::Token(TokenCommand::Create(args)) => cmd::token::create(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
