//! `wctl rollout`: follow, list, undo, restart, pause and resume the rollouts of Deployments (and DaemonSets for
//! status and restart), with kubectl's semantics: revisions are the ReplicaSets a Deployment controls.

use std::time::Duration;

use anyhow::{Context, bail};
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use super::parse_duration;
use crate::client::workloads::{self, Progress};
use crate::client::{Cluster, ConnectArgs, ResourceType};

/// The annotation carrying a ReplicaSet's revision.
const REVISION: &str = "deployment.kubernetes.io/revision";
/// The annotations of a Deployment an undo keeps (the rest come from the revision restored).
const KEPT_ON_UNDO: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
];

/// `wctl rollout` and its subcommands.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  wctl rollout status deploy/web          wait until it is rolled out
  wctl rollout restart deploy/web         fresh pods, one batch at a time
  wctl rollout history deploy/web         its revisions
  wctl rollout undo deploy/web            back to the previous one")]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Wait until the rollout is done, printing its progress.
    #[command(
        after_help = "Examples:\n  wctl rollout status deploy/web\n  wctl rollout status ds/agent --timeout 2m"
    )]
    Status {
        /// TYPE/NAME (deploy/web, ds/agent).
        target: String,
        /// Print the status once instead of waiting.
        #[arg(short = 'w', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
        watch: bool,
        /// Give up after this long.
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        timeout: Option<Duration>,
    },
    /// List a Deployment's revisions, or show one.
    #[command(
        after_help = "Examples:\n  wctl rollout history deploy/web\n  wctl rollout history deploy/web --revision 2"
    )]
    History {
        /// TYPE/NAME.
        target: String,
        /// Show this revision's pod template.
        #[arg(long, value_name = "N")]
        revision: Option<i64>,
    },
    /// Go back to the previous revision, or to `--to-revision`.
    #[command(
        after_help = "Examples:\n  wctl rollout undo deploy/web\n  wctl rollout undo deploy/web --to-revision 1"
    )]
    Undo {
        /// TYPE/NAME.
        target: String,
        /// The revision to go back to [default: the one before the current].
        #[arg(long, value_name = "N")]
        to_revision: Option<i64>,
    },
    /// Replace every pod with a fresh one, as a rolling update.
    #[command(after_help = "Examples:\n  wctl rollout restart deploy/web")]
    Restart {
        /// TYPE/NAME.
        target: String,
    },
    /// Stop rolling out changes until resumed.
    Pause {
        /// TYPE/NAME.
        target: String,
    },
    /// Roll out what changed while paused.
    Resume {
        /// TYPE/NAME.
        target: String,
    },
}

pub async fn run(args: Args, connect: &ConnectArgs) -> anyhow::Result<()> {
    let cluster = connect.connect().await?;
    let catalog = cluster.catalog().await?;
    let target = match &args.command {
        Command::Status { target, .. }
        | Command::History { target, .. }
        | Command::Undo { target, .. }
        | Command::Restart { target }
        | Command::Pause { target }
        | Command::Resume { target } => target,
    };
    let (kind, name) = target.split_once('/').context("name the workload as TYPE/NAME, e.g. deploy/web")?;
    let rt = catalog.resolve(kind)?.clone();
    let replicasets = catalog.resolve("replicasets.apps")?.clone();
    let rollout = Rollout { cluster: &cluster, rt: &rt, replicasets: &replicasets, name };
    let deployments_only = !matches!(&args.command, Command::Status { .. } | Command::Restart { .. });
    match rt.kind.as_str() {
        "Deployment" => {}
        "DaemonSet" if !deployments_only => {}
        _ => bail!(
            "no rollout for {}: this verb supports deployments{}",
            rt.qualified_name(),
            if deployments_only { "" } else { " and daemonsets" }
        ),
    }
    match args.command {
        Command::Status { watch, timeout, .. } => rollout.status(watch, timeout).await,
        Command::History { revision, .. } => rollout.history(revision).await,
        Command::Undo { to_revision, .. } => rollout.undo(to_revision).await,
        Command::Restart { .. } => {
            let now = jiff::Timestamp::now().to_string();
            let patch = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": now}}}}});
            rollout.patch(&patch, "restarted").await
        }
        Command::Pause { .. } => rollout.patch(&json!({"spec": {"paused": true}}), "paused").await,
        Command::Resume { .. } => rollout.patch(&json!({"spec": {"paused": null}}), "resumed").await,
    }
}

struct Rollout<'a> {
    cluster: &'a Cluster,
    rt: &'a ResourceType,
    /// Where a Deployment's revisions are.
    replicasets: &'a ResourceType,
    name: &'a str,
}

impl Rollout<'_> {
    fn label(&self) -> String {
        format!("{}/{}", self.rt.qualified_name(), self.name)
    }

    async fn object(&self) -> anyhow::Result<Value> {
        super::get_object(self.cluster, self.rt, Some(&self.cluster.namespace), self.name).await
    }

    async fn patch(&self, patch: &Value, done: &str) -> anyhow::Result<()> {
        let api = self.cluster.api(self.rt, Some(&self.cluster.namespace));
        let params = PatchParams { field_manager: Some("wctl-rollout".into()), ..Default::default() };
        api.patch(self.name, &params, &Patch::Merge(patch)).await.map_err(|e| self.cluster.explain(e))?;
        outln!("{} {done}", self.label());
        Ok(())
    }

    /// Prints kubectl's progress messages as they change until the rollout is done.
    async fn status(&self, watch: bool, timeout: Option<Duration>) -> anyhow::Result<()> {
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let mut last = String::new();
        loop {
            match workloads::progress(&self.rt.kind, &self.object().await?) {
                Some(Progress::Done(message)) => {
                    outln!("{message}");
                    return Ok(());
                }
                Some(Progress::Failed(message)) => bail!("{message}"),
                Some(Progress::Pending { message, .. }) => {
                    if message != last {
                        outln!("{message}");
                        last = message;
                    }
                }
                None => return Ok(()),
            }
            if !watch {
                return Ok(());
            }
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                bail!("timed out waiting for the rollout of {} to finish", self.label());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The ReplicaSets the Deployment controls, by revision.
    async fn revisions(&self, deployment: &Value) -> anyhow::Result<Vec<(i64, Value)>> {
        let selector = workloads::pod_selector(deployment).unwrap_or_default();
        let uid = deployment.pointer("/metadata/uid").cloned().unwrap_or_default();
        let params = ListParams::default().labels(&selector);
        let all = super::list_objects(self.cluster, self.replicasets, Some(&self.cluster.namespace), &params)
            .await?;
        let mut revisions: Vec<(i64, Value)> = all
            .into_iter()
            .filter(|rs| {
                rs.pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                    .is_some_and(|owners| owners.iter().any(|o| o["controller"] == true && o["uid"] == uid))
            })
            .filter_map(|rs| {
                let revision = rs
                    .pointer("/metadata/annotations")
                    .and_then(|a| a.get(REVISION))?
                    .as_str()?
                    .parse()
                    .ok()?;
                Some((revision, rs))
            })
            .collect();
        revisions.sort_by_key(|(revision, _)| *revision);
        Ok(revisions)
    }

    async fn history(&self, revision: Option<i64>) -> anyhow::Result<()> {
        let deployment = self.object().await?;
        let revisions = self.revisions(&deployment).await?;
        if let Some(wanted) = revision {
            let (_, rs) = revisions
                .iter()
                .find(|(r, _)| *r == wanted)
                .with_context(|| format!("unable to find the specified revision {wanted}"))?;
            outln!("{} with revision #{wanted}", self.label());
            out!("{}", serde_yaml::to_string(&template_of(rs))?);
            return Ok(());
        }
        outln!("{}", self.label());
        let rows: Vec<Vec<String>> = revisions
            .iter()
            .map(|(revision, rs)| {
                let cause =
                    rs.pointer("/metadata/annotations/kubernetes.io~1change-cause").and_then(Value::as_str);
                vec![revision.to_string(), cause.unwrap_or("<none>").to_owned()]
            })
            .collect();
        out!("{}", crate::client::output::align(&["REVISION".into(), "CHANGE-CAUSE".into()], &rows));
        Ok(())
    }

    /// Restores a revision's pod template (and its annotations), as kubectl's JSON patch does.
    async fn undo(&self, to_revision: Option<i64>) -> anyhow::Result<()> {
        let deployment = self.object().await?;
        if deployment.pointer("/spec/paused") == Some(&Value::Bool(true)) {
            bail!(
                "you cannot rollback a paused deployment; resume it first with `wctl rollout resume {}`",
                self.label()
            );
        }
        let revisions = self.revisions(&deployment).await?;
        let chosen = match to_revision.filter(|r| *r > 0) {
            Some(wanted) => revisions.iter().find(|(r, _)| *r == wanted),
            // The newest revision is the current one; the one before it is where undo goes.
            None => revisions.iter().rev().nth(1),
        };
        let Some((revision, rs)) = chosen else {
            bail!("no rollout history found for {}", self.label());
        };
        let template = template_of(rs);
        let current = deployment.pointer("/spec/template").cloned().unwrap_or_default();
        if strip_hash(current) == template {
            outln!(
                "{} skipped rollback (current template already matches revision {revision})",
                self.label()
            );
            return Ok(());
        }
        let mut annotations = serde_json::Map::new();
        let kept = deployment.pointer("/metadata/annotations").and_then(Value::as_object);
        for (key, value) in kept.into_iter().flatten() {
            if KEPT_ON_UNDO.contains(&key.as_str()) {
                annotations.insert(key.clone(), value.clone());
            }
        }
        let restored = rs.pointer("/metadata/annotations").and_then(Value::as_object);
        for (key, value) in restored.into_iter().flatten() {
            if !KEPT_ON_UNDO.contains(&key.as_str()) {
                annotations.insert(key.clone(), value.clone());
            }
        }
        let patch = json!([
            {"op": "replace", "path": "/spec/template", "value": template},
            {"op": "replace", "path": "/metadata/annotations", "value": annotations},
        ]);
        let api = self.cluster.api(self.rt, Some(&self.cluster.namespace));
        let url = format!("{}/{}?fieldManager=wctl-rollout", api.resource_url(), self.name);
        let request = http::Request::patch(url)
            .header(http::header::CONTENT_TYPE, "application/json-patch+json")
            .body(serde_json::to_vec(&patch)?)?;
        self.cluster.request_json(request).await?;
        outln!("{} rolled back", self.label());
        Ok(())
    }
}

/// A ReplicaSet's pod template without the `pod-template-hash` label the controller added.
fn template_of(rs: &Value) -> Value {
    strip_hash(rs.pointer("/spec/template").cloned().unwrap_or_default())
}

fn strip_hash(mut template: Value) -> Value {
    if let Some(labels) = template.pointer_mut("/metadata/labels").and_then(Value::as_object_mut) {
        labels.remove("pod-template-hash");
    }
    template
}
