//! `wctl run`: one pod of a wasm image; attached (`--attach`, or `--rm`) it prints what the guest prints and
//! exits with the guest's exit code, so a CI step is `wctl run tests --rm --image tests.wasm`.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use futures::{AsyncBufReadExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, LogParams};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::parse_duration;
use crate::client::{Cluster, ConnectArgs, ExitStatus};

/// Container waiting reasons after which a pod will not start by itself.
const STUCK: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerError",
    "CreateContainerConfigError",
];

/// Arguments of `wctl run`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  wctl run hello --image ./hello.wasm --rm -- world          run, print, exit with its code, delete
  wctl run tests --image tests.wasm --attach --env SUITE=smoke
  wctl run web --image http_hello.wasm --port 8080 --restart Always")]
pub struct Args {
    /// The pod's name.
    name: String,
    /// The wasm image: a name in the node's images directory, a URL, or a local file (pinned by digest; the node
    /// must see the same path, as `wctl up`'s local node does).
    #[arg(long, value_name = "IMAGE")]
    image: String,
    /// Delete the pod when it ends (implies --attach).
    #[arg(long)]
    rm: bool,
    /// Print the guest's output and exit with its exit code.
    #[arg(long, short = 'a')]
    attach: bool,
    /// Always, OnFailure or Never [default: Never when attached, else Always].
    #[arg(long, value_parser = ["Always", "OnFailure", "Never"])]
    restart: Option<String>,
    /// KEY=VALUE environment variables (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Labels, KEY=VALUE,... [default: run=NAME].
    #[arg(short = 'l', long, value_name = "LABELS")]
    labels: Option<String>,
    /// The container port to declare.
    #[arg(long)]
    port: Option<u16>,
    /// Give up waiting for the pod to end after this long (attached).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    timeout: Option<Duration>,
    /// Arguments for the guest.
    #[arg(last = true, value_name = "ARGS")]
    arguments: Vec<String>,
}

pub async fn run(args: Args, connect: &ConnectArgs) -> anyhow::Result<()> {
    let attach = args.attach || args.rm;
    let restart = args.restart.clone().unwrap_or_else(|| if attach { "Never" } else { "Always" }.into());
    if attach && restart == "Always" {
        bail!("an attached pod must end: use --restart Never or OnFailure");
    }
    let mut labels = serde_json::Map::new();
    match &args.labels {
        Some(text) => {
            for pair in text.split(',') {
                let (k, v) =
                    pair.split_once('=').with_context(|| format!("label {pair:?} is not KEY=VALUE"))?;
                labels.insert(k.to_owned(), v.into());
            }
        }
        None => {
            labels.insert("run".into(), args.name.clone().into());
        }
    }
    let env: Vec<serde_json::Value> = args
        .env
        .iter()
        .map(|pair| {
            let (k, v) = pair.split_once('=').with_context(|| format!("--env {pair:?} is not KEY=VALUE"))?;
            Ok(json!({"name": k, "value": v}))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut container = json!({"name": args.name, "image": image_reference(&args.image)?});
    if !args.arguments.is_empty() {
        container["args"] = json!(args.arguments);
    }
    if !env.is_empty() {
        container["env"] = json!(env);
    }
    if let Some(port) = args.port {
        container["ports"] = json!([{"containerPort": port}]);
    }
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": args.name, "labels": labels},
        "spec": {"restartPolicy": restart, "containers": [container]}});
    let cluster = connect.connect().await?;
    super::create::create(&cluster, pod, false).await?;
    if !attach {
        outln!("pod/{} created", args.name);
        return Ok(());
    }
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let outcome = tokio::select! {
        outcome = attached(&cluster, &pods, &args.name, args.timeout) => outcome,
        () = crate::cmd::up::shutdown_signal() => Err(ExitStatus(130).into()),
    };
    if args.rm {
        let deleted = pods.delete(&args.name, &DeleteParams::default()).await;
        if let Err(e) = deleted.map_err(|e| cluster.explain(e)) {
            eprintln!("error: pod {} was not deleted: {e}", args.name);
        }
    }
    match outcome? {
        0 => Ok(()),
        code => Err(ExitStatus(u8::try_from(code).unwrap_or(1)).into()),
    }
}

/// Streams the pod's output until it ends and returns its exit code.
async fn attached(
    cluster: &Cluster,
    pods: &Api<Pod>,
    name: &str,
    timeout: Option<Duration>,
) -> anyhow::Result<i32> {
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let timed_out = || deadline.is_some_and(|d| tokio::time::Instant::now() >= d);
    loop {
        let pod = pods.get(name).await.map_err(|e| cluster.explain(e))?;
        if let Some(reason) = stuck(&pod) {
            bail!("pod {name} cannot start: {reason}");
        }
        if pod.status.as_ref().and_then(|s| s.phase.as_deref()).is_some_and(|p| p != "Pending") {
            break;
        }
        if timed_out() {
            bail!("timed out waiting for pod {name} to start");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let params = LogParams { follow: true, ..Default::default() };
    let mut lines = pods.log_stream(name, &params).await.map_err(|e| cluster.explain(e))?.lines();
    while let Some(line) = lines.try_next().await.context("reading the pod's output")? {
        outln!("{line}");
    }
    loop {
        let pod = pods.get(name).await.map_err(|e| cluster.explain(e))?;
        let status = pod.status.as_ref();
        let terminated = status
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|c| c.first())
            .and_then(|c| c.state.as_ref())
            .and_then(|s| s.terminated.as_ref());
        match (status.and_then(|s| s.phase.as_deref()), terminated) {
            (Some("Succeeded" | "Failed"), Some(terminated)) => return Ok(terminated.exit_code),
            (Some("Succeeded"), None) => return Ok(0),
            (Some("Failed"), None) => return Ok(1),
            _ => {}
        }
        if timed_out() {
            bail!("timed out waiting for pod {name} to end");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Why a pod's container will not start by itself, if it will not.
fn stuck(pod: &Pod) -> Option<String> {
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    statuses.iter().find_map(|c| {
        let waiting = c.state.as_ref()?.waiting.as_ref()?;
        let reason = waiting.reason.as_deref()?;
        STUCK
            .contains(&reason)
            .then(|| format!("{reason}: {}", waiting.message.as_deref().unwrap_or_default()))
    })
}

/// An image as given, or, for a local file, its absolute `file://` URL pinned by its digest, so the node runs
/// exactly these bytes.
pub fn image_reference(image: &str) -> anyhow::Result<String> {
    let path = Path::new(image);
    if image.contains("://") || !path.is_file() {
        return Ok(image.to_owned());
    }
    let absolute = path.canonicalize().with_context(|| format!("cannot resolve {image}"))?;
    let bytes = std::fs::read(&absolute).with_context(|| format!("cannot read {image}"))?;
    Ok(format!("file://{}@sha256:{}", absolute.display(), hex::encode(Sha256::digest(&bytes))))
}

#[cfg(test)]
mod tests {
    use super::image_reference;

    #[test]
    fn local_files_are_pinned_and_names_pass_through() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hello.wasm");
        std::fs::write(&file, b"\0asm").unwrap();
        let reference = image_reference(&file.display().to_string()).unwrap();
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"\0asm"));
        let absolute = file.canonicalize().unwrap();
        assert_eq!(reference, format!("file://{}@sha256:{digest}", absolute.display()));
        assert_eq!(image_reference("hello.wasm").unwrap(), "hello.wasm");
        assert_eq!(image_reference("https://example.com/a.wasm").unwrap(), "https://example.com/a.wasm");
    }
}
