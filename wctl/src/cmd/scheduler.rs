//! `wctl scheduler`: run the scheduler as its own process against an API server.

use std::path::PathBuf;
use std::time::Duration;

use scheduler::{Backoff, Config, Options, Strategy};

/// How nodes are scored for resources.
#[derive(Clone, Copy, clap::ValueEnum)]
enum StrategyArg {
    /// Pack pods onto the fullest nodes that fit (kube-scheduler's `MostAllocated`).
    MostAllocated,
    /// Spread pods onto the emptiest nodes (kube-scheduler's `LeastAllocated`).
    LeastAllocated,
}

/// Arguments of `wctl scheduler`.
#[derive(clap::Args)]
pub struct SchedulerArgs {
    /// Kubeconfig of the API server.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// The `spec.schedulerName` this scheduler serves.
    #[arg(long, default_value = scheduler::DEFAULT_SCHEDULER_NAME)]
    scheduler_name: String,
    /// Pack (the default) or spread.
    #[arg(long, value_enum, default_value = "most-allocated")]
    strategy: StrategyArg,
    /// Weight of CPU in the resource score.
    #[arg(long, default_value_t = 1)]
    cpu_weight: u32,
    /// Weight of memory in the resource score.
    #[arg(long, default_value_t = 1)]
    memory_weight: u32,
    /// Weight of the resource score (NodeResourcesFit).
    #[arg(long, default_value_t = 1)]
    resources_weight: u32,
    /// Weight of the balanced allocation score (NodeResourcesBalancedAllocation).
    #[arg(long, default_value_t = 1)]
    balanced_weight: u32,
    /// Weight of the preferred node affinity score (NodeAffinity).
    #[arg(long, default_value_t = 2)]
    node_affinity_weight: u32,
    /// Weight of the PreferNoSchedule taint score (TaintToleration).
    #[arg(long, default_value_t = 3)]
    taint_toleration_weight: u32,
    /// Name untolerated taints (key and value) in explanations, as Kubernetes did before 1.35.
    #[arg(long)]
    reveal_taints: bool,
    /// First retry delay of a pod that failed, in seconds (doubles up to --max-backoff-seconds).
    #[arg(long, default_value_t = 1)]
    initial_backoff_seconds: u64,
    /// Longest retry delay of a pod that failed, in seconds.
    #[arg(long, default_value_t = 10)]
    max_backoff_seconds: u64,
    /// API writes (bindings, status updates, evictions) in flight at once.
    #[arg(long, default_value_t = 64)]
    max_in_flight: usize,
}

impl SchedulerArgs {
    /// The service's options.
    pub fn options(&self) -> Options {
        let strategy = match self.strategy {
            StrategyArg::MostAllocated => Strategy::MostAllocated,
            StrategyArg::LeastAllocated => Strategy::LeastAllocated,
        };
        Options {
            name: self.scheduler_name.clone(),
            placement: Config {
                strategy,
                cpu_weight: self.cpu_weight,
                memory_weight: self.memory_weight,
                resources_weight: self.resources_weight,
                balanced_weight: self.balanced_weight,
                node_affinity_weight: self.node_affinity_weight,
                taint_toleration_weight: self.taint_toleration_weight,
                reveal_taints: self.reveal_taints,
            },
            backoff: Backoff {
                initial: Duration::from_secs(self.initial_backoff_seconds),
                max: Duration::from_secs(self.max_backoff_seconds),
                ..Backoff::default()
            },
            max_in_flight: self.max_in_flight,
        }
    }
}

pub async fn run(args: SchedulerArgs) -> anyhow::Result<()> {
    let client = super::client_from_kubeconfig(&args.kubeconfig).await?;
    let service = scheduler::Service::start(client, args.options());
    println!("scheduler {} running", args.scheduler_name);
    super::up::shutdown_signal().await;
    eprintln!("shutting down");
    service.shutdown().await;
    Ok(())
}
