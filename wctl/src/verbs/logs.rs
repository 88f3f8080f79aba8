//! `wctl logs`: what a pod's guests print, or every pod of a workload or a label selector with a prefix naming the
//! pod (and an Indexed Job's completion index); `-f` follows them, and pods that appear later too.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::bail;
use futures::{AsyncBufReadExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use tokio::sync::mpsc;

use controllers::job::indexes::COMPLETION_INDEX;

use super::parse_duration;
use crate::client::workloads::{self, Progress};
use crate::client::{Cluster, ConnectArgs, ResourceType};

/// Arguments of `wctl logs`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  wctl logs web-1                      one pod
  wctl logs -f deploy/web              every pod of a Deployment, followed, new pods too
  wctl logs job/ci                     every shard of a Job, prefixed with its index
  wctl logs -l app=web --tail 20       the last 20 lines of every pod with the label
  wctl logs web-1 --previous           the run before the last restart
  wctl logs web-1 --since 5m --timestamps")]
pub struct Args {
    /// POD, TYPE/NAME (deploy/web, job/ci, ds/agent, rs/web-abc), or nothing with -l.
    #[arg(value_name = "POD|TYPE/NAME")]
    target: Option<String>,
    /// The container [default: the pod's only or default one].
    #[arg(short = 'c', long, value_name = "NAME")]
    container: Option<String>,
    /// Every container of each pod.
    #[arg(long)]
    all_containers: bool,
    /// Keep printing as the guests print, and follow pods that appear later.
    #[arg(short = 'f', long)]
    follow: bool,
    /// Only the last N lines of each (-1: all).
    #[arg(long, value_name = "N", default_value_t = -1, allow_hyphen_values = true)]
    tail: i64,
    /// Only lines newer than this (e.g. 5m).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    since: Option<Duration>,
    /// The run before the last restart.
    #[arg(short = 'p', long)]
    previous: bool,
    /// Each line with when it was printed.
    #[arg(long)]
    timestamps: bool,
    /// Pods whose labels match.
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    selector: Option<String>,
    /// Prefix each line with its pod and container [default: when there are several].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    prefix: Option<bool>,
}

/// Which pods to read.
enum Source {
    /// One pod by name.
    Pod(String),
    /// The pods matching a selector; `job` is the Job they belong to, so following ends with it.
    Selector { selector: String, job: Option<Box<(ResourceType, String)>>, workload: bool },
}

pub async fn run(args: Args, connect: &ConnectArgs) -> anyhow::Result<()> {
    let cluster = connect.connect().await?;
    let source = source(&cluster, &args).await?;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let params = LogParams {
        follow: args.follow,
        tail_lines: (args.tail >= 0).then_some(args.tail),
        since_seconds: args.since.map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        previous: args.previous,
        timestamps: args.timestamps,
        ..Default::default()
    };
    let (selector, job, workload) = match source {
        Source::Pod(name) => {
            let pod = pods.get(&name).await.map_err(|e| cluster.explain(e))?;
            let streams = streams_of(&pod, &args);
            let prefix = args.prefix.unwrap_or(streams.len() > 1);
            let (sender, receiver) = mpsc::unbounded_channel();
            for container in streams {
                spawn_stream(&cluster, &pods, &pod, container, prefix, &params, sender.clone());
            }
            drop(sender);
            return print_lines(receiver).await;
        }
        Source::Selector { selector, job, workload } => (selector, job, workload),
    };
    let (sender, receiver) = mpsc::unbounded_channel();
    let printer = tokio::spawn(print_lines(receiver));
    let mut started = HashSet::new();
    loop {
        let mut list =
            pods.list(&ListParams::default().labels(&selector)).await.map_err(|e| cluster.explain(e))?.items;
        list.sort_by_key(|p| (completion_index(p).unwrap_or(-1), p.metadata.name.clone()));
        if started.is_empty() && list.is_empty() && !args.follow {
            drop(sender);
            let _ = printer.await;
            bail!("no pods found for {}", if workload { "it" } else { selector.as_str() });
        }
        let prefix = args.prefix.unwrap_or(workload || list.len() > 1 || args.follow);
        for pod in &list {
            let name = pod.metadata.name.clone().unwrap_or_default();
            if started.contains(&name) || !has_started(pod) {
                continue;
            }
            started.insert(name);
            for container in streams_of(pod, &args) {
                if args.follow {
                    spawn_stream(&cluster, &pods, pod, container, prefix, &params, sender.clone());
                } else {
                    // One pod after another, so each pod's lines stay together.
                    let (one, lines) = mpsc::unbounded_channel();
                    spawn_stream(&cluster, &pods, pod, container, prefix, &params, one);
                    forward(lines, &sender).await;
                }
            }
        }
        if !args.follow {
            break;
        }
        if let Some((rt, name)) = job.as_deref()
            && job_finished(&cluster, rt, name).await?
            && list.iter().all(has_started)
        {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    drop(sender);
    printer.await.map_err(|e| anyhow::anyhow!("printing logs failed: {e}"))?
}

async fn forward(
    mut from: mpsc::UnboundedReceiver<anyhow::Result<String>>,
    to: &mpsc::UnboundedSender<anyhow::Result<String>>,
) {
    while let Some(line) = from.recv().await {
        let _ = to.send(line);
    }
}

/// What the positional argument and `-l` name.
async fn source(cluster: &Cluster, args: &Args) -> anyhow::Result<Source> {
    match (&args.target, &args.selector) {
        (Some(_), Some(_)) => bail!("name a pod or workload, or select pods with -l, not both"),
        (None, None) => bail!("name a pod (or TYPE/NAME), or select pods with -l"),
        (None, Some(selector)) => {
            Ok(Source::Selector { selector: selector.clone(), job: None, workload: false })
        }
        (Some(target), None) => {
            let Some((kind, name)) = target.split_once('/') else { return Ok(Source::Pod(target.clone())) };
            let catalog = cluster.catalog().await?;
            let rt = catalog.resolve(kind)?;
            if rt.kind == "Pod" {
                return Ok(Source::Pod(name.to_owned()));
            }
            let object = super::get_object(cluster, rt, Some(&cluster.namespace), name).await?;
            let selector = workloads::pod_selector(&object)
                .ok_or_else(|| anyhow::anyhow!("{target} selects no pods: it has no selector"))?;
            let job = (rt.kind == "Job").then(|| Box::new((rt.clone(), name.to_owned())));
            Ok(Source::Selector { selector, job, workload: true })
        }
    }
}

/// The containers to read of a pod: `-c`, every one with `--all-containers`, else the server's choice (`None`).
fn streams_of(pod: &Pod, args: &Args) -> Vec<Option<String>> {
    if let Some(container) = &args.container {
        return vec![Some(container.clone())];
    }
    if args.all_containers {
        let containers =
            pod.spec.as_ref().map(|s| s.containers.iter().map(|c| Some(c.name.clone())).collect());
        return containers.unwrap_or_default();
    }
    vec![None]
}

fn completion_index(pod: &Pod) -> Option<i64> {
    pod.metadata.annotations.as_ref()?.get(COMPLETION_INDEX)?.parse().ok()
}

/// Whether a pod's guests have started (so it has logs to read).
fn has_started(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("Pending");
    phase != "Pending"
}

async fn job_finished(cluster: &Cluster, rt: &ResourceType, name: &str) -> anyhow::Result<bool> {
    let job = super::get_object(cluster, rt, Some(&cluster.namespace), name).await?;
    Ok(matches!(workloads::progress("Job", &job), Some(Progress::Done(_) | Progress::Failed(_))))
}

/// `[pod/ci-2-x7k2q index=2]` or `[pod/web-1/web]`.
fn prefix_of(pod: &Pod, container: Option<&str>) -> String {
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let mut prefix = format!("[pod/{name}");
    if let Some(container) = container {
        prefix.push('/');
        prefix.push_str(container);
    }
    if let Some(index) = completion_index(pod) {
        let _ = write!(prefix, " index={index}");
    }
    prefix.push_str("] ");
    prefix
}

/// Reads one container's log in the background, sending each line (with its prefix) to `lines`.
fn spawn_stream(
    cluster: &Cluster,
    pods: &Api<Pod>,
    pod: &Pod,
    container: Option<String>,
    prefix: bool,
    params: &LogParams,
    lines: mpsc::UnboundedSender<anyhow::Result<String>>,
) {
    let (cluster, pods) = (cluster.clone(), pods.clone());
    let name = pod.metadata.name.clone().unwrap_or_default();
    let prefix = if prefix { prefix_of(pod, container.as_deref()) } else { String::new() };
    let params = LogParams { container, ..params.clone() };
    tokio::spawn(async move {
        let stream = match pods.log_stream(&name, &params).await {
            Ok(stream) => stream,
            Err(e) => {
                let _ = lines.send(Err(cluster.explain(e)));
                return;
            }
        };
        let mut stream = stream.lines();
        loop {
            match stream.try_next().await {
                Ok(Some(line)) => {
                    if lines.send(Ok(format!("{prefix}{line}"))).is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    let _ = lines.send(Err(anyhow::anyhow!("reading the log of pod {name}: {e}")));
                    return;
                }
            }
        }
    });
}

/// Prints lines until every sender is gone; the first error is the result, after the rest is printed.
async fn print_lines(mut lines: mpsc::UnboundedReceiver<anyhow::Result<String>>) -> anyhow::Result<()> {
    use std::io::Write;
    let mut failure = None;
    while let Some(line) = lines.recv().await {
        match line {
            // A closed pipe (`| head`) ends the output, not in a panic.
            Ok(line) => {
                if writeln!(std::io::stdout(), "{line}").is_err() {
                    return Ok(());
                }
            }
            Err(e) if failure.is_none() => failure = Some(e),
            Err(e) => eprintln!("error: {e:#}"),
        }
    }
    failure.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_name_the_pod_container_and_index() {
        let pod: Pod = serde_json::from_value(serde_json::json!({"metadata": {"name": "ci-2-abc",
            "annotations": {COMPLETION_INDEX: "2"}}}))
        .unwrap();
        assert_eq!(prefix_of(&pod, None), "[pod/ci-2-abc index=2] ");
        assert_eq!(prefix_of(&pod, Some("tests")), "[pod/ci-2-abc/tests index=2] ");
    }
}
