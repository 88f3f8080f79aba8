//! Talking to node agents: where one listens (from its Node object) and a GET with a connect timeout.
//!
//! As with the kubelet, an agent publishes its address in `status.addresses` (InternalIP) and its port in
//! `status.daemonEndpoints.kubeletEndpoint.Port`; the API server proxies logs and collects usage from there. An
//! agent that serves TLS says so with the annotation `wharf.dev/endpoint-tls`; the API server then checks its
//! serving certificate against the cluster CA and presents its own client certificate.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::error::{ApiError, Result};

/// How long connecting to a node agent may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A node agent's endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `host:port`.
    pub authority: String,
    /// Whether it serves TLS.
    pub tls: bool,
}

/// Where a node's agent listens, from its Node object.
pub fn endpoint(node: &Value) -> Option<Endpoint> {
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
    let annotation = format!("/metadata/annotations/{}", api::ENDPOINT_TLS_ANNOTATION.replace('/', "~1"));
    let tls = node.pointer(&annotation).and_then(Value::as_str) == Some("true");
    Some(Endpoint { authority: format!("{host}:{port}"), tls })
}

/// The API server's client for node agents.
pub struct AgentClient {
    http: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl AgentClient {
    /// A client that trusts agents' certificates signed by `ca_pem` and presents `identity` (certificate, key).
    pub fn new(ca_pem: &str, identity: (&str, &str)) -> Result<Self, String> {
        let mut tls = pki::client_config(ca_pem, Some(identity)).map_err(|e| e.to_string())?;
        // The connector negotiates ALPN itself.
        tls.alpn_protocols.clear();
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        Ok(Self { http: Client::builder(TokioExecutor::new()).build(https) })
    }

    /// GETs `path` (with its query) from the agent of `node` at `endpoint`.
    pub async fn get(
        &self,
        node: &str,
        endpoint: &Endpoint,
        path: &str,
    ) -> Result<hyper::Response<Incoming>> {
        let scheme = if endpoint.tls { "https" } else { "http" };
        let url = format!("{scheme}://{}{path}", endpoint.authority);
        let uri: http::Uri = url.parse().map_err(|e| ApiError::internal(format!("agent URL {url}: {e}")))?;
        self.http.get(uri).await.map_err(|e| {
            unreachable(format!(
                "cannot reach the node agent of node \"{node}\" at {}: {e}",
                endpoint.authority
            ))
        })
    }
}

/// Shared by every handler that asks agents.
pub type Agents = Arc<AgentClient>;

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
        assert_eq!(endpoint(&node), Some(Endpoint { authority: "127.0.0.1:10250".into(), tls: false }));
        assert_eq!(endpoint(&json!({"status": {}})), None);
    }
}
