//! `wctl wait`: until objects have a condition, a JSONPath value, exist, or are gone.

use std::time::Duration;

use anyhow::bail;
use serde_json::Value;

use super::{list_params, parse_duration, scope, select};
use crate::client::jsonpath::{Path, scalar_text};
use crate::client::{ConnectArgs, ResourceType};

/// Arguments of `wctl wait`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  wctl wait pod/web-1 --for condition=Ready
  wctl wait job/ci --for condition=Complete --timeout 5m
  wctl wait pods -l app=web --for jsonpath='{.status.phase}'=Running
  wctl wait deploy/old --for delete")]
pub struct Args {
    /// TYPE/NAME..., TYPE NAME..., or TYPE with -l or --all.
    #[arg(required = true, value_name = "RESOURCE")]
    resources: Vec<String>,
    /// `condition=TYPE[=STATUS]`, `jsonpath=TEMPLATE[=VALUE]`, `create` or `delete`.
    #[arg(long = "for", value_name = "CONDITION")]
    until: String,
    /// Objects whose labels match.
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    selector: Option<String>,
    /// Every object of the type.
    #[arg(long)]
    all: bool,
    /// Give up after this long.
    #[arg(long, value_parser = parse_duration, default_value = "30s", value_name = "DURATION")]
    timeout: Duration,
}

/// What to wait for.
enum Until {
    Condition { kind: String, status: String },
    JsonPath { path: Path, value: Option<String> },
    Create,
    Delete,
}

impl Until {
    fn parse(text: &str) -> anyhow::Result<Self> {
        if text == "delete" {
            return Ok(Self::Delete);
        }
        if text == "create" {
            return Ok(Self::Create);
        }
        if let Some(condition) = text.strip_prefix("condition=") {
            let (kind, status) = condition.split_once('=').unwrap_or((condition, "True"));
            if kind.is_empty() {
                bail!("--for condition= needs a condition type, e.g. condition=Ready");
            }
            return Ok(Self::Condition { kind: kind.to_owned(), status: status.to_owned() });
        }
        if let Some(rest) = text.strip_prefix("jsonpath=") {
            // The template ends at its last closing brace; `=VALUE` may follow.
            let (template, value) = match rest.rfind('}') {
                Some(end) => (&rest[..=end], rest[end + 1..].strip_prefix('=')),
                None => match rest.split_once('=') {
                    Some((t, v)) => (t, Some(v)),
                    None => (rest, None),
                },
            };
            return Ok(Self::JsonPath { path: Path::parse(template)?, value: value.map(str::to_owned) });
        }
        bail!("--for {text:?}: use condition=TYPE[=STATUS], jsonpath=TEMPLATE[=VALUE], create or delete")
    }

    fn met(&self, object: &Value) -> bool {
        match self {
            Self::Condition { kind, status } => {
                object.pointer("/status/conditions").and_then(Value::as_array).into_iter().flatten().any(
                    |c| {
                        c["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(kind))
                            && c["status"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(status))
                    },
                )
            }
            Self::JsonPath { path, value } => {
                let found = path.eval(object, object);
                match value {
                    Some(value) => found.iter().any(|v| scalar_text(v) == *value),
                    None => found.iter().any(|v| !v.is_null()),
                }
            }
            Self::Create => true,
            Self::Delete => false,
        }
    }
}

pub async fn run(args: Args, connect: &ConnectArgs) -> anyhow::Result<()> {
    let until = Until::parse(&args.until)?;
    let cluster = connect.connect().await?;
    let catalog = cluster.catalog().await?;
    let deadline = tokio::time::Instant::now() + args.timeout;
    let mut watched: Vec<(ResourceType, Option<String>, String)> = Vec::new();
    for (rt, names) in select(&catalog, &args.resources)? {
        let namespace = scope(&cluster, &rt, false).map(str::to_owned);
        if names.is_empty() {
            if args.selector.is_none() && !args.all {
                bail!("name the objects to wait for, or select them with -l or --all");
            }
            let params = list_params(args.selector.as_deref(), None);
            for object in super::list_objects(&cluster, &rt, namespace.as_deref(), &params).await? {
                let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
                watched.push((rt.clone(), namespace.clone(), name.to_owned()));
            }
        } else {
            watched.extend(names.into_iter().map(|n| (rt.clone(), namespace.clone(), n)));
        }
    }
    if watched.is_empty() {
        bail!("no matching resources found");
    }
    for (rt, namespace, name) in &watched {
        let label = format!("{}/{name}", rt.qualified_name());
        let api = cluster.api(rt, namespace.as_deref());
        loop {
            let object = api.get_opt(name).await.map_err(|e| cluster.explain(e))?;
            let done = match (&until, object) {
                (Until::Delete, None) => {
                    outln!("{label} deleted");
                    true
                }
                (Until::Delete, Some(_)) | (Until::Create, None) => false,
                (Until::Create, Some(_)) => {
                    outln!("{label} created");
                    true
                }
                (_, None) => bail!("{label} not found"),
                (until, Some(object)) => {
                    let met = until.met(&serde_json::to_value(object)?);
                    if met {
                        outln!("{label} condition met");
                    }
                    met
                }
            };
            if done {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("timed out waiting for the condition on {label}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Until;
    use serde_json::json;

    #[test]
    fn conditions_and_jsonpath_values() {
        let pod =
            json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        assert!(Until::parse("condition=Ready").unwrap().met(&pod));
        assert!(Until::parse("condition=ready=true").unwrap().met(&pod));
        assert!(!Until::parse("condition=Ready=False").unwrap().met(&pod));
        assert!(Until::parse("jsonpath={.status.phase}=Running").unwrap().met(&pod));
        assert!(!Until::parse("jsonpath={.status.phase}=Failed").unwrap().met(&pod));
        assert!(Until::parse("jsonpath={.status.phase}").unwrap().met(&pod));
        assert!(Until::parse("condition=").is_err());
        assert!(Until::parse("ready").is_err());
    }
}
