//! The review kinds: questions answered, never stored. SelfSubjectAccessReview (`kubectl auth can-i`),
//! SubjectAccessReview and LocalSubjectAccessReview (asking for someone else), SelfSubjectRulesReview
//! (`kubectl auth can-i --list`), SelfSubjectReview (`kubectl auth whoami`) and TokenReview.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::authz::Decision;
use super::pipeline::Security;
use super::request::RequestInfo;
use super::{UserInfo, rbac};
use crate::error::{ApiError, Result};
use crate::registry::ResourceType;

/// Answers a create of a review kind by `user`; the review comes back with its `status`.
pub fn answer(
    security: &Security,
    rt: &ResourceType,
    namespace: Option<&str>,
    user: &UserInfo,
    mut review: Value,
) -> Result<Value> {
    let spec = review.get("spec").cloned().unwrap_or(Value::Null);
    let status = match rt.kind {
        "SelfSubjectAccessReview" => access(security, user, &spec, None)?,
        "LocalSubjectAccessReview" => {
            let subject = subject_of(&spec);
            access(security, &subject, &spec, Some(namespace.unwrap_or_default()))?
        }
        "SubjectAccessReview" => access(security, &subject_of(&spec), &spec, None)?,
        "SelfSubjectRulesReview" => rules(security, user, &spec),
        "SelfSubjectReview" => json!({"userInfo": user.to_json()}),
        "TokenReview" => token(security, &spec),
        other => return Err(ApiError::method_not_allowed(&format!("create on {other}"))),
    };
    review["status"] = status;
    let metadata = review.get("metadata").cloned().filter(Value::is_object).unwrap_or_else(|| json!({}));
    review["metadata"] = metadata;
    review["metadata"]["creationTimestamp"] = Value::Null;
    review["kind"] = json!(rt.kind);
    review["apiVersion"] = json!(rt.api_version());
    Ok(review)
}

/// The user a SubjectAccessReview asks about.
fn subject_of(spec: &Value) -> UserInfo {
    let text = |field: &str| spec.get(field).and_then(Value::as_str).unwrap_or_default().to_owned();
    let groups = spec
        .get("groups")
        .and_then(Value::as_array)
        .map(|g| g.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    let extra: BTreeMap<String, Vec<String>> =
        spec.get("extra").and_then(|e| serde_json::from_value(e.clone()).ok()).unwrap_or_default();
    UserInfo { name: text("user"), uid: text("uid"), groups, extra }
}

fn access(security: &Security, user: &UserInfo, spec: &Value, local: Option<&str>) -> Result<Value> {
    let text = |value: Option<&Value>, field: &str| {
        value.and_then(|v| v.get(field)).and_then(Value::as_str).unwrap_or_default().to_owned()
    };
    let info = if let Some(attributes) = spec.get("resourceAttributes").filter(|a| a.is_object()) {
        let namespace = text(Some(attributes), "namespace");
        if let Some(local) = local
            && namespace != local
        {
            return Err(ApiError::bad_request(format!(
                "spec.resourceAttributes.namespace must match the namespace of the request ({local:?}), not {namespace:?}"
            )));
        }
        RequestInfo {
            resource_request: true,
            verb: verb(&text(Some(attributes), "verb")),
            api_group: text(Some(attributes), "group"),
            api_version: text(Some(attributes), "version"),
            resource: text(Some(attributes), "resource"),
            subresource: text(Some(attributes), "subresource"),
            namespace,
            name: text(Some(attributes), "name"),
            ..RequestInfo::default()
        }
    } else if let Some(attributes) = spec.get("nonResourceAttributes").filter(|a| a.is_object()) {
        RequestInfo {
            verb: verb(&text(Some(attributes), "verb")),
            path: text(Some(attributes), "path"),
            ..RequestInfo::default()
        }
    } else {
        return Err(ApiError::bad_request(
            "spec: exactly one of nonResourceAttributes or resourceAttributes must be specified",
        ));
    };
    Ok(match security.authz.decide(user, &info) {
        Decision::Allow(reason) => json!({"allowed": true, "reason": reason}),
        Decision::Deny(reason) if reason.is_empty() => json!({"allowed": false}),
        Decision::Deny(reason) => json!({"allowed": false, "reason": reason}),
    })
}

/// Verbs are interned so that `RequestInfo` stays `'static`; anything else is a verb no rule names but `*`.
fn verb(text: &str) -> &'static str {
    const VERBS: &[&str] = &[
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection",
        "escalate",
        "bind",
        "impersonate",
        "approve",
        "sign",
        "use",
        "proxy",
        "post",
        "put",
        "head",
        "options",
        "*",
    ];
    VERBS.iter().find(|v| **v == text).copied().unwrap_or("unknown")
}

fn rules(security: &Security, user: &UserInfo, spec: &Value) -> Value {
    let namespace = spec.get("namespace").and_then(Value::as_str).unwrap_or_default();
    let (rules, incomplete) = security.authz.index().rules_for(user, namespace);
    let mut resource_rules = Vec::new();
    let mut non_resource_rules = Vec::new();
    for rule in rules {
        let rbac::PolicyRule { verbs, api_groups, resources, resource_names, non_resource_urls } = rule;
        if non_resource_urls.is_empty() {
            let mut entry = json!({"verbs": verbs, "apiGroups": api_groups, "resources": resources});
            if !resource_names.is_empty() {
                entry["resourceNames"] = json!(resource_names);
            }
            resource_rules.push(entry);
        } else {
            non_resource_rules.push(json!({"verbs": verbs, "nonResourceURLs": non_resource_urls}));
        }
    }
    // The Node authoriser's rules depend on the pods bound to a node and cannot be listed.
    let incomplete = incomplete || user.node_name().is_some();
    json!({"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": incomplete})
}

fn token(security: &Security, spec: &Value) -> Value {
    let token = spec.get("token").and_then(Value::as_str).unwrap_or_default();
    match security.authn.authenticate_token(token) {
        Some(user) => json!({"authenticated": true, "user": user.to_json(),
                             "audiences": security.tokens.audiences}),
        None => json!({"authenticated": false, "error": "invalid bearer token"}),
    }
}
