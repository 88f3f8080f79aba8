//! Waiting for workloads to finish (`apply --wait`, `rollout status`) with live progress: bars redrawn in place on
//! a terminal, a line per change otherwise (CI logs stay readable).

use std::io::Write;
use std::time::Duration;

use anyhow::bail;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use serde_json::Value;

use super::workloads::{self, Progress};
use super::{Cluster, ResourceType};

/// A workload to wait for.
#[derive(Clone, Debug)]
pub struct Watched {
    /// Its type.
    pub rt: ResourceType,
    /// Its namespace.
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
}

impl Watched {
    fn label(&self) -> String {
        format!("{}/{}", self.rt.qualified_name(), self.name)
    }
}

/// How often the workloads are read again.
const POLL: Duration = Duration::from_millis(250);

/// Waits until every workload is done; fails when one fails (a Job's failed pods' last log lines go to standard
/// error first) or when `timeout` passes.
pub async fn until_done(
    cluster: &Cluster,
    items: &[Watched],
    timeout: Option<Duration>,
) -> anyhow::Result<()> {
    let mut board = Board::new(super::stdout_is_terminal(), items.iter().map(Watched::label).collect());
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    loop {
        let mut pending = None;
        let mut failure = None;
        for (row, item) in items.iter().enumerate() {
            let object = cluster
                .api(&item.rt, item.namespace.as_deref())
                .get(&item.name)
                .await
                .map_err(|e| cluster.explain(e))?;
            let object = serde_json::to_value(object)?;
            let progress = workloads::progress(&item.rt.kind, &object)
                .unwrap_or_else(|| Progress::Done(format!("{} exists", item.label())));
            match &progress {
                Progress::Pending { message, .. } => pending = pending.or(Some(message.clone())),
                Progress::Failed(message) => {
                    failure = failure.or(Some((item, object.clone(), message.clone())));
                }
                Progress::Done(_) => {}
            }
            board.set(row, progress);
        }
        board.draw();
        if let Some((item, object, message)) = failure {
            if item.rt.kind == "Job" {
                print_failed_pod_logs(cluster, item, &object).await;
            }
            bail!("{message}");
        }
        let Some(waiting) = pending else { return Ok(()) };
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            bail!("timed out: {waiting}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The last lines each failed pod of a Job printed, on standard error, so a CI log shows why it failed.
async fn print_failed_pod_logs(cluster: &Cluster, job: &Watched, object: &Value) {
    let namespace = job.namespace.clone().unwrap_or_else(|| cluster.namespace.clone());
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &namespace);
    let selector = workloads::pod_selector(object)
        .unwrap_or_else(|| format!("batch.kubernetes.io/job-name={}", job.name));
    let Ok(list) = pods.list(&ListParams::default().labels(&selector)).await else { return };
    let params = LogParams { tail_lines: Some(10), ..Default::default() };
    for pod in list.items {
        let failed = pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed");
        let Some(name) = pod.metadata.name.filter(|_| failed) else { continue };
        if let Ok(text) = pods.logs(&name, &params).await {
            for line in text.lines() {
                eprintln!("[pod/{name}] {line}");
            }
        }
    }
}

/// The progress of several workloads, shown one line each.
struct Board {
    terminal: bool,
    labels: Vec<String>,
    rows: Vec<Option<Progress>>,
    shown: Vec<Option<Progress>>,
    drawn_lines: usize,
}

impl Board {
    fn new(terminal: bool, labels: Vec<String>) -> Self {
        let rows = vec![None; labels.len()];
        Self { terminal, shown: rows.clone(), rows, labels, drawn_lines: 0 }
    }

    fn set(&mut self, row: usize, progress: Progress) {
        if let Some(slot) = self.rows.get_mut(row) {
            *slot = Some(progress);
        }
    }

    fn draw(&mut self) {
        let mut out = std::io::stdout().lock();
        if self.terminal {
            if self.drawn_lines > 0 {
                let _ = write!(out, "\x1b[{}A", self.drawn_lines);
            }
            let width = self.labels.iter().map(String::len).max().unwrap_or(0);
            for (label, progress) in self.labels.iter().zip(&self.rows) {
                let _ = writeln!(out, "\x1b[2K{}", bar_line(label, width, progress.as_ref()));
            }
            self.drawn_lines = self.labels.len();
        } else {
            for ((label, progress), shown) in self.labels.iter().zip(&self.rows).zip(&mut self.shown) {
                if progress != shown {
                    if let Some(progress) = progress {
                        let _ = writeln!(out, "{label}: {}", message(progress));
                    }
                    shown.clone_from(progress);
                }
            }
        }
        let _ = out.flush();
    }
}

fn message(progress: &Progress) -> &str {
    match progress {
        Progress::Pending { message, .. } | Progress::Done(message) | Progress::Failed(message) => message,
    }
}

/// `deployment.apps/web  [#######---------]  2/3  Waiting for ...`, coloured.
fn bar_line(label: &str, width: usize, progress: Option<&Progress>) -> String {
    const BAR: usize = 20;
    let Some(progress) = progress else { return format!("{label:width$}") };
    let (done, total, colour, mark) = match progress {
        Progress::Pending { done, total, .. } => (*done, *total, "\x1b[33m", ' '),
        Progress::Done(_) => (1, 1, "\x1b[32m", '✔'),
        Progress::Failed(_) => (0, 1, "\x1b[31m", '✘'),
    };
    let filled = if total > 0 {
        usize::try_from(done.clamp(0, total) * i64::try_from(BAR).unwrap_or(20) / total).unwrap_or(0)
    } else {
        0
    };
    let count = if total > 0 && !matches!(progress, Progress::Done(_)) {
        format!(" {done}/{total}")
    } else {
        String::new()
    };
    format!(
        "{colour}{mark}\x1b[0m {label:width$}  [{colour}{}\x1b[0m{}]{count}  {}",
        "█".repeat(filled),
        "░".repeat(BAR - filled),
        message(progress)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fill_with_progress() {
        let half = Progress::Pending { message: "waiting".into(), done: 1, total: 2 };
        let line = bar_line("job.batch/ci", 12, Some(&half));
        assert_eq!(line.matches('█').count(), 10);
        assert!(line.contains(" 1/2  waiting"), "{line}");
        let done = bar_line("job.batch/ci", 12, Some(&Progress::Done("ok".into())));
        assert_eq!(done.matches('█').count(), 20);
        assert!(done.contains('✔'));
    }
}
