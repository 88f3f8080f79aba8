//! Talking to node agents: where one listens (from its Node object) and a GET with a connect timeout.
//!
//! As with the kubelet, an agent publishes its address in `status.addresses` (InternalIP) and its port in
//! `status.daemonEndpoints.kubeletEndpoint.Port`; the API server proxies logs and collects usage from there.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::error::{ApiError, Result};

/// How long connecting to a node agent may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// `host:port` of a node's agent, from its status.
pub fn endpoint(node: &Value) -> Option<String> {
    let address = node
        .pointer("/status/addresses")
        .and_then(Value::as_array)?
        .iter()
        .find(|a| a.get("type").and_then(Value::as_str) == Some("InternalIP"))?
        .get("address")?
        .as_str()?
        .to_owned();
    let port = node.pointer("/status/daemonEndpoints/kubeletEndpoint/Port").and_then(Value::as_i64)?;
    let host = if address.contains(':') { format!("[{address}]") } else { address };
    Some(format!("{host}:{port}"))
}

/// GETs `path` (with its query) from the agent of `node` at `endpoint`.
pub async fn get(node: &str, endpoint: &str, path: &str) -> Result<hyper::Response<Incoming>> {
    let url = format!("http://{endpoint}{path}");
    let uri: http::Uri = url.parse().map_err(|e| ApiError::internal(format!("agent URL {url}: {e}")))?;
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    client.get(uri).await.map_err(|e| {
        unreachable(format!("cannot reach the node agent of node \"{node}\" at {endpoint}: {e}"))
    })
}

/// Kubernetes answers an unreachable kubelet with a 500 carrying the cause; a 503 would make clients retry for
/// minutes (kube-rs does) when the answer will not change.
pub fn unreachable(message: String) -> ApiError {
    ApiError { code: 500, reason: "InternalError", message, details: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn agent_endpoint_comes_from_node_status() {
        let node = json!({"status": {"addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "127.0.0.1"}],
                                     "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}});
        assert_eq!(endpoint(&node).as_deref(), Some("127.0.0.1:10250"));
        assert_eq!(endpoint(&json!({"status": {}})), None);
    }
}
