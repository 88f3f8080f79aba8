//! The Node authoriser (with the NodeRestriction admission rules folded in): a node identity
//! (`system:node:<name>` in `system:nodes`) reads only the Secrets, ConfigMaps and ServiceAccount tokens of pods
//! bound to it, reads and writes only pods bound to it, and writes only its own Node and Lease. Everything else
//! a node asks is left to RBAC (the `system:node` role).

use serde_json::Value;

use super::UserInfo;
use super::request::RequestInfo;
use crate::registry::{ListOptions, Registry, kinds};
use api::selector::FieldSelector;

/// What the Node authoriser says.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed.
    Allow,
    /// Refused, with the reason (no other authoriser may allow it).
    Deny(String),
    /// Not a node, or not a request it judges; RBAC decides. The reason is kept for a refusal's message.
    NoOpinion(Option<String>),
}

/// Judges a request.
pub fn decide(registry: &Registry, user: &UserInfo, info: &RequestInfo) -> Verdict {
    let Some(node) = user.node_name() else { return Verdict::NoOpinion(None) };
    if !info.resource_request {
        return Verdict::NoOpinion(None);
    }
    let no_relationship =
        || Verdict::Deny(format!("no relationship found between node '{node}' and this object"));
    let name = if info.name.is_empty() { info.name_selector.as_str() } else { info.name.as_str() };
    match (info.api_group.as_str(), info.resource.as_str(), info.subresource.as_str()) {
        ("", "configmaps", "")
            if (info.namespace.as_str(), name) == api::egress::EGRESS_CONFIG
                && matches!(info.verb, "get" | "list" | "watch") =>
        {
            Verdict::Allow
        }
        ("", "secrets" | "configmaps", "") => {
            if !matches!(info.verb, "get" | "list" | "watch") || name.is_empty() {
                return Verdict::Deny(format!("node '{node}' can only get individual {}", info.resource));
            }
            let kind = if info.resource == "secrets" { Reference::Secret } else { Reference::ConfigMap };
            if pods_on(registry, node, &info.namespace).iter().any(|pod| references(pod, kind, name)) {
                Verdict::Allow
            } else {
                no_relationship()
            }
        }
        ("", "serviceaccounts", "token") => {
            let runs_as = |pod: &Value| {
                pod.pointer("/spec/serviceAccountName").and_then(Value::as_str).unwrap_or("default") == name
            };
            if info.verb == "create" && pods_on(registry, node, &info.namespace).iter().any(runs_as) {
                Verdict::Allow
            } else {
                no_relationship()
            }
        }
        ("", "pods", sub) => match (info.verb, sub) {
            ("list" | "watch", "") => Verdict::NoOpinion(None),
            ("create", "") => Verdict::Deny(format!("node '{node}' cannot create pods")),
            (_, "" | "status" | "eviction" | "log") if !name.is_empty() => {
                if pod_node(registry, &info.namespace, name).as_deref() == Some(node) {
                    Verdict::Allow
                } else {
                    no_relationship()
                }
            }
            _ => Verdict::NoOpinion(None),
        },
        ("", "nodes", _) => match info.verb {
            "get" | "list" | "watch" => Verdict::NoOpinion(None),
            // The name is in the body: [`admit_create`] checks it.
            "create" if name.is_empty() => Verdict::Allow,
            _ if name == node => Verdict::Allow,
            _ => Verdict::Deny(format!("node '{node}' cannot modify node '{name}'")),
        },
        ("coordination.k8s.io", "leases", "") if info.namespace == "kube-node-lease" => {
            if name == node || (info.verb == "create" && name.is_empty()) {
                Verdict::Allow
            } else {
                Verdict::Deny(format!("node '{node}' can only access its own lease"))
            }
        }
        _ => Verdict::NoOpinion(None),
    }
}

/// NodeRestriction for creates, whose name is only in the body: a node creates only its own Node and Lease.
pub fn admit_create(user: &UserInfo, kind: &str, object: &Value) -> Result<(), crate::error::ApiError> {
    let Some(node) = user.node_name() else { return Ok(()) };
    let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    if matches!(kind, "Node" | "Lease") && name != node {
        return Err(crate::error::ApiError {
            code: 403,
            reason: "Forbidden",
            message: format!("node \"{node}\" is not allowed to create a {kind} named \"{name}\""),
            details: None,
        });
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Reference {
    Secret,
    ConfigMap,
}

/// The pods bound to `node` in `namespace`.
fn pods_on(registry: &Registry, node: &str, namespace: &str) -> Vec<Value> {
    let Some(pods) = kinds::by_plural("", "v1", "pods") else { return Vec::new() };
    let Ok(fields) = FieldSelector::parse(&format!("spec.nodeName={node}")) else { return Vec::new() };
    let options = ListOptions { fields: Some(fields), ..ListOptions::default() };
    registry
        .list(pods, Some(namespace), &options)
        .map(|page| page.items.iter().map(|o| o.value()).collect())
        .unwrap_or_default()
}

fn pod_node(registry: &Registry, namespace: &str, name: &str) -> Option<String> {
    let pods = kinds::by_plural("", "v1", "pods")?;
    let pod = registry.stored(pods, Some(namespace), name)?.value();
    pod.pointer("/spec/nodeName").and_then(Value::as_str).map(str::to_owned)
}

/// Whether a pod uses the Secret or ConfigMap `name`: volumes (also projected), env, envFrom, image pull secrets.
fn references(pod: &Value, kind: Reference, name: &str) -> bool {
    let spec = pod.get("spec").unwrap_or(&Value::Null);
    let named =
        |v: Option<&Value>, field: &str| v.and_then(|v| v.get(field)).and_then(Value::as_str) == Some(name);
    let (volume_field, key_ref, env_from) = match kind {
        Reference::Secret => (("secret", "secretName"), "secretKeyRef", "secretRef"),
        Reference::ConfigMap => (("configMap", "name"), "configMapKeyRef", "configMapRef"),
    };
    let list = |v: &Value, field: &str| v.get(field).and_then(Value::as_array).cloned().unwrap_or_default();
    for volume in list(spec, "volumes") {
        if named(volume.get(volume_field.0), volume_field.1) {
            return true;
        }
        let projected =
            volume.pointer("/projected/sources").and_then(Value::as_array).cloned().unwrap_or_default();
        if projected.iter().any(|source| named(source.get(volume_field.0), "name")) {
            return true;
        }
    }
    if kind == Reference::Secret && list(spec, "imagePullSecrets").iter().any(|s| named(Some(s), "name")) {
        return true;
    }
    let containers = list(spec, "containers").into_iter().chain(list(spec, "initContainers"));
    for container in containers {
        if list(&container, "env")
            .iter()
            .any(|env| named(env.pointer("/valueFrom").and_then(|v| v.get(key_ref)), "name"))
        {
            return true;
        }
        if list(&container, "envFrom").iter().any(|from| named(from.get(env_from), "name")) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pod_references_what_its_volumes_env_and_pull_secrets_name() {
        let pod = json!({"spec": {
            "volumes": [{"name": "v", "secret": {"secretName": "tls"}},
                        {"name": "p", "projected": {"sources": [{"configMap": {"name": "settings"}}]}}],
            "imagePullSecrets": [{"name": "registry"}],
            "containers": [{"name": "c", "env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "api-key", "key": "k"}}}],
                            "envFrom": [{"configMapRef": {"name": "env"}}]}]}});
        for secret in ["tls", "registry", "api-key"] {
            assert!(references(&pod, Reference::Secret, secret), "{secret}");
        }
        for config_map in ["settings", "env"] {
            assert!(references(&pod, Reference::ConfigMap, config_map), "{config_map}");
        }
        assert!(!references(&pod, Reference::Secret, "settings"));
        assert!(!references(&pod, Reference::ConfigMap, "tls"));
    }
}
