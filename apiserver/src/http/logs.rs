//! `pods/{name}/log`: picks the container, finds the node agent that runs the pod and streams its answer.
//!
//! The logs live on the node (as with the kubelet); the API server only proxies. The agent publishes where it
//! listens in the Node object: `status.addresses` (InternalIP) and `status.daemonEndpoints.kubeletEndpoint`.

use axum::body::Body;
use axum::response::Response;
use serde_json::Value;

use super::agent;
use super::query::Query;
use crate::error::{ApiError, Result};
use crate::registry::{Registry, ResourceType, kinds};

/// The query parameters of a log request that the node agent understands, passed through after checking.
const PASSED_THROUGH: &[&str] =
    &["follow", "previous", "timestamps", "tailLines", "sinceSeconds", "sinceTime", "limitBytes"];

/// Serves `GET …/pods/{name}/log`.
pub async fn serve(
    registry: &Registry,
    agents: &agent::AgentClient,
    pods: &ResourceType,
    namespace: Option<&str>,
    name: &str,
    query: &Query,
) -> Result<Response> {
    let pod = registry.get(pods, namespace, name)?.value();
    let container = choose_container(&pod, name, query.get("container"))?;
    for numeric in ["tailLines", "sinceSeconds", "limitBytes"] {
        query.signed(numeric)?;
    }
    let node_name = pod.pointer("/spec/nodeName").and_then(Value::as_str).filter(|n| !n.is_empty());
    let Some(node_name) = node_name else {
        return Err(ApiError::bad_request(format!("pod \"{name}\" does not have a host assigned")));
    };
    let nodes = kinds::by_plural("", "v1", "nodes").ok_or_else(|| ApiError::internal("no nodes kind"))?;
    let node = registry.get(nodes, None, node_name).map(|n| n.value()).ok();
    let Some(endpoint) = node.as_ref().and_then(agent::endpoint) else {
        return Err(agent::unreachable(format!(
            "node \"{node_name}\" publishes no log endpoint; is its node agent running?"
        )));
    };

    let mut url = format!("/containerLogs/{}/{name}/{container}", namespace.unwrap_or_default());
    let params: Vec<(&str, &str)> =
        PASSED_THROUGH.iter().filter_map(|p| query.get(p).map(|v| (*p, v))).collect();
    if !params.is_empty() {
        url.push('?');
        url.push_str(&form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish());
    }
    let upstream = agents.get(node_name, &endpoint, &url).await?;
    let (parts, body) = upstream.into_parts();
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| http::HeaderValue::from_static("text/plain"));
    Response::builder()
        .status(parts.status)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Body::new(body))
        .map_err(ApiError::internal)
}

/// The container a log request is for: the one named, else the default-container annotation, else the only one.
fn choose_container(pod: &Value, name: &str, requested: Option<&str>) -> Result<String> {
    let names = |field: &str| -> Vec<String> {
        pod.pointer(&format!("/spec/{field}"))
            .and_then(Value::as_array)
            .map(|cs| cs.iter().filter_map(|c| c.get("name")?.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let containers = names("containers");
    let init = names("initContainers");
    match requested.filter(|c| !c.is_empty()) {
        Some(c) if containers.iter().chain(&init).any(|n| n == c) => Ok(c.to_owned()),
        Some(c) => Err(ApiError::bad_request(format!("container \"{c}\" is not valid for pod \"{name}\""))),
        None => {
            let annotated = pod
                .pointer("/metadata/annotations/kubectl.kubernetes.io~1default-container")
                .and_then(Value::as_str)
                .filter(|c| containers.iter().any(|n| n == c));
            match (annotated, containers.as_slice()) {
                (Some(c), _) => Ok(c.to_owned()),
                (None, [only]) => Ok(only.clone()),
                _ => Err(ApiError::bad_request(format!(
                    "a container name must be specified for pod {name}, choose one of: [{}]",
                    containers.join(" ")
                ))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn container_choice_follows_kubectl_conventions() {
        let pod = json!({"spec": {"containers": [{"name": "web"}, {"name": "proxy"}], "initContainers": [{"name": "setup"}]}});
        assert_eq!(choose_container(&pod, "p", Some("proxy")).unwrap(), "proxy");
        assert_eq!(choose_container(&pod, "p", Some("setup")).unwrap(), "setup");
        let err = choose_container(&pod, "p", Some("nope")).unwrap_err();
        assert_eq!(err.message, "container \"nope\" is not valid for pod \"p\"");
        let err = choose_container(&pod, "p", None).unwrap_err();
        assert_eq!(err.message, "a container name must be specified for pod p, choose one of: [web proxy]");
        let mut annotated = pod.clone();
        annotated["metadata"] = json!({"annotations": {"kubectl.kubernetes.io/default-container": "proxy"}});
        assert_eq!(choose_container(&annotated, "p", None).unwrap(), "proxy");
        let single = json!({"spec": {"containers": [{"name": "only"}]}});
        assert_eq!(choose_container(&single, "p", None).unwrap(), "only");
    }
}
