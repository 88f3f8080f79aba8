//! The client verbs, one module each, as kubectl names them; what several share is here.

// Command-line switches are booleans by nature.
#![allow(clippy::struct_excessive_bools)]

pub mod apply;
pub mod completion;
pub mod config;
pub mod create;
pub mod delete;
pub mod describe;
pub mod events;
pub mod get;
pub mod logs;
pub mod rollout;
pub mod run;
pub mod scale;
pub mod top;
pub mod version;
pub mod wait;

use anyhow::bail;
use kube::api::{DynamicObject, ListParams};
use serde_json::Value;

use crate::client::{Catalog, Cluster, ResourceType};

/// What positional arguments name: `TYPE[,TYPE...] [NAME...]` or `TYPE/NAME...`. An empty name list means every
/// object of the type.
pub fn select(catalog: &Catalog, args: &[String]) -> anyhow::Result<Vec<(ResourceType, Vec<String>)>> {
    let Some(first) = args.first() else {
        bail!("name a resource type, e.g. `pods`, or TYPE/NAME");
    };
    let mut selected: Vec<(ResourceType, Vec<String>)> = Vec::new();
    if first.contains('/') {
        for arg in args {
            let Some((kind, name)) = arg.split_once('/').filter(|(k, n)| !k.is_empty() && !n.is_empty())
            else {
                bail!(
                    "{arg:?}: there is no need to name a type twice: use TYPE/NAME for every argument or TYPE NAME..."
                );
            };
            let rt = catalog.resolve(kind)?;
            match selected.iter_mut().find(|(t, _)| t.plural == rt.plural && t.group == rt.group) {
                Some((_, names)) => names.push(name.to_owned()),
                None => selected.push((rt.clone(), vec![name.to_owned()])),
            }
        }
        return Ok(selected);
    }
    for kind in first.split(',') {
        let types = if kind == "all" { catalog.category("all") } else { vec![catalog.resolve(kind)?] };
        for rt in types {
            selected.push((rt.clone(), args[1..].to_vec()));
        }
    }
    if selected.len() > 1 && args.len() > 1 {
        for (rt, _) in &selected {
            if rt.plural != selected[0].0.plural {
                bail!("names cannot follow several types: use TYPE/NAME");
            }
        }
    }
    Ok(selected)
}

/// The namespace to act in: `None` (every namespace) with `-A` for namespaced types.
pub fn scope<'a>(cluster: &'a Cluster, rt: &ResourceType, all_namespaces: bool) -> Option<&'a str> {
    (rt.namespaced && !all_namespaces).then_some(cluster.namespace.as_str())
}

/// Every object of a type matching the selectors, as JSON with `apiVersion` and `kind` set.
pub async fn list_objects(
    cluster: &Cluster,
    rt: &ResourceType,
    namespace: Option<&str>,
    params: &ListParams,
) -> anyhow::Result<Vec<Value>> {
    let list = cluster.api(rt, namespace).list(params).await.map_err(|e| cluster.explain(e))?;
    list.items.into_iter().map(|o| with_type(rt, o)).collect()
}

/// One object as JSON with `apiVersion` and `kind` set.
pub async fn get_object(
    cluster: &Cluster,
    rt: &ResourceType,
    namespace: Option<&str>,
    name: &str,
) -> anyhow::Result<Value> {
    let object = cluster.api(rt, namespace).get(name).await.map_err(|e| cluster.explain(e))?;
    with_type(rt, object)
}

fn with_type(rt: &ResourceType, object: DynamicObject) -> anyhow::Result<Value> {
    let mut value = serde_json::to_value(object)?;
    value["apiVersion"] = rt.api_version().into();
    value["kind"] = rt.kind.clone().into();
    Ok(value)
}

/// Label and field selectors as list parameters.
pub fn list_params(labels: Option<&str>, fields: Option<&str>) -> ListParams {
    let mut params = ListParams::default();
    if let Some(labels) = labels {
        params = params.labels(labels);
    }
    if let Some(fields) = fields {
        params = params.fields(fields);
    }
    params
}

/// "No resources found in NAMESPACE namespace." as kubectl says it.
pub fn nothing_found(namespace: Option<&str>) -> String {
    match namespace {
        Some(namespace) => format!("No resources found in {namespace} namespace."),
        None => "No resources found".into(),
    }
}

/// A duration as kubectl takes it: `30s`, `5m`, `1h`, `1h30m`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(seconds));
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(format!("{text:?} is not a duration like 30s, 5m or 1h")),
        };
        let value: u64 =
            number.parse().map_err(|_| format!("{text:?} is not a duration like 30s, 5m or 1h"))?;
        total += value * unit;
        number.clear();
    }
    if !number.is_empty() {
        return Err(format!("{text:?} is not a duration like 30s, 5m or 1h"));
    }
    Ok(std::time::Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_parse_as_kubectl_takes_them() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        for bad in ["5x", "m", "10m5", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
