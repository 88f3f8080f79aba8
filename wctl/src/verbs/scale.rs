//! `wctl scale`: sets the replicas of anything with a `scale` subresource (Deployments, ReplicaSets...).

use anyhow::bail;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use super::select;
use crate::client::ConnectArgs;

/// Arguments of `wctl scale`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  wctl scale deploy/web --replicas 5
  wctl scale deployment web --replicas 0
  wctl scale deploy/web --replicas 3 --current-replicas 5   only if it has 5 now")]
pub struct Args {
    /// TYPE/NAME... or TYPE NAME...
    #[arg(required = true, value_name = "RESOURCE")]
    resources: Vec<String>,
    /// The number of replicas wanted.
    #[arg(long, value_name = "N")]
    replicas: i32,
    /// Scale only if the current number of replicas is this (a precondition).
    #[arg(long, value_name = "N")]
    current_replicas: Option<i32>,
}

pub async fn run(args: Args, connect: &ConnectArgs) -> anyhow::Result<()> {
    if args.replicas < 0 {
        bail!("--replicas must be 0 or more");
    }
    let cluster = connect.connect().await?;
    let catalog = cluster.catalog().await?;
    let selected = select(&catalog, &args.resources)?;
    for (rt, names) in &selected {
        if !rt.subresources.iter().any(|s| s == "scale") {
            bail!("{} cannot be scaled: it has no scale subresource", rt.qualified_name());
        }
        if names.is_empty() {
            bail!("name the {} to scale", rt.qualified_name());
        }
    }
    for (rt, names) in selected {
        let api = cluster.api(&rt, rt.namespaced.then_some(cluster.namespace.as_str()));
        for name in names {
            if let Some(expected) = args.current_replicas {
                let scale = api.get_scale(&name).await.map_err(|e| cluster.explain(e))?;
                let current = scale.spec.and_then(|s| s.replicas).unwrap_or(0);
                if current != expected {
                    bail!(
                        "{}/{name} has {current} replicas, not {expected}: not scaled",
                        rt.qualified_name()
                    );
                }
            }
            let patch = json!({"spec": {"replicas": args.replicas}});
            let params = PatchParams { field_manager: Some("wctl-scale".into()), ..Default::default() };
            api.patch_scale(&name, &params, &Patch::Merge(&patch)).await.map_err(|e| cluster.explain(e))?;
            outln!("{}/{name} scaled", rt.qualified_name());
        }
    }
    Ok(())
}
