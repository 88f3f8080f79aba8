//! `wctl events`: what happened in a namespace (or about one object), oldest first, as `kubectl events` prints it.

use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, DynamicObject, ListParams, WatchEvent, WatchParams};
use serde_json::Value;

use crate::client::ConnectArgs;
use crate::client::output::{align, align_rows, widths};

/// Arguments of `wctl events`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  wctl events                     the current namespace
  wctl events -A                  every namespace
  wctl events --for deploy/web    about one object
  wctl events --types Warning -w  warnings, and keep printing new ones")]
pub struct Args {
    /// Only events about this object, TYPE/NAME.
    #[arg(long = "for", value_name = "TYPE/NAME")]
    about: Option<String>,
    /// Only events of these types (Normal, Warning), comma separated.
    #[arg(long, value_name = "TYPES", value_delimiter = ',')]
    types: Vec<String>,
    /// Every namespace.
    #[arg(short = 'A', long)]
    all_namespaces: bool,
    /// After listing, print new events until interrupted.
    #[arg(short = 'w', long)]
    watch: bool,
}

pub async fn run(args: Args, connect: &ConnectArgs) -> anyhow::Result<()> {
    let cluster = connect.connect().await?;
    let catalog = cluster.catalog().await?;
    let rt = catalog.resolve("events")?.clone();
    let mut fields = Vec::new();
    if let Some(about) = &args.about {
        let Some((kind, name)) = about.split_once('/') else {
            anyhow::bail!("--for takes TYPE/NAME, e.g. deploy/web");
        };
        fields
            .push(format!("involvedObject.kind={},involvedObject.name={name}", catalog.resolve(kind)?.kind));
    }
    if let [one] = args.types.as_slice() {
        fields.push(format!("type={one}"));
    }
    let params = super::list_params(None, (!fields.is_empty()).then(|| fields.join(",")).as_deref());
    let namespace = (!args.all_namespaces).then_some(cluster.namespace.as_str());
    let mut events = super::list_objects(&cluster, &rt, namespace, &params).await?;
    events.retain(|e| wanted(e, &args.types));
    events.sort_by_key(|e| last_seen(e).unwrap_or_default());
    let header: Vec<String> = if args.all_namespaces { vec!["NAMESPACE".into()] } else { vec![] }
        .into_iter()
        .chain(["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"].map(String::from))
        .collect();
    let row = |e: &Value| {
        let text = |p: &str| e.pointer(p).and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut cells = Vec::new();
        if args.all_namespaces {
            cells.push(text("/metadata/namespace"));
        }
        cells.push(last_seen(e).map_or_else(|| "<unknown>".into(), |t| age(&t)));
        cells.extend([text("/type"), text("/reason")]);
        cells.push(format!(
            "{}/{}",
            text("/involvedObject/kind").to_lowercase(),
            text("/involvedObject/name")
        ));
        cells.push(text("/message"));
        cells
    };
    let rows: Vec<Vec<String>> = events.iter().map(row).collect();
    if rows.is_empty() && !args.watch {
        eprintln!("{}", super::nothing_found(namespace));
        return Ok(());
    }
    out!("{}", align(&header, &rows));
    if !args.watch {
        return Ok(());
    }
    let api: Api<DynamicObject> = cluster.api(&rt, namespace);
    let listed = api
        .list_metadata(&ListParams { limit: Some(1), ..params.clone() })
        .await
        .map_err(|e| cluster.explain(e))?;
    let version = listed.metadata.resource_version.unwrap_or_else(|| "0".into());
    let watch = WatchParams { field_selector: params.field_selector.clone(), ..Default::default() };
    let widths = widths(&header, &rows, true);
    let mut stream = api.watch(&watch, &version).await.map_err(|e| cluster.explain(e))?.boxed();
    while let Some(event) = stream.try_next().await.map_err(|e| cluster.explain(e))? {
        if let WatchEvent::Added(event) | WatchEvent::Modified(event) = event {
            let event = serde_json::to_value(event)?;
            if wanted(&event, &args.types) {
                out!("{}", align_rows(&[row(&event)], &widths));
            }
        }
    }
    Ok(())
}

fn wanted(event: &Value, types: &[String]) -> bool {
    types.is_empty()
        || types.iter().any(|t| event["type"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(t)))
}

/// When an event last happened: `lastTimestamp`, else its series' or its `eventTime`, else when it was made.
pub fn last_seen(event: &Value) -> Option<String> {
    [
        "/lastTimestamp",
        "/series/lastObservedTime",
        "/eventTime",
        "/firstTimestamp",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .find_map(|p| event.pointer(p).and_then(Value::as_str).filter(|t| !t.is_empty()))
    .map(str::to_owned)
}

/// How long ago a timestamp was, as kubectl prints ages: `45s`, `3m`, `2h`, `4d`.
pub fn age(timestamp: &str) -> String {
    let Ok(then) = timestamp.parse::<jiff::Timestamp>() else { return "<unknown>".into() };
    let seconds = jiff::Timestamp::now().duration_since(then).as_secs().max(0);
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}
