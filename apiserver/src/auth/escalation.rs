//! Escalation prevention, as Kubernetes' RBAC storage does it: a Role or ClusterRole may only be written with
//! rules its author already holds (unless they may `escalate` on it), and a binding may only be written for a
//! role whose rules its author holds (unless they may `bind` it). So nobody grants a permission they lack.

use serde_json::Value;

use super::authz::{Authorizer, Decision};
use super::request::RequestInfo;
use super::{UserInfo, rbac};
use crate::error::ApiError;
use crate::registry::{Registry, ResourceType, kinds};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Checks a write of `object` (the object as it would be stored) of an RBAC kind by `user`.
pub fn check(
    authorizer: &Authorizer,
    registry: &Registry,
    user: &UserInfo,
    rt: &ResourceType,
    namespace: &str,
    object: &Value,
) -> Result<(), ApiError> {
    if rt.group != RBAC_GROUP {
        return Ok(());
    }
    let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let may = |verb: &'static str, resource: &str, resource_name: &str| {
        let info = RequestInfo {
            resource_request: true,
            verb,
            api_group: RBAC_GROUP.into(),
            api_version: "v1".into(),
            resource: resource.into(),
            namespace: namespace.into(),
            name: resource_name.into(),
            ..RequestInfo::default()
        };
        matches!(authorizer.decide(user, &info), Decision::Allow(_))
    };
    let requested: Vec<rbac::PolicyRule> = match rt.kind {
        "Role" | "ClusterRole" => {
            if may("escalate", rt.plural, name) {
                return Ok(());
            }
            rules_of(object)
        }
        "RoleBinding" | "ClusterRoleBinding" => {
            let role_kind = object.pointer("/roleRef/kind").and_then(Value::as_str).unwrap_or_default();
            let role_name = object.pointer("/roleRef/name").and_then(Value::as_str).unwrap_or_default();
            let role_plural = if role_kind == "Role" { "roles" } else { "clusterroles" };
            if may("bind", role_plural, role_name) {
                return Ok(());
            }
            let role_rt = kinds::by_plural(RBAC_GROUP, "v1", role_plural)
                .ok_or_else(|| ApiError::internal(format!("no {role_plural} kind")))?;
            let role_namespace = (role_kind == "Role").then_some(namespace);
            match registry.stored(role_rt, role_namespace, role_name) {
                Some(role) => rules_of(&role.value()),
                None => {
                    return Err(refused(rt, name, user, &format!("{role_plural} \"{role_name}\" not found")));
                }
            }
        }
        _ => return Ok(()),
    };
    let (held, _) = authorizer.index().rules_for(user, namespace);
    let missing = rbac::uncovered(&held, &requested);
    if missing.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = missing.iter().map(describe).collect();
    Err(refused(
        rt,
        name,
        user,
        &format!(
            "user \"{}\" (groups={:?}) is attempting to grant RBAC permissions not currently held:\n{}",
            user.name,
            user.groups,
            listed.join("\n")
        ),
    ))
}

fn rules_of(role: &Value) -> Vec<rbac::PolicyRule> {
    role.get("rules").and_then(|r| serde_json::from_value(r.clone()).ok()).unwrap_or_default()
}

/// A rule as Kubernetes prints it in escalation errors.
fn describe(rule: &rbac::PolicyRule) -> String {
    let mut parts = Vec::new();
    let list = |name: &str, values: &[String]| format!("{name}:{values:?}");
    if !rule.api_groups.is_empty() {
        parts.push(list("APIGroups", &rule.api_groups));
    }
    if !rule.resources.is_empty() {
        parts.push(list("Resources", &rule.resources));
    }
    if !rule.resource_names.is_empty() {
        parts.push(list("ResourceNames", &rule.resource_names));
    }
    if !rule.non_resource_urls.is_empty() {
        parts.push(list("NonResourceURLs", &rule.non_resource_urls));
    }
    parts.push(list("Verbs", &rule.verbs));
    format!("{{{}}}", parts.join(", "))
}

fn refused(rt: &ResourceType, name: &str, _user: &UserInfo, why: &str) -> ApiError {
    ApiError::forbidden(rt, name, why)
}
