//! The scheduler as a running service: an API client that watches pods, nodes and namespaces, decides with the
//! pure [`placement`](crate::placement) core, and binds pods through `pods/{name}/binding`.
//!
//! - [`watch`]: the watches, feeding the loop.
//! - [`queue`]: the scheduling queue (priority order, backoff, pods parked until the cluster changes).
//! - [`cycle`]: the loop that owns the snapshot and the queue and decides one pod at a time.
//! - [`actions`]: bindings, `PodScheduled` conditions, nominations and evictions, as background writes.
//!
//! ```no_run
//! # async fn example(client: kube::Client) {
//! let service = scheduler::Service::start(client, scheduler::Options::default());
//! // ... later
//! service.shutdown().await;
//! # }
//! ```

mod actions;
mod cycle;
mod queue;
mod watch;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::placement::{Config, Scheduler};
pub use queue::Backoff;

/// The name pods ask for when they name no scheduler; the API server defaults `spec.schedulerName` to it.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// Watch events waiting for the loop; the watches wait when it is full.
const QUEUED_INPUTS: usize = 1024;

/// How the service runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The `spec.schedulerName` this scheduler serves, also its name in events.
    pub name: String,
    /// How nodes are weighed.
    pub placement: Config,
    /// How long failed and unschedulable pods wait.
    pub backoff: Backoff,
    /// API writes (bindings, status patches, evictions) in flight at once.
    pub max_in_flight: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            name: DEFAULT_SCHEDULER_NAME.to_owned(),
            placement: Config::default(),
            backoff: Backoff::default(),
            max_in_flight: 64,
        }
    }
}

/// A running scheduler. It stops on [`shutdown`](Self::shutdown), or when dropped (without waiting).
#[derive(Debug)]
pub struct Service {
    stop: CancellationToken,
    tracker: TaskTracker,
}

impl Service {
    /// Starts the watches and the loop on the current Tokio runtime. The loop decides once every watch has
    /// delivered its initial list.
    pub fn start(client: kube::Client, options: Options) -> Self {
        let stop = CancellationToken::new();
        let tracker = TaskTracker::new();
        let (inputs, input_rx) = mpsc::channel(QUEUED_INPUTS);
        watch::spawn(&client, &options.name, &inputs, &tracker, &stop);
        let source = events::Source { component: options.name.clone(), host: None };
        let events = events::Recorder::start(client.clone(), source);
        let (outcomes, outcome_rx) = mpsc::unbounded_channel();
        let actions = actions::Actions::new(
            client,
            options.name.clone(),
            options.max_in_flight,
            tracker.clone(),
            stop.clone(),
            outcomes,
            events,
        );
        let cycle =
            cycle::Cycle::new(Scheduler::new(options.placement), queue::Queue::new(options.backoff), actions);
        tracker.spawn(cycle.run(input_rx, outcome_rx, stop.clone()));
        tracing::info!(name = %options.name, "scheduler started");
        Self { stop, tracker }
    }

    /// Stops every task and waits for them; writes in flight finish or are abandoned.
    pub async fn shutdown(self) {
        self.stop.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
