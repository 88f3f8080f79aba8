//! The RBAC objects every cluster has, and the ClusterRole aggregation controller.
//!
//! On each start the default ClusterRoles and ClusterRoleBindings are created when missing and brought back
//! to their defaults when they carry `rbac.authorization.kubernetes.io/autoupdate: "true"` (Kubernetes' start-up
//! reconciliation); deleting that annotation keeps an edit. Aggregated roles (`admin`, `edit`, `view`, and any
//! ClusterRole with an `aggregationRule`) get the union of the rules of the roles their selectors match, again
//! whenever a ClusterRole changes.

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{
    AUTO_UPDATE_ANNOTATION, PolicyRule, aggregated_rules, default_cluster_role_bindings,
    default_cluster_roles,
};
use crate::error::{ApiError, Result};
use crate::registry::{ListOptions, Registry, ResourceType, WriteOptions, kinds};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// What Wharf's node agents read besides what Kubernetes' `system:node` role grants: the Services, endpoints,
/// NetworkPolicies and Namespaces they route and police by.
fn wharf_node_role() -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "system:wharf:node", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                     "annotations": {AUTO_UPDATE_ANNOTATION: "true"}},
        "rules": [
            {"apiGroups": [""], "resources": ["namespaces", "services", "pods"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch", "update"]},
        ],
    })
}

/// Nodes get `system:node` and Wharf's additions through their group (Kubernetes leaves `system:node` unbound
/// and relies on the Node authoriser alone; Wharf's Node authoriser still limits Secrets, ConfigMaps, pods and
/// Node and Lease writes to the node's own).
fn node_bindings() -> Vec<Value> {
    ["system:node", "system:wharf:node"]
        .into_iter()
        .map(|role| {
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": role, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                             "annotations": {AUTO_UPDATE_ANNOTATION: "true"}},
                "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
                "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": "system:nodes"}],
            })
        })
        .collect()
}

fn kind(plural: &str) -> Result<&'static ResourceType> {
    kinds::by_plural(RBAC_GROUP, "v1", plural).ok_or_else(|| ApiError::internal(format!("no {plural} kind")))
}

/// Creates or resets the default roles and bindings, then aggregates.
pub async fn ensure_defaults(registry: &Registry) -> Result<()> {
    let roles = kind("clusterroles")?;
    let bindings = kind("clusterrolebindings")?;
    let mut wanted: Vec<(&'static ResourceType, Value)> = Vec::new();
    wanted.extend(default_cluster_roles().into_iter().chain([wharf_node_role()]).map(|r| (roles, r)));
    wanted.extend(default_cluster_role_bindings().into_iter().chain(node_bindings()).map(|b| (bindings, b)));
    for (rt, object) in wanted {
        let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_owned();
        match registry.stored(rt, None, &name) {
            None => match registry.create(rt, None, object, &WriteOptions::default()).await {
                Ok(_) => {}
                Err(e) if e.code == 409 => {}
                Err(e) => return Err(e),
            },
            Some(stored) => {
                let current = stored.value();
                let auto = current
                    .pointer(&format!("/metadata/annotations/{}", AUTO_UPDATE_ANNOTATION.replace('/', "~1")))
                    .and_then(Value::as_str)
                    == Some("true");
                let field = if rt.kind == "ClusterRole" { "rules" } else { "subjects" };
                // Aggregated roles' rules belong to the aggregation controller.
                let aggregated = current.get("aggregationRule").is_some_and(|a| !a.is_null());
                if auto && !(aggregated && field == "rules") && current.get(field) != object.get(field) {
                    let mut updated = current.clone();
                    updated[field] = object[field].clone();
                    registry.update(rt, None, &name, None, updated, &WriteOptions::default()).await?;
                }
            }
        }
    }
    aggregate(registry).await
}

/// Gives every aggregated ClusterRole the rules its selectors collect, where they differ.
pub async fn aggregate(registry: &Registry) -> Result<()> {
    let roles = kind("clusterroles")?;
    let all: Vec<Value> =
        registry.list(roles, None, &ListOptions::default())?.items.iter().map(|o| o.value()).collect();
    for (name, rules) in aggregated_rules(&all) {
        let Some(stored) = registry.stored(roles, None, &name) else { continue };
        let mut role = stored.value();
        let current: Vec<PolicyRule> =
            role.get("rules").and_then(|r| serde_json::from_value(r.clone()).ok()).unwrap_or_default();
        if current == rules {
            continue;
        }
        role["rules"] = serde_json::to_value(&rules).map_err(ApiError::internal)?;
        match registry.update(roles, None, &name, None, role, &WriteOptions::default()).await {
            Ok(_) => {}
            // Changed meanwhile: the next round sees it.
            Err(e) if e.code == 409 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Aggregates again whenever a ClusterRole changes, until `stop`.
pub async fn run_aggregation(registry: Registry, stop: CancellationToken) {
    let storage = format!("{RBAC_GROUP}/clusterroles");
    let mut seen = registry.store().read(|s| s.last_write(&storage));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(std::time::Duration::from_millis(200)) => {}
        }
        let now = registry.store().read(|s| s.last_write(&storage));
        if now == seen {
            continue;
        }
        if let Err(e) = aggregate(&registry).await {
            tracing::warn!(error = %e.message, "ClusterRole aggregation failed; retrying");
            continue;
        }
        // Our own writes moved it on; they need no second round.
        seen = registry.store().read(|s| s.last_write(&storage));
    }
}
