//! Authorisation, as kube-apiserver chains it: members of `system:masters` may do anything; then the Node
//! authoriser decides what node identities may read and write ([`super::node`]); then RBAC. Whatever none of
//! them allows is forbidden (403), with Kubernetes' message.
//!
//! The RBAC index is built from the stored Roles, ClusterRoles and bindings, and built again on the first
//! request after any of them changed (the store keeps the resource version of the newest write per kind), so a
//! binding takes effect for the very next request.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::request::RequestInfo;
use super::{MASTERS, UserInfo, node, rbac};
use crate::error::ApiError;
use crate::registry::{ListOptions, Registry, kinds};

/// Which authorisers run (kube-apiserver's `--authorization-mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// `Node,RBAC`: the default.
    #[default]
    NodeRbac,
    /// `AlwaysAllow`: every authenticated request is allowed (for measuring what authorisation costs).
    AlwaysAllow,
}

/// The answer to one question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed, with the authoriser's reason.
    Allow(String),
    /// Not allowed; the reason is appended to the 403 message when not empty.
    Deny(String),
}

/// The chain of authorisers.
pub struct Authorizer {
    mode: Mode,
    registry: Registry,
    index: Mutex<Option<(Fingerprint, Arc<rbac::Index>)>>,
}

/// The newest write of each RBAC kind.
type Fingerprint = [u64; 4];

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const RBAC_KINDS: [&str; 4] = ["roles", "clusterroles", "rolebindings", "clusterrolebindings"];

impl Authorizer {
    /// Authorising with `mode`, reading RBAC objects and pods from `registry`.
    pub fn new(mode: Mode, registry: Registry) -> Self {
        Self { mode, registry, index: Mutex::new(None) }
    }

    /// Whether `user` may make the request `info`.
    pub fn decide(&self, user: &UserInfo, info: &RequestInfo) -> Decision {
        if self.mode == Mode::AlwaysAllow {
            return Decision::Allow(String::new());
        }
        if user.in_group(MASTERS) {
            return Decision::Allow(format!("the user is in the {MASTERS} group"));
        }
        let node_reason = match node::decide(&self.registry, user, info) {
            node::Verdict::Allow => return Decision::Allow("allowed by the Node authorizer".into()),
            node::Verdict::Deny(reason) => return Decision::Deny(reason),
            node::Verdict::NoOpinion(reason) => reason,
        };
        let attributes = rbac::Attributes {
            user,
            verb: info.verb,
            resource_request: info.resource_request,
            namespace: &info.namespace,
            api_group: &info.api_group,
            resource: &info.resource,
            subresource: &info.subresource,
            name: &info.name,
            path: &info.path,
        };
        match self.index().authorize(&attributes) {
            rbac::Decision::Allow { reason } => Decision::Allow(reason),
            rbac::Decision::NoOpinion => Decision::Deny(node_reason.unwrap_or_default()),
        }
    }

    /// 403 unless `user` may make the request.
    pub fn authorize(&self, user: &UserInfo, info: &RequestInfo) -> Result<(), ApiError> {
        match self.decide(user, info) {
            Decision::Allow(_) => Ok(()),
            Decision::Deny(reason) => Err(forbidden(user, info, &reason)),
        }
    }

    /// The current RBAC index, rebuilt when an RBAC object changed since it was built.
    pub fn index(&self) -> Arc<rbac::Index> {
        let fingerprint: Fingerprint = self
            .registry
            .store()
            .read(|state| RBAC_KINDS.map(|plural| state.last_write(&format!("{RBAC_GROUP}/{plural}"))));
        let mut cached = self.index.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((built, index)) = cached.as_ref()
            && *built == fingerprint
        {
            return index.clone();
        }
        let index = Arc::new(self.build_index());
        *cached = Some((fingerprint, index.clone()));
        index
    }

    fn build_index(&self) -> rbac::Index {
        let list = |plural: &str| -> Vec<Value> {
            let Some(rt) = kinds::by_plural(RBAC_GROUP, "v1", plural) else { return Vec::new() };
            self.registry
                .list(rt, None, &ListOptions::default())
                .map(|page| page.items.iter().map(|o| o.value()).collect())
                .unwrap_or_default()
        };
        rbac::Index::build(
            &list("roles"),
            &list("clusterroles"),
            &list("rolebindings"),
            &list("clusterrolebindings"),
        )
    }
}

/// Kubernetes' 403: `pods "web" is forbidden: User "alice" cannot get resource "pods" in API group "" in the
/// namespace "dev"`, or `forbidden: User "alice" cannot get path "/metrics"`.
pub fn forbidden(user: &UserInfo, info: &RequestInfo, reason: &str) -> ApiError {
    let suffix = if reason.is_empty() { String::new() } else { format!(": {reason}") };
    if !info.resource_request {
        return ApiError {
            code: 403,
            reason: "Forbidden",
            message: format!(
                "forbidden: User \"{}\" cannot {} path \"{}\"{suffix}",
                user.name, info.verb, info.path
            ),
            details: None,
        };
    }
    let qualified = if info.api_group.is_empty() {
        info.resource.clone()
    } else {
        format!("{}.{}", info.resource, info.api_group)
    };
    let subject = if info.name.is_empty() { qualified } else { format!("{qualified} \"{}\"", info.name) };
    let scope = if info.namespace.is_empty() {
        "at the cluster scope".to_owned()
    } else {
        format!("in the namespace \"{}\"", info.namespace)
    };
    let mut details = json!({"group": info.api_group, "kind": info.resource});
    if !info.name.is_empty() {
        details["name"] = json!(info.name);
    }
    ApiError {
        code: 403,
        reason: "Forbidden",
        message: format!(
            "{subject} is forbidden: User \"{}\" cannot {} resource \"{}\" in API group \"{}\" {scope}{suffix}",
            user.name,
            info.verb,
            info.resource_and_subresource(),
            info.api_group
        ),
        details: Some(details),
    }
}
