//! CertificateSigningRequests (certificates.k8s.io/v1), the way a node joins: with a bootstrap token it asks
//! for a client certificate for `system:node:<name>` in `system:nodes`; the approver (kube-controller-manager's
//! csrapproving, folded in here) approves it when the requester may (`certificatesigningrequests/nodeclient`, or
//! `selfnodeclient` for a node renewing its own), and the signer (csrsigning, here because only the API server
//! holds the cluster CA's key) issues it. From then on the node acts as itself and the Node authoriser applies.
//!
//! Wharf also approves a node's request for its own serving certificate (`kubernetes.io/kubelet-serving`, CN and
//! requester both `system:node:<name>`), which Kubernetes leaves to the operator: the identity it names is the
//! one the cluster already trusts.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::authz::{Authorizer, Decision};
use super::pipeline::Security;
use super::request::RequestInfo;
use super::{NODE_PREFIX, NODES, UserInfo};
use crate::error::{ApiError, Result};
use crate::registry::{ListOptions, Registry, ResourceType, Subresource, WriteOptions, kinds};
use crate::tls::credentials::{Credentials, LEAF_VALIDITY};

/// Client certificates for kubelets (nodes).
pub const KUBELET_CLIENT_SIGNER: &str = "kubernetes.io/kube-apiserver-client-kubelet";
/// Serving certificates for kubelets' endpoints.
pub const KUBELET_SERVING_SIGNER: &str = "kubernetes.io/kubelet-serving";
/// Client certificates for anyone, approved by hand (`kubectl certificate approve`).
pub const CLIENT_SIGNER: &str = "kubernetes.io/kube-apiserver-client";

const GROUP: &str = "certificates.k8s.io";

/// On create, the requester's identity is recorded in `spec`, whatever the client wrote there.
pub fn stamp_requester(object: &mut Value, user: &UserInfo) {
    let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else { return };
    spec.insert("username".into(), json!(user.name));
    spec.insert("groups".into(), json!(user.groups));
    if user.uid.is_empty() {
        spec.remove("uid");
    } else {
        spec.insert("uid".into(), json!(user.uid));
    }
    if user.extra.is_empty() {
        spec.remove("extra");
    } else {
        spec.insert("extra".into(), json!(user.extra));
    }
}

fn kind() -> Result<&'static ResourceType> {
    kinds::by_plural(GROUP, "v1", "certificatesigningrequests")
        .ok_or_else(|| ApiError::internal("no CSR kind"))
}

/// Approves and signs requests whenever one changes, until `stop`.
pub async fn run(
    registry: Registry,
    security: Arc<Security>,
    credentials: Arc<Credentials>,
    stop: CancellationToken,
) {
    let storage = format!("{GROUP}/certificatesigningrequests");
    let mut seen = u64::MAX;
    loop {
        let now = registry.store().read(|s| s.last_write(&storage));
        if now != seen {
            match reconcile(&registry, &security.authz, &credentials).await {
                // What it wrote (an approval) may need another step (signing): look again until nothing changes.
                Ok(0) => seen = now,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e.message, "certificate signing failed; retrying"),
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
}

/// One pass over the pending requests; returns how many it changed.
async fn reconcile(registry: &Registry, authorizer: &Authorizer, credentials: &Credentials) -> Result<usize> {
    let mut changed = 0;
    let rt = kind()?;
    let requests: Vec<Value> =
        registry.list(rt, None, &ListOptions::default())?.items.iter().map(|o| o.value()).collect();
    for request in requests {
        if request.pointer("/status/certificate").is_some_and(|c| !c.is_null()) {
            continue;
        }
        let name = request.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut updated = request.clone();
        match state(&request) {
            State::Pending => match approvable(&request, authorizer) {
                Some(message) => set_condition(&mut updated, "Approved", "AutoApproved", &message),
                None => continue,
            },
            State::Approved => match sign(&request, credentials) {
                Ok(certificate) => updated["status"]["certificate"] = json!(STANDARD.encode(certificate)),
                Err(message) => set_condition(&mut updated, "Failed", "SigningError", &message),
            },
            State::Finished => continue,
        }
        let sub = if state(&updated) == State::Approved && state(&request) == State::Pending {
            Subresource::Approval
        } else {
            Subresource::Status
        };
        match registry.update(rt, None, &name, Some(sub), updated, &WriteOptions::default()).await {
            Ok(_) => changed += 1,
            Err(e) if matches!(e.code, 404 | 409) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(changed)
}

#[derive(Debug, PartialEq, Eq)]
enum State {
    Pending,
    Approved,
    Finished,
}

fn state(request: &Value) -> State {
    let conditions =
        request.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
    let has = |kind: &str| {
        conditions
            .iter()
            .any(|c| c["type"] == kind && c.get("status").and_then(Value::as_str).unwrap_or("True") == "True")
    };
    if has("Denied") || has("Failed") {
        State::Finished
    } else if has("Approved") {
        State::Approved
    } else {
        State::Pending
    }
}

fn set_condition(request: &mut Value, kind: &str, reason: &str, message: &str) {
    let now = crate::registry::object::now();
    let condition = json!({"type": kind, "status": "True", "reason": reason, "message": message,
                           "lastUpdateTime": now, "lastTransitionTime": now});
    if !request.get("status").is_some_and(Value::is_object) {
        request["status"] = json!({});
    }
    match request["status"].get_mut("conditions").and_then(Value::as_array_mut) {
        Some(conditions) => conditions.push(condition),
        None => request["status"]["conditions"] = json!([condition]),
    }
}

/// The PEM of the request.
fn request_pem(request: &Value) -> Option<String> {
    let encoded = request.pointer("/spec/request")?.as_str()?;
    String::from_utf8(STANDARD.decode(encoded).ok()?).ok()
}

fn usages(request: &Value) -> Vec<String> {
    request
        .pointer("/spec/usages")
        .and_then(Value::as_array)
        .map(|u| u.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Why a request may be approved automatically, if it may.
fn approvable(request: &Value, authorizer: &Authorizer) -> Option<String> {
    let signer = request.pointer("/spec/signerName").and_then(Value::as_str)?;
    let subject = pki::csr_subject(&request_pem(request)?).ok()?;
    let requester = requester(request);
    let node_name = subject.common_name.strip_prefix(NODE_PREFIX).filter(|n| !n.is_empty())?;
    if subject.organizations != [NODES] {
        return None;
    }
    let usages = usages(request);
    let allowed = |list: &[&str]| usages.iter().all(|u| list.contains(&u.as_str()));
    match signer {
        KUBELET_CLIENT_SIGNER => {
            let plain = subject.dns_names.is_empty() && subject.ip_addresses.is_empty();
            if !plain || !usages.iter().any(|u| u == "client auth") {
                return None;
            }
            if !allowed(&["digital signature", "key encipherment", "client auth"]) {
                return None;
            }
            let own = requester.name == subject.common_name;
            let sub = if own { "selfnodeclient" } else { "nodeclient" };
            may_create(authorizer, &requester, sub)
                .then(|| "Auto approving kubelet client certificate after SubjectAccessReview.".to_owned())
        }
        KUBELET_SERVING_SIGNER => {
            let own = requester.name == subject.common_name && requester.node_name() == Some(node_name);
            (own && usages.iter().any(|u| u == "server auth")
                && allowed(&["digital signature", "key encipherment", "server auth"]))
            .then(|| {
                format!("Auto approving the serving certificate of node {node_name} for its own identity.")
            })
        }
        _ => None,
    }
}

fn requester(request: &Value) -> UserInfo {
    let spec = request.get("spec").cloned().unwrap_or(Value::Null);
    UserInfo {
        name: spec.get("username").and_then(Value::as_str).unwrap_or_default().to_owned(),
        uid: spec.get("uid").and_then(Value::as_str).unwrap_or_default().to_owned(),
        groups: spec
            .get("groups")
            .and_then(Value::as_array)
            .map(|g| g.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default(),
        extra: spec.get("extra").and_then(|e| serde_json::from_value(e.clone()).ok()).unwrap_or_default(),
    }
}

fn may_create(authorizer: &Authorizer, user: &UserInfo, subresource: &str) -> bool {
    let info = RequestInfo {
        resource_request: true,
        verb: "create",
        api_group: GROUP.into(),
        api_version: "v1".into(),
        resource: "certificatesigningrequests".into(),
        subresource: subresource.into(),
        ..RequestInfo::default()
    };
    matches!(authorizer.decide(user, &info), Decision::Allow(_))
}

/// The certificate for an approved request, PEM.
fn sign(request: &Value, credentials: &Credentials) -> Result<String, String> {
    let signer = request.pointer("/spec/signerName").and_then(Value::as_str).unwrap_or_default();
    let usage = match signer {
        KUBELET_CLIENT_SIGNER | CLIENT_SIGNER => pki::Usage::Client,
        KUBELET_SERVING_SIGNER => pki::Usage::Serving,
        other => return Err(format!("no signer named {other:?} is served")),
    };
    let validity = request
        .pointer("/spec/expirationSeconds")
        .and_then(Value::as_u64)
        .map_or(LEAF_VALIDITY, |s| Duration::from_secs(s.max(600)).min(LEAF_VALIDITY));
    let pem = request_pem(request).ok_or("spec.request is not a PEM certificate request")?;
    credentials.ca().sign_csr(&pem, usage, validity).map_err(|e| e.to_string())
}
