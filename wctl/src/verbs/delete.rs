//! `wctl delete`: objects by name, by manifest, by label or all of a type, with kubectl's cascading policies, and
//! by default waiting until they are gone.

use std::time::Duration;

use anyhow::bail;
use kube::api::{DeleteParams, PropagationPolicy};
use serde_json::Value;

use super::{list_params, parse_duration, scope, select};
use crate::client::manifests;
use crate::client::{Cluster, ConnectArgs, ResourceType};

/// Arguments of `wctl delete`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  wctl delete pod web-1                    one object
  wctl delete deploy/web svc/web           several, by TYPE/NAME
  wctl delete -f app.yaml                  what a manifest describes
  wctl delete pods -l app=web              by label
  wctl delete jobs --all -n ci             every object of a type
  wctl delete deploy web --cascade=orphan  keep its ReplicaSets and pods")]
pub struct Args {
    /// TYPE NAME..., TYPE/NAME..., or TYPE with -l or --all.
    #[arg(value_name = "RESOURCE")]
    resources: Vec<String>,
    /// Delete what these manifests describe (files, directories, `-`, URLs).
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    files: Vec<String>,
    /// Read directories' subdirectories too.
    #[arg(short = 'R', long)]
    recursive: bool,
    /// Objects whose labels match.
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    selector: Option<String>,
    /// Every object of the type.
    #[arg(long)]
    all: bool,
    /// In every namespace.
    #[arg(short = 'A', long)]
    all_namespaces: bool,
    /// What happens to dependents: background (deleted after the owner), foreground (before it) or orphan (kept).
    #[arg(long, default_value = "background", value_parser = ["background", "foreground", "orphan"])]
    cascade: String,
    /// Wait until the objects are gone (`--wait=false` to return at once).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    wait: bool,
    /// Give up waiting after this long.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    timeout: Option<Duration>,
    /// Succeed when a named object does not exist [default: on with -l or --all, whose objects may go
    /// meanwhile].
    #[arg(long)]
    ignore_not_found: bool,
}

pub async fn run(args: Args, connect: &ConnectArgs) -> anyhow::Result<()> {
    let cluster = connect.connect().await?;
    let catalog = cluster.catalog().await?;
    let mut doomed: Vec<(ResourceType, Option<String>, String)> = Vec::new();
    if args.files.is_empty() {
        for (rt, names) in select(&catalog, &args.resources)? {
            let namespace = scope(&cluster, &rt, args.all_namespaces);
            if !names.is_empty() {
                if args.selector.is_some() || args.all {
                    bail!("name objects or select them with -l/--all, not both");
                }
                doomed.extend(names.into_iter().map(|n| (rt.clone(), namespace.map(str::to_owned), n)));
                continue;
            }
            if args.selector.is_none() && !args.all {
                bail!("resource(s) were provided, but no name was specified: name them, or use -l or --all");
            }
            let params = list_params(args.selector.as_deref(), None);
            for object in super::list_objects(&cluster, &rt, namespace, &params).await? {
                let text = |p: &str| object.pointer(p).and_then(Value::as_str).map(str::to_owned);
                let name = text("/metadata/name").unwrap_or_default();
                doomed.push((rt.clone(), text("/metadata/namespace"), name));
            }
        }
    } else {
        if !args.resources.is_empty() {
            bail!("name objects either with -f or as arguments, not both");
        }
        let manifests = manifests::read(&args.files, args.recursive).await?;
        for target in manifests::resolve(manifests, &catalog, &cluster)? {
            doomed.push((target.rt.clone(), target.namespace.clone(), target.manifest.name().to_owned()));
        }
    }
    let params = DeleteParams {
        propagation_policy: Some(match args.cascade.as_str() {
            "foreground" => PropagationPolicy::Foreground,
            "orphan" => PropagationPolicy::Orphan,
            _ => PropagationPolicy::Background,
        }),
        ..Default::default()
    };
    if doomed.is_empty() {
        eprintln!("{}", super::nothing_found(Some(&cluster.namespace)));
        return Ok(());
    }
    let ignore_not_found = args.ignore_not_found || args.selector.is_some() || args.all;
    let mut gone = Vec::new();
    let mut failure = None;
    for (rt, namespace, name) in doomed {
        match cluster.api(&rt, namespace.as_deref()).delete(&name, &params).await {
            Ok(_) => {
                outln!("{} {name:?} deleted", rt.qualified_name());
                gone.push((rt, namespace, name));
            }
            Err(kube::Error::Api(status)) if status.code == 404 && ignore_not_found => {}
            Err(e) => {
                // Every failure is reported; the last one is the command's error line.
                if let Some(earlier) = failure.replace(cluster.explain(e)) {
                    eprintln!("error: {earlier}");
                }
            }
        }
    }
    if args.wait {
        wait_until_gone(&cluster, &gone, args.timeout).await?;
    }
    failure.map_or(Ok(()), Err)
}

/// Waits until none of the objects exists any more (finalizers and foreground deletion take a while).
pub async fn wait_until_gone(
    cluster: &Cluster,
    objects: &[(ResourceType, Option<String>, String)],
    timeout: Option<Duration>,
) -> anyhow::Result<()> {
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    for (rt, namespace, name) in objects {
        let api = cluster.api(rt, namespace.as_deref());
        while api.get_opt(name).await.map_err(|e| cluster.explain(e))?.is_some() {
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                bail!("timed out waiting for {}/{name} to be deleted", rt.qualified_name());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}
