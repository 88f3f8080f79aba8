//! `wctl get`: objects as the server's Tables, or whole in any `-o` format; `-w` keeps printing changes.

use anyhow::bail;
use futures::{StreamExt, TryStreamExt};
use kube::api::{ListParams, WatchEvent, WatchParams};
use serde_json::Value;

use super::{list_params, nothing_found, scope, select};
use crate::client::output::{Format, Table, TableStyle, align_rows, widths};
use crate::client::{Cluster, ConnectArgs, ResourceType};

/// The media type of a server-side Table (with each row's object metadata for namespaces and labels).
pub const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

/// Arguments of `wctl get`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  wctl get pods                          pods of the current namespace
  wctl get deploy,svc -n demo -o wide    two types, every column
  wctl get pod/web-1 -o yaml             one object, whole
  wctl get all -A                        every workload in every namespace
  wctl get pods -l app=web -w            and keep printing changes
  wctl get pods -o jsonpath='{.items[*].status.podIP}'
  wctl get pods -o custom-columns=NAME:.metadata.name,NODE:.spec.nodeName")]
pub struct Args {
    /// TYPE[,TYPE...] [NAME...], or TYPE/NAME... (short names such as `po` and `deploy` work).
    #[arg(required = true, value_name = "RESOURCE")]
    resources: Vec<String>,
    /// Output format: wide, yaml, json, name, jsonpath=TEMPLATE, custom-columns=NAME:PATH,...
    #[arg(short = 'o', long, value_name = "FORMAT")]
    output: Option<String>,
    /// Only objects whose labels match, e.g. `app=web,tier!=db`.
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    selector: Option<String>,
    /// Only objects whose fields match, e.g. `status.phase=Running`.
    #[arg(long, value_name = "SELECTOR")]
    field_selector: Option<String>,
    /// Every namespace.
    #[arg(short = 'A', long)]
    all_namespaces: bool,
    /// After listing, print each change until interrupted.
    #[arg(short = 'w', long)]
    watch: bool,
    /// A LABELS column.
    #[arg(long)]
    show_labels: bool,
    /// No header line.
    #[arg(long)]
    no_headers: bool,
}

pub async fn run(args: Args, connect: &ConnectArgs) -> anyhow::Result<()> {
    let format = Format::parse(args.output.as_deref())?;
    let cluster = connect.connect().await?;
    let catalog = cluster.catalog().await?;
    let selected = select(&catalog, &args.resources)?;
    if args.watch && selected.len() != 1 {
        bail!("watch is only supported on one resource type at a time");
    }
    let params = list_params(args.selector.as_deref(), args.field_selector.as_deref());
    let several = selected.len() > 1;
    // One named object prints as itself; anything else as a List.
    let single = matches!(selected.as_slice(), [(_, names)] if names.len() == 1);
    let mut failures = Vec::new();
    let mut printed = false;
    let mut objects = Vec::new();
    for (rt, names) in &selected {
        let namespace = scope(&cluster, rt, args.all_namespaces);
        if format.is_table() {
            let style = TableStyle {
                wide: matches!(format, Format::Wide),
                namespace: args.all_namespaces && rt.namespaced,
                labels: args.show_labels,
                kind_prefix: several.then(|| rt.qualified_name()),
                no_headers: args.no_headers,
            };
            let table = match tables(&cluster, rt, namespace, names, &params, &mut failures).await? {
                Some(table) if !table.is_empty() => table,
                _ if args.watch => Table::default(),
                _ => continue,
            };
            if printed {
                outln!();
            }
            out!("{}", table.render(&style));
            printed = true;
            if args.watch {
                return watch(&cluster, rt, namespace, &params, names, &table, &style).await;
            }
        } else {
            for name in names {
                match super::get_object(&cluster, rt, namespace, name).await {
                    Ok(object) => objects.push(object),
                    Err(e) => failures.push(e.to_string()),
                }
            }
            if names.is_empty() {
                objects.extend(super::list_objects(&cluster, rt, namespace, &params).await?);
            }
        }
    }
    if !format.is_table() && (!objects.is_empty() || !single) {
        out!("{}", format.objects(&objects, single)?);
    }
    if !failures.is_empty() {
        for failure in &failures[..failures.len() - 1] {
            eprintln!("error: {failure}");
        }
        bail!("{}", failures[failures.len() - 1]);
    }
    if !printed && format.is_table() {
        eprintln!("{}", nothing_found(if args.all_namespaces { None } else { Some(&cluster.namespace) }));
    }
    Ok(())
}

/// The Table of the named objects (every object when `names` is empty); not-found names go to `failures`.
async fn tables(
    cluster: &Cluster,
    rt: &ResourceType,
    namespace: Option<&str>,
    names: &[String],
    params: &ListParams,
    failures: &mut Vec<String>,
) -> anyhow::Result<Option<Table>> {
    let url = cluster.api(rt, namespace).resource_url().to_owned();
    let request = kube::core::Request::new(url);
    if names.is_empty() {
        if !rt.supports("list") {
            return Ok(None);
        }
        let mut http = request.list(params)?;
        accept_table(&mut http);
        return Ok(Some(Table::from_json(&cluster.request_json(http).await?)?));
    }
    let mut table = Table::default();
    for name in names {
        let mut http = request.get(name, &kube::api::GetParams::default())?;
        accept_table(&mut http);
        match cluster.request_json(http).await {
            Ok(json) => table.extend(Table::from_json(&json)?),
            Err(e) => failures.push(e.to_string()),
        }
    }
    Ok(Some(table))
}

fn accept_table(request: &mut http::Request<Vec<u8>>) {
    request.headers_mut().insert(http::header::ACCEPT, http::HeaderValue::from_static(TABLE));
}

/// Prints a row for every change after the listed state, aligned with what was printed.
async fn watch(
    cluster: &Cluster,
    rt: &ResourceType,
    namespace: Option<&str>,
    params: &ListParams,
    names: &[String],
    listed: &Table,
    style: &TableStyle,
) -> anyhow::Result<()> {
    let url = cluster.api(rt, namespace).resource_url().to_owned();
    let mut watch_params = WatchParams::default();
    watch_params.label_selector.clone_from(&params.label_selector);
    watch_params.field_selector.clone_from(&params.field_selector);
    if let [name] = names {
        watch_params.field_selector = Some(format!("metadata.name={name}"));
    }
    let (header, rows) = listed.cells(style);
    let widths = widths(&header, &rows, true);
    let version = if listed.resource_version.is_empty() { "0" } else { &listed.resource_version };
    let mut request = kube::core::Request::new(&url).watch(&watch_params, version)?;
    accept_table(&mut request);
    let events = cluster.client.request_events::<Value>(request).await.map_err(|e| cluster.explain(e))?;
    let mut events = events.boxed();
    while let Some(event) = events.try_next().await.map_err(|e| cluster.explain(e))? {
        let table = match event {
            WatchEvent::Added(t) | WatchEvent::Modified(t) | WatchEvent::Deleted(t) => t,
            WatchEvent::Bookmark(_) => continue,
            WatchEvent::Error(status) => bail!("{}", status.message),
        };
        let (_, rows) = Table::from_json(&table)?.cells(style);
        out!("{}", align_rows(&rows, &widths));
    }
    Ok(())
}
