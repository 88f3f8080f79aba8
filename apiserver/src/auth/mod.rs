//! Who is asking and whether they may: the request pipeline's security half, in kube-apiserver's order.
//!
//! - [`request`]: each request parsed once into a [`request::RequestInfo`] (verb, group, resource, namespace…).
//! - [`authn`]: the user behind a request: a client certificate (CN = user, O = groups), a bearer token from the
//!   token file, a ServiceAccount token ([`tokens`], signed with [`jwt`]) or a bootstrap token; otherwise
//!   `system:anonymous`, which gets 401 unless anonymous requests are enabled.
//! - [`authz`]: `system:masters`, then the Node authoriser ([`node`]), then RBAC ([`rbac`]); 403 when none allows.
//! - [`reviews`]: SelfSubjectAccessReview, SubjectAccessReview, SelfSubjectRulesReview and SelfSubjectReview, so
//!   `kubectl auth can-i` and `kubectl auth whoami` work; [`escalation`]: nobody grants what they do not hold;
//!   [`impersonation`]: `kubectl --as`.
//! - [`pipeline`]: the two middlewares that put these around every handler, with audit and fair sharing
//!   between them.

pub mod authn;
pub mod authz;
pub mod csr;
pub mod escalation;
pub mod impersonation;
pub mod jwt;
pub mod node;
pub mod pipeline;
pub mod rbac;
pub mod request;
pub mod reviews;
pub mod tokens;

use serde_json::{Value, json};

/// The group every authenticated user is in.
pub const AUTHENTICATED: &str = "system:authenticated";
/// The group of requests without credentials.
pub const UNAUTHENTICATED: &str = "system:unauthenticated";
/// The group whose members may do anything, unchecked.
pub const MASTERS: &str = "system:masters";
/// The group of node identities.
pub const NODES: &str = "system:nodes";
/// The user name prefix of node identities.
pub const NODE_PREFIX: &str = "system:node:";

pub use rbac::UserInfo;

impl UserInfo {
    /// An authenticated user in `groups` (plus `system:authenticated`).
    pub fn new(name: impl Into<String>, groups: impl IntoIterator<Item = String>) -> Self {
        let mut groups: Vec<String> = groups.into_iter().collect();
        if !groups.iter().any(|g| g == AUTHENTICATED) {
            groups.push(AUTHENTICATED.to_owned());
        }
        Self { name: name.into(), groups, ..Self::default() }
    }

    /// `system:anonymous` in `system:unauthenticated`.
    pub fn anonymous() -> Self {
        Self { name: "system:anonymous".into(), groups: vec![UNAUTHENTICATED.into()], ..Self::default() }
    }

    /// Whether the user is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// The node this identity belongs to: `system:node:<name>` in `system:nodes`.
    pub fn node_name(&self) -> Option<&str> {
        self.name.strip_prefix(NODE_PREFIX).filter(|n| !n.is_empty() && self.in_group(NODES))
    }

    /// The `authentication.k8s.io/v1` UserInfo form.
    pub fn to_json(&self) -> Value {
        let mut info = json!({"username": self.name, "groups": self.groups});
        if !self.uid.is_empty() {
            info["uid"] = json!(self.uid);
        }
        if !self.extra.is_empty() {
            info["extra"] = json!(self.extra);
        }
        info
    }
}
