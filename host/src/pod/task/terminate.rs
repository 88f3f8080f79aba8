//! Graceful termination, the Kubernetes way with a WASI notice: every running guest gets its notice (its stdin
//! reaches end-of-file, where a container would get SIGTERM), the task waits up to the grace period for them to
//! exit, kills what still runs (exit code 137, reason Error, as after SIGKILL), records each end, and reports the
//! final status. Nothing restarts meanwhile, and a pod whose containers all ended moves to Succeeded or Failed.
//!
//! Eviction stops the guests the same way without a grace period, as the kubelet does for an emptyDir over its
//! limit, and leaves the pod Failed with reason Evicted.

use std::time::Duration;

use tokio::sync::watch;

use super::{Signal, Task};
use crate::pod::eviction;

impl Task {
    /// Stops the guests as `signal` asks (it no longer says [`Signal::Run`]).
    pub(super) async fn terminate(&mut self, mut signal: watch::Receiver<Signal>) {
        let grace = match *signal.borrow_and_update() {
            Signal::Terminate { grace } => grace,
            Signal::Run | Signal::Kill => return self.kill_all(),
        };
        self.model.terminating = true;
        self.announce_stop();
        for live in self.live.values() {
            live.control.notify();
        }
        let noticed = tokio::time::Instant::now();
        let mut deadline = noticed + grace;
        while !self.running.is_empty() {
            tokio::select! {
                Some(joined) = self.running.join_next() => {
                    if let Ok((index, exit)) = joined {
                        self.finish(index, exit).await;
                    }
                }
                () = tokio::time::sleep_until(deadline) => break,
                changed = signal.changed() => match (changed, *signal.borrow_and_update()) {
                    (Ok(()), Signal::Terminate { grace }) => deadline = deadline.min(noticed + grace),
                    _ => return self.kill_all(),
                },
            }
        }
        self.kill_and_reap().await;
        self.report().await;
    }

    /// Evicts the pod for `message`: the Warning Event, then its guests killed at once and never restarted, and
    /// the pod Failed with reason Evicted. A pod that already finished stays as it ended.
    pub(super) async fn evict(&mut self, message: &str) {
        if self.finished() {
            return;
        }
        self.model.failed = Some((eviction::REASON.to_owned(), message.to_owned()));
        self.event(events::Kind::Warning, eviction::REASON, message);
        self.announce_stop();
        self.kill_and_reap().await;
        self.report().await;
    }

    /// Records a Killing Event for every running container, as the kubelet does before stopping it.
    fn announce_stop(&self) {
        for index in self.live.keys() {
            let name = self.container_name(*index);
            self.event(events::Kind::Normal, "Killing", &format!("Stopping container {name}"));
        }
    }

    /// Kills what still runs and records how each run ended.
    async fn kill_and_reap(&mut self) {
        self.kill_all();
        // A killed guest ends within one time slice, or at once when it waits in a host call.
        while let Some(joined) = self.running.join_next().await {
            if let Ok((index, exit)) = joined {
                self.finish(index, exit).await;
            }
        }
    }

    /// Kills every running guest now.
    fn kill_all(&self) {
        for live in self.live.values() {
            live.control.kill();
        }
    }

    fn container_name(&self, index: usize) -> String {
        self.model
            .init
            .iter()
            .chain(self.model.app.iter())
            .nth(index)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    }
}

/// How long the agent waits for a pod task to finish terminating, beyond the grace period: killing and the final
/// status report take a moment.
pub const SLACK: Duration = Duration::from_secs(5);
