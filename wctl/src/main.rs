//! `wctl`: Wharf's command line. `wctl up` runs a whole cluster in one process.

/// `print!` for the client verbs' output: a closed pipe (`wctl get pods | head`) ends the process quietly, as
/// SIGPIPE ends other command-line tools, where `print!` would panic.
macro_rules! out {
    ($($arg:tt)*) => { $crate::client::write_stdout(format_args!($($arg)*)) };
}

/// `println!` for the client verbs' output; see [`out!`].
macro_rules! outln {
    () => { $crate::client::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::client::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

mod client;
mod cmd;
mod verbs;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Every part of the cluster allocates small, short-lived objects per request and per watch event (JSON values,
/// typed API objects); mimalloc serves them with far less contention and fragmentation than glibc's malloc on
/// the many-threaded `wctl up`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Wharf: a lightweight orchestrator for WebAssembly that speaks the Kubernetes API.
#[derive(Parser)]
#[command(
    name = "wctl",
    version,
    about,
    after_help = "Examples:
  wctl up -f app.yaml --write-kubeconfig   a whole cluster on this machine, with an application
  wctl apply -f app.yaml --wait            deploy, and follow the rollouts until they are done
  wctl get pods -A                         what runs
  wctl logs -f deploy/web                  what it prints
  wctl run tests --rm --image tests.wasm   one guest, its output and its exit code"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Which cluster, as whom and in which namespace, for the client verbs (before or after the verb).
    #[command(flatten)]
    connect: client::ConnectArgs,
}

#[derive(Subcommand)]
// Parsed once per run; Windows paths make the largest variants larger still.
#[cfg_attr(windows, allow(clippy::large_enum_variant))]
enum Command {
    /// Start a cluster (API server with its store) and write its kubeconfig.
    Up(cmd::up::UpArgs),
    /// Create or update objects from manifests (server-side apply).
    Apply(verbs::apply::Args),
    /// List objects, or show them whole.
    Get(verbs::get::Args),
    /// Show objects in detail, with their events.
    Describe(verbs::describe::Args),
    /// Delete objects.
    Delete(verbs::delete::Args),
    /// Print what pods' guests print.
    Logs(verbs::logs::Args),
    /// Set the replicas of a Deployment or ReplicaSet.
    Scale(verbs::scale::Args),
    /// Follow, list, undo, restart, pause or resume rollouts.
    Rollout(verbs::rollout::Args),
    /// Create a namespace, ConfigMap, Secret, Deployment or Job.
    Create(verbs::create::Args),
    /// Run one pod of a wasm image, attached or not.
    Run(verbs::run::Args),
    /// Wait until objects have a condition or are gone.
    Wait(verbs::wait::Args),
    /// Show the CPU and memory use of pods or nodes.
    Top(verbs::top::Args),
    /// List events.
    Events(verbs::events::Args),
    /// Print the client's and the server's versions.
    Version(verbs::version::Args),
    /// Read the kubeconfig and switch contexts.
    Config(verbs::config::Args),
    /// Print a shell completion script.
    Completion(verbs::completion::Args),
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
    let cli = Cli::parse();
    // The cluster's parts log what they do; a client verb says what went wrong in its one error line.
    let serving = matches!(
        cli.command,
        Command::Up(_) | Command::Node(_) | Command::Scheduler(_) | Command::Controllers(_)
    );
    let default_level = if serving { "info" } else { "off" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WHARF_LOG").unwrap_or_else(|_| default_level.into()),
        )
        .with_writer(std::io::stderr)
        .init();
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
            Command::Apply(args) => verbs::apply::run(args, &cli.connect).await,
            Command::Get(args) => verbs::get::run(args, &cli.connect).await,
            Command::Describe(args) => verbs::describe::run(args, &cli.connect).await,
            Command::Delete(args) => verbs::delete::run(args, &cli.connect).await,
            Command::Logs(args) => verbs::logs::run(args, &cli.connect).await,
            Command::Scale(args) => verbs::scale::run(args, &cli.connect).await,
            Command::Rollout(args) => verbs::rollout::run(args, &cli.connect).await,
            Command::Create(args) => verbs::create::run(args, &cli.connect).await,
            Command::Run(args) => verbs::run::run(args, &cli.connect).await,
            Command::Wait(args) => verbs::wait::run(args, &cli.connect).await,
            Command::Top(args) => verbs::top::run(args, &cli.connect).await,
            Command::Events(args) => verbs::events::run(args, &cli.connect).await,
            Command::Version(args) => verbs::version::run(args, &cli.connect).await,
            Command::Config(args) => verbs::config::run(args, &cli.connect),
            Command::Completion(args) => {
                verbs::completion::run(&args);
                Ok(())
            }
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
            // A guest's exit code (`wctl run`), which the guest's own output has explained.
            if let Some(client::ExitStatus(code)) = e.downcast_ref::<client::ExitStatus>() {
                return ExitCode::from(*code);
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
