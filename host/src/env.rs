//! A container's environment: `env` (values with `$(VAR)` expansion, `configMapKeyRef`, `secretKeyRef`,
//! `fieldRef`, `resourceFieldRef`) and `envFrom`, resolved against the API.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};

pub use crate::sources::Sources;

/// Why the environment could not be resolved; shown as `CreateContainerConfigError`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A referenced ConfigMap or Secret (or its key) is missing.
    #[error("{kind} {name:?} {detail}")]
    Missing {
        /// ConfigMap or Secret.
        kind: &'static str,
        /// Its name.
        name: String,
        /// What is missing.
        detail: String,
    },
    /// A field path is not supported.
    #[error("unsupported fieldRef {0:?}")]
    FieldPath(String),
}

/// Resolves the environment of `container` in `pod`, in order, later entries overriding earlier ones.
pub async fn resolve(
    pod: &Pod,
    container: &Container,
    sources: &Sources,
    service_links: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, Error> {
    // As a container runtime does: the pod's hostname, which the container's own variables may override.
    let hostname = pod.spec.as_ref().and_then(|s| s.hostname.clone()).or_else(|| pod.metadata.name.clone());
    let mut env: Vec<(String, String)> = hostname.map(|h| ("HOSTNAME".to_owned(), h)).into_iter().collect();
    // Then the Service variables (`enableServiceLinks`), which the container's own variables override.
    if pod.spec.as_ref().and_then(|s| s.enable_service_links) != Some(false) {
        env.extend(service_links);
    }
    let set = |env: &mut Vec<(String, String)>, key: String, value: String| {
        env.retain(|(k, _)| *k != key);
        env.push((key, value));
    };
    for from in container.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        let (data, kind, name, optional) = if let Some(r) = &from.config_map_ref {
            (sources.config_map(&r.name).await, "configmap", r.name.clone(), r.optional.unwrap_or(false))
        } else if let Some(r) = &from.secret_ref {
            (sources.secret(&r.name).await, "secret", r.name.clone(), r.optional.unwrap_or(false))
        } else {
            continue;
        };
        match data {
            Some(data) => {
                for (k, v) in data {
                    set(&mut env, format!("{prefix}{k}"), String::from_utf8_lossy(&v).into_owned());
                }
            }
            None if optional => {}
            None => return Err(Error::Missing { kind, name, detail: "not found".into() }),
        }
    }
    for var in container.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (Some(value), _) => Some(expand(value, &env)),
            (None, Some(from)) => {
                if let Some(r) = &from.config_map_key_ref {
                    let data = sources.config_map(&r.name).await;
                    key_of(data, "configmap", &r.name, &r.key, r.optional.unwrap_or(false))?
                } else if let Some(r) = &from.secret_key_ref {
                    let data = sources.secret(&r.name).await;
                    key_of(data, "secret", &r.name, &r.key, r.optional.unwrap_or(false))?
                } else if let Some(r) = &from.field_ref {
                    Some(field(pod, &r.field_path)?)
                } else {
                    from.resource_field_ref.as_ref().map(|r| resource_field(container, &r.resource))
                }
            }
            (None, None) => Some(String::new()),
        };
        if let Some(value) = value {
            set(&mut env, var.name.clone(), value);
        }
    }
    Ok(env)
}

fn key_of(
    data: Option<BTreeMap<String, Vec<u8>>>,
    kind: &'static str,
    name: &str,
    key: &str,
    optional: bool,
) -> Result<Option<String>, Error> {
    match data.and_then(|d| d.get(key).cloned()) {
        Some(v) => Ok(Some(String::from_utf8_lossy(&v).into_owned())),
        None if optional => Ok(None),
        None => Err(Error::Missing { kind, name: name.to_owned(), detail: format!("has no key {key:?}") }),
    }
}

/// The value of a downward-API field path.
pub fn field(pod: &Pod, path: &str) -> Result<String, Error> {
    let meta = &pod.metadata;
    let status = pod.status.as_ref();
    let spec = pod.spec.as_ref();
    let bracketed = |prefix: &str| -> Option<String> {
        let key = path.strip_prefix(prefix)?.strip_suffix("']")?;
        Some(key.to_owned())
    };
    let value = match path {
        "metadata.name" => meta.name.clone(),
        "metadata.namespace" => meta.namespace.clone(),
        "metadata.uid" => meta.uid.clone(),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()),
        "spec.serviceAccountName" => spec.and_then(|s| s.service_account_name.clone()),
        "status.podIP" => status.and_then(|s| s.pod_ip.clone()),
        "status.hostIP" => status.and_then(|s| s.host_ip.clone()),
        _ => {
            if let Some(key) = bracketed("metadata.labels['") {
                meta.labels.as_ref().and_then(|l| l.get(&key).cloned())
            } else if let Some(key) = bracketed("metadata.annotations['") {
                meta.annotations.as_ref().and_then(|a| a.get(&key).cloned())
            } else if path == "metadata.labels" || path == "metadata.annotations" {
                let map = if path == "metadata.labels" { &meta.labels } else { &meta.annotations };
                Some(map.iter().flatten().map(|(k, v)| format!("{k}=\"{v}\"")).collect::<Vec<_>>().join("\n"))
            } else {
                return Err(Error::FieldPath(path.to_owned()));
            }
        }
    };
    Ok(value.unwrap_or_default())
}

fn resource_field(container: &Container, resource: &str) -> String {
    let resources = container.resources.as_ref();
    let (map, name) = match resource.split_once('.') {
        Some(("limits", name)) => (resources.and_then(|r| r.limits.as_ref()), name),
        Some(("requests", name)) => (resources.and_then(|r| r.requests.as_ref()), name),
        _ => return String::new(),
    };
    map.and_then(|m| m.get(name)).map(|q| q.0.clone()).unwrap_or_default()
}

/// Expands `$(VAR)` references to variables defined earlier; `$$(VAR)` escapes to a literal `$(VAR)` and unknown
/// references stay as written, as Kubernetes does.
pub fn expand(value: &str, env: &[(String, String)]) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if let Some(after) = rest.strip_prefix("$$") {
            out.push('$');
            rest = after;
        } else if let Some(inner) = rest.strip_prefix("$(")
            && let Some(end) = inner.find(')')
        {
            let name = &inner[..end];
            match env.iter().rev().find(|(k, _)| k == name) {
                Some((_, v)) => out.push_str(v),
                None => out.push_str(&rest[..end + 3]),
            }
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_references() {
        let env = vec![("A".to_owned(), "x".to_owned())];
        assert_eq!(expand("$(A)-$(B)-$$(A)-$", &env), "x-$(B)-$(A)-$");
    }

    #[test]
    fn reads_field_paths() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u", "labels": {"app": "web"},
                         "annotations": {"a": "b"}},
            "spec": {"nodeName": "n1", "containers": []},
            "status": {"podIP": "10.0.0.2"}
        }))
        .unwrap();
        assert_eq!(field(&pod, "metadata.name").unwrap(), "p");
        assert_eq!(field(&pod, "spec.nodeName").unwrap(), "n1");
        assert_eq!(field(&pod, "status.podIP").unwrap(), "10.0.0.2");
        assert_eq!(field(&pod, "metadata.labels['app']").unwrap(), "web");
        assert_eq!(field(&pod, "metadata.annotations['a']").unwrap(), "b");
        assert!(field(&pod, "spec.bogus").is_err());
    }
}
