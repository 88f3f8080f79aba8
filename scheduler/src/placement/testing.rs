//! Builders for the unit tests: objects from JSON, the way they arrive from the API server.

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

/// A pod from its JSON form.
pub(crate) fn pod(value: Value) -> Pod {
    serde_json::from_value(value).unwrap_or_else(|e| panic!("pod: {e}"))
}

/// A node from its JSON form.
pub(crate) fn node(value: Value) -> Node {
    serde_json::from_value(value).unwrap_or_else(|e| panic!("node: {e}"))
}

/// The JSON of a ready node offering `cpu`, `memory` and 110 pods.
pub(crate) fn ready_node(name: &str, cpu: &str, memory: &str, labels: Value, spec: Value) -> Value {
    json!({
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
        "status": {
            "allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    })
}

/// A pod in `default` bound to `node` with one container requesting `cpu` and `memory`.
pub(crate) fn bound(name: &str, node: &str, cpu: &str, memory: &str) -> Pod {
    pod(json!({
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": node, "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": memory}}}]},
    }))
}
