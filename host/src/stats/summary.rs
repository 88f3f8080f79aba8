//! `GET /stats/summary`: the kubelet's Summary API, the part of it metrics-server (and Wharf's API server, for
//! `kubectl top`) reads: node and per-pod, per-container `cpu.usageNanoCores` and `memory.workingSetBytes`.
//!
//! The node's figures are the agent process's own (every guest runs inside it); where the system does not tell
//! them, they are the sum of the pods'.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use super::{Meter, PodReading};

/// What the endpoint needs.
pub struct Source {
    /// The node's name.
    pub node_name: String,
    /// The pods' counters.
    pub meter: Arc<Meter>,
}

/// The summary's top level.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Summary {
    node: NodeStats,
    pods: Vec<PodStats>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
struct NodeStats {
    node_name: String,
    cpu: CpuStats,
    memory: MemoryStats,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
struct CpuStats {
    time: String,
    usage_nano_cores: u64,
    usage_core_nano_seconds: u64,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
struct MemoryStats {
    time: String,
    working_set_bytes: u64,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
struct PodStats {
    pod_ref: PodRef,
    cpu: CpuStats,
    memory: MemoryStats,
    containers: Vec<ContainerStats>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
struct PodRef {
    name: String,
    namespace: String,
    uid: String,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
struct ContainerStats {
    name: String,
    cpu: CpuStats,
    memory: MemoryStats,
}

/// The summary for `pods`, with the process's (nanocores, CPU nanoseconds, resident bytes) as the node's figures
/// when known, taken at `time` (RFC 3339).
pub fn build(
    node_name: &str,
    time: &str,
    process: Option<(u64, u64, u64)>,
    pods: Vec<PodReading>,
) -> Summary {
    let cpu = |nano_cores: u64, total: u64| CpuStats {
        time: time.to_owned(),
        usage_nano_cores: nano_cores,
        usage_core_nano_seconds: total,
    };
    let memory = |bytes: u64| MemoryStats { time: time.to_owned(), working_set_bytes: bytes };
    let pods: Vec<PodStats> = pods
        .into_iter()
        .map(|pod| {
            let sum = |f: fn(&super::ContainerReading) -> u64| pod.containers.iter().map(f).sum::<u64>();
            PodStats {
                cpu: cpu(sum(|c| c.nano_cores), sum(|c| c.cpu_nanos)),
                memory: memory(sum(|c| c.memory)),
                containers: pod
                    .containers
                    .iter()
                    .map(|c| ContainerStats {
                        name: c.name.clone(),
                        cpu: cpu(c.nano_cores, c.cpu_nanos),
                        memory: memory(c.memory),
                    })
                    .collect(),
                pod_ref: PodRef { name: pod.name, namespace: pod.namespace, uid: pod.uid },
            }
        })
        .collect();
    let (nano_cores, total, bytes) = process.unwrap_or_else(|| {
        pods.iter().fold((0, 0, 0), |(n, t, b), p| {
            (n + p.cpu.usage_nano_cores, t + p.cpu.usage_core_nano_seconds, b + p.memory.working_set_bytes)
        })
    });
    Summary {
        node: NodeStats {
            node_name: node_name.to_owned(),
            cpu: cpu(nano_cores, total),
            memory: memory(bytes),
        },
        pods,
    }
}

/// The route, to merge into the node's endpoint.
pub fn router(source: Arc<Source>) -> Router {
    Router::new().route("/stats/summary", get(summary)).with_state(source)
}

async fn summary(State(source): State<Arc<Source>>) -> Response {
    let now = Instant::now();
    let time = jiff::Timestamp::now().round(jiff::Unit::Second).unwrap_or_else(|_| jiff::Timestamp::now());
    let process = source.meter.process(now);
    let summary = build(&source.node_name, &time.to_string(), process, source.meter.read(now));
    match serde_json::to_vec(&summary) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::ContainerReading;
    use serde_json::json;

    #[test]
    fn summary_has_the_kubelet_shape() {
        let pods = vec![PodReading {
            name: "web".into(),
            namespace: "demo".into(),
            uid: "u1".into(),
            containers: vec![
                ContainerReading { name: "a".into(), nano_cores: 5, cpu_nanos: 50, memory: 1024 },
                ContainerReading { name: "b".into(), nano_cores: 7, cpu_nanos: 70, memory: 2048 },
            ],
        }];
        let summary = serde_json::to_value(build("n1", "T", None, pods)).unwrap();
        let cpu = |n: u64, t: u64| json!({"time": "T", "usageNanoCores": n, "usageCoreNanoSeconds": t});
        let mem = |b: u64| json!({"time": "T", "workingSetBytes": b});
        assert_eq!(
            summary,
            json!({
                "node": {"nodeName": "n1", "cpu": cpu(12, 120), "memory": mem(3072)},
                "pods": [{
                    "podRef": {"name": "web", "namespace": "demo", "uid": "u1"},
                    "cpu": cpu(12, 120), "memory": mem(3072),
                    "containers": [
                        {"name": "a", "cpu": cpu(5, 50), "memory": mem(1024)},
                        {"name": "b", "cpu": cpu(7, 70), "memory": mem(2048)}
                    ]
                }]
            })
        );
        let node = serde_json::to_value(build("n1", "T", Some((1, 2, 3)), Vec::new())).unwrap();
        assert_eq!(node["node"]["cpu"]["usageNanoCores"], 1);
        assert_eq!(node["node"]["memory"]["workingSetBytes"], 3);
    }
}
