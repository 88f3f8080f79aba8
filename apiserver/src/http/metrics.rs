//! `metrics.k8s.io/v1beta1`: node and pod usage for `kubectl top`, gathered on request from the node agents.
//!
//! Kubernetes serves this API from metrics-server, which scrapes every kubelet's summary. Wharf's API server
//! asks the agents directly: each serves the kubelet's `GET /stats/summary` shape (`node.cpu.usageNanoCores`,
//! `node.memory.workingSetBytes`, and the same per pod and container), and the answers become `NodeMetrics` and
//! `PodMetrics`. An agent that does not answer is left out, as metrics-server leaves out unscraped nodes.

use http_body_util::BodyExt;
use serde_json::{Value, json};

use super::agent;
use super::query::Query;
use crate::error::{ApiError, Result};
use crate::registry::{ListOptions, Registry, kinds};

/// The group and version served.
pub const GROUP: &str = "metrics.k8s.io";
/// The version served.
pub const VERSION: &str = "v1beta1";
/// The window the usage figures describe, as metrics-server reports it.
const WINDOW: &str = "10s";

/// Discovery's view of the two resources: (plural, singular, kind, namespaced).
pub const RESOURCES: &[(&str, &str, &str, bool)] =
    &[("nodes", "", "NodeMetrics", false), ("pods", "", "PodMetrics", true)];

/// Serves a GET under `/apis/metrics.k8s.io/v1beta1/`; `rest` is the path after it.
pub async fn serve(
    registry: &Registry,
    agents: &agent::AgentClient,
    rest: &[&str],
    query: &Query,
) -> Result<Value> {
    let summaries = summaries(registry, agents).await?;
    let labels = query
        .list_options(kinds::by_plural("", "v1", "pods").ok_or_else(|| ApiError::internal("no pods"))?)?;
    let pod_labels = |ns: &str, name: &str| -> bool {
        let Some(selector) = &labels.labels else { return true };
        let pods = kinds::by_plural("", "v1", "pods");
        pods.and_then(|rt| registry.get(rt, Some(ns), name).ok())
            .is_some_and(|p| selector.matches(&p.select.labels))
    };
    match rest {
        ["nodes"] => Ok(list("NodeMetricsList", summaries.iter().map(node_metrics).collect())),
        ["nodes", name] => summaries
            .iter()
            .find(|s| s.pointer("/node/nodeName").and_then(Value::as_str) == Some(name))
            .map(node_metrics)
            .ok_or_else(|| not_found("nodemetrics", name)),
        ["pods"] => Ok(list("PodMetricsList", pod_metrics(&summaries, None, None, &pod_labels))),
        ["namespaces", ns, "pods"] => {
            Ok(list("PodMetricsList", pod_metrics(&summaries, Some(ns), None, &pod_labels)))
        }
        ["namespaces", ns, "pods", name] => pod_metrics(&summaries, Some(ns), Some(name), &|_, _| true)
            .into_iter()
            .next()
            .ok_or_else(|| not_found("podmetrics", name)),
        _ => Err(ApiError::no_route(&format!("/apis/{GROUP}/{VERSION}/{}", rest.join("/")))),
    }
}

/// Every reachable agent's summary.
async fn summaries(registry: &Registry, agents: &agent::AgentClient) -> Result<Vec<Value>> {
    let nodes = kinds::by_plural("", "v1", "nodes").ok_or_else(|| ApiError::internal("no nodes kind"))?;
    let page = registry.list(nodes, None, &ListOptions::default())?;
    let asks = page.items.iter().filter_map(|node| {
        let node = node.value();
        let endpoint = agent::endpoint(&node)?;
        let name = node.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_owned();
        Some(async move {
            let response = agents.get(&name, &endpoint, "/stats/summary").await.ok()?;
            if !response.status().is_success() {
                return None;
            }
            let bytes = response.into_body().collect().await.ok()?.to_bytes();
            let mut summary: Value = serde_json::from_slice(&bytes).ok()?;
            summary["node"]["nodeName"] = json!(name);
            Some(summary)
        })
    });
    Ok(futures::future::join_all(asks).await.into_iter().flatten().collect())
}

fn list(kind: &str, items: Vec<Value>) -> Value {
    json!({"kind": kind, "apiVersion": format!("{GROUP}/{VERSION}"), "metadata": {}, "items": items})
}

fn not_found(resource: &str, name: &str) -> ApiError {
    ApiError {
        code: 404,
        reason: "NotFound",
        message: format!("{resource}.{GROUP} \"{name}\" not found"),
        details: Some(json!({"name": name, "group": GROUP, "kind": resource})),
    }
}

/// `{cpu, memory}` in Kubernetes quantities from a summary's `cpu`/`memory` stats.
fn usage(stats: &Value) -> Value {
    let nanocores = stats.pointer("/cpu/usageNanoCores").and_then(Value::as_u64).unwrap_or(0);
    let bytes = stats.pointer("/memory/workingSetBytes").and_then(Value::as_u64).unwrap_or(0);
    json!({"cpu": format!("{nanocores}n"), "memory": format!("{}Ki", bytes.div_ceil(1024))})
}

fn timestamp(stats: &Value) -> Value {
    stats.pointer("/cpu/time").cloned().unwrap_or_else(|| json!(crate::registry::object::now()))
}

fn node_metrics(summary: &Value) -> Value {
    let node = summary.get("node").cloned().unwrap_or_default();
    json!({
        "metadata": {"name": node.get("nodeName"), "labels": {}},
        "timestamp": timestamp(&node),
        "window": WINDOW,
        "usage": usage(&node),
    })
}

fn pod_metrics(
    summaries: &[Value],
    namespace: Option<&str>,
    name: Option<&str>,
    selected: &dyn Fn(&str, &str) -> bool,
) -> Vec<Value> {
    let mut out = Vec::new();
    for pod in summaries.iter().filter_map(|s| s.get("pods").and_then(Value::as_array)).flatten() {
        let pod_ns = pod.pointer("/podRef/namespace").and_then(Value::as_str).unwrap_or_default();
        let pod_name = pod.pointer("/podRef/name").and_then(Value::as_str).unwrap_or_default();
        if namespace.is_some_and(|ns| ns != pod_ns)
            || name.is_some_and(|n| n != pod_name)
            || !selected(pod_ns, pod_name)
        {
            continue;
        }
        let containers: Vec<Value> = pod
            .get("containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| json!({"name": c.get("name"), "usage": usage(c)}))
            .collect();
        out.push(json!({
            "metadata": {"name": pod_name, "namespace": pod_ns, "labels": {}},
            "timestamp": timestamp(pod),
            "window": WINDOW,
            "containers": containers,
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_become_metrics_objects() {
        let summary = json!({"node": {"nodeName": "n1", "cpu": {"time": "2026-01-01T00:00:00Z", "usageNanoCores": 250_000_000},
                                      "memory": {"workingSetBytes": 3_145_728}},
                             "pods": [{"podRef": {"name": "web", "namespace": "demo"},
                                       "containers": [{"name": "c", "cpu": {"usageNanoCores": 5_000_000},
                                                       "memory": {"workingSetBytes": 1000}}]}]});
        let node = node_metrics(&summary);
        assert_eq!(node["usage"], json!({"cpu": "250000000n", "memory": "3072Ki"}));
        let pods = pod_metrics(std::slice::from_ref(&summary), Some("demo"), None, &|_, _| true);
        assert_eq!(pods[0]["containers"][0]["usage"], json!({"cpu": "5000000n", "memory": "1Ki"}));
        assert!(pod_metrics(&[summary], Some("other"), None, &|_, _| true).is_empty());
    }
}
