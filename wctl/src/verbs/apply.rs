//! `wctl apply`: server-side apply of manifests (field manager `wctl`), optionally pruning what an earlier apply
//! made and is no longer in them, and waiting with live progress until the workloads are done.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::bail;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::Value;

use super::{list_params, parse_duration};
use crate::client::manifests::{self, Target};
use crate::client::output::Format;
use crate::client::progress::{self, Watched};
use crate::client::{Catalog, Cluster, ConnectArgs};

/// The field manager of everything `wctl apply` writes.
pub const FIELD_MANAGER: &str = "wctl";

/// The annotation marking what `wctl apply` wrote, so that `--prune` deletes only that (the server keeps no
/// managed fields to tell by).
pub const APPLIED_ANNOTATION: &str = "wharf.dev/applied-by";

/// Types pruned besides those applied, as kubectl's default prune allow-list.
const PRUNED_BY_DEFAULT: &[&str] = &[
    "configmaps",
    "endpoints",
    "namespaces",
    "persistentvolumeclaims",
    "persistentvolumes",
    "pods",
    "replicationcontrollers",
    "secrets",
    "services",
    "jobs.batch",
    "cronjobs.batch",
    "ingresses.networking.k8s.io",
    "daemonsets.apps",
    "deployments.apps",
    "replicasets.apps",
    "statefulsets.apps",
];

/// Arguments of `wctl apply`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  wctl apply -f app.yaml                     create or update what app.yaml describes
  wctl apply -f k8s/ -R --wait               a directory tree; wait until the rollouts are done
  cat app.yaml | wctl apply -f -             from standard input
  wctl apply -f https://example.com/app.yaml
  wctl apply -f app.yaml --dry-run=server    validated and defaulted by the server, nothing stored
  wctl apply -f app.yaml --prune -l app=web  and delete what an earlier apply made with that label")]
pub struct Args {
    /// A manifest file, a directory of them, `-` for standard input, or an http(s) URL (repeatable).
    #[arg(short = 'f', long = "filename", required = true, value_name = "FILE")]
    files: Vec<String>,
    /// Read directories' subdirectories too.
    #[arg(short = 'R', long)]
    recursive: bool,
    /// `server`: send everything for validation and defaulting, store nothing.
    #[arg(long, value_name = "MODE", value_parser = ["none", "server"])]
    dry_run: Option<String>,
    /// Take ownership of fields another manager set (kubectl's --force-conflicts; the server reports no
    /// conflicts yet, so this is accepted for scripts written for kubectl).
    #[arg(long)]
    force_conflicts: bool,
    /// Delete objects `wctl apply` made earlier that match `-l` and are no longer in the manifests.
    #[arg(long, requires = "selector")]
    prune: bool,
    /// The label selector for `--prune`.
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    selector: Option<String>,
    /// Wait until Deployments, DaemonSets and Jobs are done, showing progress; fail if one fails.
    #[arg(long)]
    wait: bool,
    /// Give up waiting after this long (e.g. 5m).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    timeout: Option<Duration>,
    /// Print the applied objects in this format (yaml, json, name...) instead of a line each.
    #[arg(short = 'o', long, value_name = "FORMAT")]
    output: Option<String>,
}

pub async fn run(args: Args, connect: &ConnectArgs) -> anyhow::Result<()> {
    let format = args.output.as_deref().map(|o| Format::parse(Some(o))).transpose()?;
    if format.as_ref().is_some_and(Format::is_table) {
        bail!("apply prints objects: use -o yaml, json, name, jsonpath=... or custom-columns=...");
    }
    let cluster = connect.connect().await?;
    let catalog = cluster.catalog().await?;
    let dry_run = args.dry_run.as_deref() == Some("server");
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.force = args.force_conflicts;
    params.dry_run = dry_run;
    let (targets, applied) =
        apply_all(&cluster, &catalog, &args.files, args.recursive, &params, format.is_none()).await?;
    if let Some(format) = &format {
        out!("{}", format.objects(&applied, applied.len() == 1)?);
    }
    if args.prune {
        prune(&cluster, &catalog, &targets, args.selector.as_deref().unwrap_or_default(), dry_run).await?;
    }
    if args.wait && !dry_run {
        let watched: Vec<Watched> = targets
            .iter()
            .filter(|t| matches!(t.rt.kind.as_str(), "Deployment" | "DaemonSet" | "StatefulSet" | "Job"))
            .map(|t| Watched {
                rt: t.rt.clone(),
                namespace: t.namespace.clone(),
                name: t.manifest.name().to_owned(),
            })
            .collect();
        progress::until_done(&cluster, &watched, args.timeout).await?;
    }
    Ok(())
}

/// Applies every object of the manifests, in order, after checking that the server serves each of them (so bad
/// input changes nothing); prints a line per object when `report`. Returns the targets and what the server made of
/// them.
pub async fn apply_all(
    cluster: &Cluster,
    catalog: &Catalog,
    sources: &[String],
    recursive: bool,
    params: &PatchParams,
    report: bool,
) -> anyhow::Result<(Vec<Target>, Vec<Value>)> {
    let manifests = manifests::read(sources, recursive).await?;
    if manifests.is_empty() {
        bail!("no objects passed to apply");
    }
    let targets = manifests::resolve(manifests, catalog, cluster)?;
    let suffix = if params.dry_run { " (server dry run)" } else { "" };
    let mut applied = Vec::new();
    for target in &targets {
        applied.push(apply_one(cluster, target, params).await?);
        if report {
            outln!("{} serverside-applied{suffix}", target.display());
        }
    }
    Ok((targets, applied))
}

async fn apply_one(cluster: &Cluster, target: &Target, params: &PatchParams) -> anyhow::Result<Value> {
    let mut object = target.manifest.object.clone();
    if let Some(namespace) = &target.namespace {
        object["metadata"]["namespace"] = namespace.clone().into();
    }
    if !object["metadata"]["annotations"].is_object() {
        object["metadata"]["annotations"] = serde_json::json!({});
    }
    object["metadata"]["annotations"][APPLIED_ANNOTATION] = FIELD_MANAGER.into();
    let api = cluster.api(&target.rt, target.namespace.as_deref());
    let applied = api.patch(target.manifest.name(), params, &Patch::Apply(&object)).await.map_err(|e| {
        anyhow::anyhow!("{}: {}: {:#}", target.manifest.source, target.display(), cluster.explain(e))
    })?;
    Ok(serde_json::to_value(applied)?)
}

/// Deletes what this field manager applied with the label selector that the manifests no longer contain.
async fn prune(
    cluster: &Cluster,
    catalog: &Catalog,
    targets: &[Target],
    selector: &str,
    dry_run: bool,
) -> anyhow::Result<()> {
    let kept: HashSet<(String, String, Option<String>, String)> = targets
        .iter()
        .map(|t| (t.rt.group.clone(), t.rt.plural.clone(), t.namespace.clone(), t.manifest.name().to_owned()))
        .collect();
    let mut namespaces: Vec<String> = targets.iter().filter_map(|t| t.namespace.clone()).collect();
    if namespaces.is_empty() {
        namespaces.push(cluster.namespace.clone());
    }
    namespaces.sort();
    namespaces.dedup();
    let mut types: Vec<_> =
        PRUNED_BY_DEFAULT.iter().filter_map(|name| catalog.resolve(name).ok().cloned()).collect();
    for target in targets {
        if !types.iter().any(|t| t.plural == target.rt.plural && t.group == target.rt.group) {
            types.push(target.rt.clone());
        }
    }
    let params = list_params(Some(selector), None);
    let mut delete = DeleteParams::background();
    delete.dry_run = dry_run;
    let suffix = if dry_run { " (server dry run)" } else { "" };
    for rt in types.iter().filter(|t| t.supports("list") && t.supports("delete")) {
        let scopes: Vec<Option<&str>> =
            if rt.namespaced { namespaces.iter().map(|n| Some(n.as_str())).collect() } else { vec![None] };
        for namespace in scopes {
            for object in super::list_objects(cluster, rt, namespace, &params).await? {
                let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
                let key =
                    (rt.group.clone(), rt.plural.clone(), namespace.map(str::to_owned), name.to_owned());
                if kept.contains(&key) || !applied_by_us(&object) {
                    continue;
                }
                cluster.api(rt, namespace).delete(name, &delete).await.map_err(|e| cluster.explain(e))?;
                outln!("{}/{name} pruned{suffix}", rt.qualified_name());
            }
        }
    }
    Ok(())
}

/// Whether `wctl apply` wrote this object.
fn applied_by_us(object: &Value) -> bool {
    object.pointer("/metadata/annotations").and_then(|a| a.get(APPLIED_ANNOTATION))
        == Some(&Value::from(FIELD_MANAGER))
}
