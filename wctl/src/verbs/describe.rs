//! `wctl describe`: an object for people: its identity, owners, every set field of its spec and status as an
//! indented outline, its conditions as a table, and the events about it.

use std::fmt::Write;

use kube::api::ListParams;
use serde_json::Value;

use super::{list_params, scope, select};
use crate::client::output::{align, labels_text};
use crate::client::{Cluster, ConnectArgs, ResourceType};

/// Arguments of `wctl describe`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  wctl describe pod web-1
  wctl describe deploy/web
  wctl describe pods -l app=web        every pod with the label
  wctl describe nodes                  every node")]
pub struct Args {
    /// TYPE [NAME...] or TYPE/NAME...
    #[arg(required = true, value_name = "RESOURCE")]
    resources: Vec<String>,
    /// Objects whose labels match.
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    selector: Option<String>,
    /// In every namespace.
    #[arg(short = 'A', long)]
    all_namespaces: bool,
}

pub async fn run(args: Args, connect: &ConnectArgs) -> anyhow::Result<()> {
    let cluster = connect.connect().await?;
    let catalog = cluster.catalog().await?;
    let events = catalog.resolve("events")?.clone();
    let mut first = true;
    for (rt, names) in select(&catalog, &args.resources)? {
        let namespace = scope(&cluster, &rt, args.all_namespaces);
        let objects = if names.is_empty() {
            super::list_objects(&cluster, &rt, namespace, &list_params(args.selector.as_deref(), None))
                .await?
        } else {
            let mut objects = Vec::new();
            for name in &names {
                objects.push(super::get_object(&cluster, &rt, namespace, name).await?);
            }
            objects
        };
        for object in objects {
            if !first {
                outln!();
            }
            first = false;
            out!("{}", describe(&object, &rt, &about(&cluster, &events, &object).await?));
        }
    }
    if first {
        eprintln!("{}", super::nothing_found(Some(&cluster.namespace)));
    }
    Ok(())
}

/// The events whose involved object is `object`, oldest first.
async fn about(cluster: &Cluster, events: &ResourceType, object: &Value) -> anyhow::Result<Vec<Value>> {
    let text = |p: &str| object.pointer(p).and_then(Value::as_str).unwrap_or_default();
    let fields = format!(
        "involvedObject.name={},involvedObject.uid={}",
        text("/metadata/name"),
        text("/metadata/uid")
    );
    let namespace = object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default");
    let mut found =
        super::list_objects(cluster, events, Some(namespace), &ListParams::default().fields(&fields)).await?;
    found.sort_by_key(|e| super::events::last_seen(e).unwrap_or_default());
    Ok(found)
}

/// The description of one object.
pub fn describe(object: &Value, rt: &ResourceType, events: &[Value]) -> String {
    let mut out = String::new();
    let meta = &object["metadata"];
    let text = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or_default().to_owned();
    let _ = writeln!(out, "Name:           {}", text(meta, "/name"));
    if rt.namespaced {
        let _ = writeln!(out, "Namespace:      {}", text(meta, "/namespace"));
    }
    let _ = writeln!(out, "Kind:           {}", rt.qualified_name());
    let _ = writeln!(
        out,
        "Labels:         {}",
        labels_text(meta.get("labels")).replace(',', "\n                ")
    );
    let annotations = labels_text(meta.get("annotations"));
    let _ = writeln!(out, "Annotations:    {}", annotations.replace(',', "\n                "));
    let _ = writeln!(out, "Created:        {}", text(meta, "/creationTimestamp"));
    for owner in meta.get("ownerReferences").and_then(Value::as_array).into_iter().flatten() {
        let controller = if owner["controller"] == true { "Controlled By:  " } else { "Owned By:       " };
        let _ = writeln!(out, "{controller}{}/{}", text(owner, "/kind"), text(owner, "/name"));
    }
    if let Some(deleted) = meta.get("deletionTimestamp").and_then(Value::as_str) {
        let _ = writeln!(out, "Deleting since: {deleted}");
    }
    for (title, section) in [("Spec", "spec"), ("Status", "status"), ("Data", "data")] {
        let Some(value) = object.get(section).filter(|v| !is_empty(v)) else { continue };
        let _ = writeln!(out, "{title}:");
        outline(value, 1, &mut out, section == "status");
    }
    if let Some(conditions) = object.pointer("/status/conditions").and_then(Value::as_array) {
        let _ = writeln!(out, "Conditions:");
        let header: Vec<String> = ["Type", "Status", "Reason", "Message"].map(String::from).to_vec();
        let rows: Vec<Vec<String>> = conditions
            .iter()
            .map(|c| {
                ["type", "status", "reason", "message"].iter().map(|f| text(c, &format!("/{f}"))).collect()
            })
            .collect();
        out.push_str(&indent(&align(&header, &rows), 2));
    }
    out.push_str("Events:");
    if events.is_empty() {
        out.push_str("         <none>\n");
    } else {
        out.push('\n');
        let header: Vec<String> =
            ["Type", "Reason", "Last Seen", "From", "Message"].map(String::from).to_vec();
        let rows: Vec<Vec<String>> = events
            .iter()
            .map(|e| {
                let from = e.pointer("/source/component").or(e.pointer("/reportingComponent"));
                vec![
                    text(e, "/type"),
                    text(e, "/reason"),
                    super::events::last_seen(e).map(|t| super::events::age(&t)).unwrap_or_default(),
                    from.and_then(Value::as_str).unwrap_or_default().to_owned(),
                    text(e, "/message"),
                ]
            })
            .collect();
        out.push_str(&indent(&align(&header, &rows), 2));
    }
    out
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines().fold(String::new(), |mut out, line| {
        let _ = writeln!(out, "{pad}{line}");
        out
    })
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// Every set field under `value`, one per line, nested by indentation; lists of objects as `-` items. Conditions
/// are left to their own table.
fn outline(value: &Value, depth: usize, out: &mut String, in_status: bool) {
    outline_keys(value, depth, out, in_status, false);
}

/// Fields whose keys are the user's (labels, quantities, data), printed as written rather than titled.
const USER_KEYED: &[&str] = &[
    "labels",
    "annotations",
    "matchLabels",
    "nodeSelector",
    "limits",
    "requests",
    "data",
    "selector",
    "capacity",
    "allocatable",
    "stringData",
];

fn outline_keys(value: &Value, depth: usize, out: &mut String, in_status: bool, verbatim: bool) {
    let pad = "  ".repeat(depth);
    let name = |key: &str| if verbatim { key.to_owned() } else { title(key) };
    match value {
        Value::Object(fields) => {
            for (key, child) in fields {
                if is_empty(child) || (in_status && depth == 1 && key == "conditions") {
                    continue;
                }
                match child {
                    Value::Object(_) | Value::Array(_) if !is_scalar_list(child) => {
                        let _ = writeln!(out, "{pad}{}:", name(key));
                        outline_keys(child, depth + 1, out, in_status, USER_KEYED.contains(&key.as_str()));
                    }
                    _ => {
                        let _ = writeln!(out, "{pad}{}: {}", name(key), scalar(child));
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                let mut nested = String::new();
                outline_keys(item, depth + 1, &mut nested, in_status, false);
                let trimmed = nested.trim_start();
                let _ = write!(out, "{pad}- {}", if trimmed.is_empty() { "\n" } else { trimmed });
                if !trimmed.ends_with('\n') {
                    out.push('\n');
                }
            }
        }
        other => {
            let _ = writeln!(out, "{pad}{}", scalar(other));
        }
    }
}

fn is_scalar_list(value: &Value) -> bool {
    value.as_array().is_some_and(|items| items.iter().all(|i| !i.is_object() && !i.is_array()))
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// `containerPort` → `Container Port`, as kubectl's describe titles fields.
fn title(key: &str) -> String {
    let mut out = String::new();
    let mut previous: Option<char> = None;
    for c in key.chars() {
        match previous {
            None => out.extend(c.to_uppercase()),
            Some(p) if c.is_uppercase() && p.is_lowercase() => {
                out.push(' ');
                out.push(c);
            }
            Some(_) => out.push(c),
        }
        previous = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_read_as_titled_outlines() {
        assert_eq!(title("containerPort"), "Container Port");
        assert_eq!(title("podIP"), "Pod IP");
        let mut out = String::new();
        outline(
            &json!({"replicas": 3, "template": {"spec": {"containers": [{"name": "web", "args": ["a", "b"]}]}}, "empty": {}}),
            1,
            &mut out,
            false,
        );
        assert_eq!(
            out,
            "  Replicas: 3\n  Template:\n    Spec:\n      Containers:\n        - Args: a, b\n          Name: web\n"
        );
    }

    #[test]
    fn descriptions_show_owners_conditions_and_events() {
        let rt = ResourceType {
            group: String::new(),
            version: "v1".into(),
            kind: "Pod".into(),
            plural: "pods".into(),
            singular: "pod".into(),
            short_names: vec![],
            categories: vec![],
            namespaced: true,
            verbs: vec![],
            subresources: vec![],
        };
        let pod = json!({"metadata": {"name": "web-1", "namespace": "demo", "labels": {"app": "web"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": "web-abc", "controller": true}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        let events = [
            json!({"type": "Normal", "reason": "Scheduled", "message": "assigned to local", "source": {"component": "scheduler"}}),
        ];
        let text = describe(&pod, &rt, &events);
        assert!(text.contains("Controlled By:  ReplicaSet/web-abc\n"), "{text}");
        assert!(text.contains("Status:\n  Phase: Running\n"), "{text}");
        assert!(text.contains("  Type    Status"), "{text}");
        assert!(text.contains("Normal   Scheduled"), "{text}");
    }
}
