//! The table of every kind the API serves: names, scope, discovery data and the typed hooks for admission.

use k8s_openapi::api::{
    apps, authentication, authorization, batch, certificates, coordination, core, discovery, networking,
    policy, rbac, scheduling,
};

use super::admission::{Typed, TypedKind};

/// A subresource of a kind, as discovery lists it and the router dispatches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subresource {
    /// `…/status`: get, update and patch of `status` alone.
    Status,
    /// `…/scale`: an `autoscaling/v1` Scale view of `spec.replicas`.
    Scale,
    /// `pods/{name}/binding`: assigns a node.
    Binding,
    /// `pods/{name}/log`: the container's output, served by the node agent.
    Log,
    /// `namespaces/{name}/finalize`: updates `spec.finalizers`.
    Finalize,
    /// `pods/{name}/eviction`: a deletion that respects PodDisruptionBudgets (policy/v1 Eviction).
    Eviction,
    /// `certificatesigningrequests/{name}/approval`: the Approved and Denied conditions.
    Approval,
    /// `serviceaccounts/{name}/token`: a TokenRequest for a bound, expiring ServiceAccount token.
    Token,
    /// `pods/{name}/exec`, `attach` and `portforward`: listed so kubectl finds them, answered with an explanation
    /// (a wasm guest has no shell, terminal or ports to forward).
    Exec,
    /// See [`Subresource::Exec`].
    Attach,
    /// See [`Subresource::Exec`].
    PortForward,
}

impl Subresource {
    /// The path segment.
    pub fn name(self) -> &'static str {
        match self {
            Subresource::Status => "status",
            Subresource::Scale => "scale",
            Subresource::Binding => "binding",
            Subresource::Log => "log",
            Subresource::Finalize => "finalize",
            Subresource::Eviction => "eviction",
            Subresource::Token => "token",
            Subresource::Approval => "approval",
            Subresource::Exec => "exec",
            Subresource::Attach => "attach",
            Subresource::PortForward => "portforward",
        }
    }

    /// The verbs discovery advertises for it.
    pub fn verbs(self) -> &'static [&'static str] {
        match self {
            Subresource::Status | Subresource::Scale | Subresource::Approval => &["get", "patch", "update"],
            Subresource::Binding | Subresource::Eviction | Subresource::Token => &["create"],
            Subresource::Exec | Subresource::Attach | Subresource::PortForward => &["create", "get"],
            Subresource::Log => &["get"],
            Subresource::Finalize => &["update"],
        }
    }

    /// The kind a request to it returns: (group, version, kind).
    pub fn response_kind(self, parent: &ResourceType) -> (&'static str, &'static str, &'static str) {
        match self {
            Subresource::Scale => ("autoscaling", "v1", "Scale"),
            Subresource::Binding => ("", "v1", "Binding"),
            Subresource::Eviction => ("policy", "v1", "Eviction"),
            Subresource::Token => ("authentication.k8s.io", "v1", "TokenRequest"),
            Subresource::Exec => ("", "v1", "PodExecOptions"),
            Subresource::Attach => ("", "v1", "PodAttachOptions"),
            Subresource::PortForward => ("", "v1", "PodPortForwardOptions"),
            Subresource::Log => ("", "v1", "Pod"),
            Subresource::Status | Subresource::Finalize | Subresource::Approval => {
                (parent.group, parent.version, parent.kind)
            }
        }
    }
}

/// Every verb of a fully served resource.
pub const ALL_VERBS: &[&str] =
    &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

/// One kind the API serves.
pub struct ResourceType {
    /// API group; empty for core.
    pub group: &'static str,
    /// API version within the group.
    pub version: &'static str,
    /// `kind`, as in the objects.
    pub kind: &'static str,
    /// The plural resource name used in URLs.
    pub plural: &'static str,
    /// The singular name kubectl accepts.
    pub singular: &'static str,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Abbreviations kubectl resolves (`po`, `deploy`).
    pub short_names: &'static [&'static str],
    /// Categories such as `all`.
    pub categories: &'static [&'static str],
    /// The subresources served.
    pub subresources: &'static [Subresource],
    /// Field paths usable in `fieldSelector`, besides `metadata.name` and `metadata.namespace`.
    pub selectable_fields: &'static [&'static str],
    /// The store's key prefix for this kind.
    pub storage: &'static str,
    /// Whether objects are stored; the review kinds (`SelfSubjectAccessReview`, …) are only ever created, and the
    /// answer is computed.
    pub stored: bool,
    /// Typed decoding, defaulting and validation.
    pub typed: &'static dyn TypedKind,
}

impl std::fmt::Debug for ResourceType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.api_version(), self.plural)
    }
}

impl ResourceType {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, or `pods` for core: the name Kubernetes uses in error messages.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() { self.plural.to_owned() } else { format!("{}.{}", self.plural, self.group) }
    }

    /// The verbs served: every verb, or only `create` for the review kinds.
    pub fn verbs(&self) -> &'static [&'static str] {
        if self.stored { ALL_VERBS } else { &["create"] }
    }

    /// Whether a subresource is served.
    pub fn has(&self, sub: Subresource) -> bool {
        self.subresources.contains(&sub)
    }
}

macro_rules! kind {
    ($group:literal, $version:literal, $kind:literal, $plural:literal, $singular:literal, $namespaced:literal, $ty:ty,
     short: [$($short:literal),*], categories: [$($cat:literal),*], sub: [$($sub:ident),*],
     fields: [$($field:literal),*] $(,)?) => {
        ResourceType {
            group: $group,
            version: $version,
            kind: $kind,
            plural: $plural,
            singular: $singular,
            namespaced: $namespaced,
            short_names: &[$($short),*],
            categories: &[$($cat),*],
            subresources: &[$(Subresource::$sub),*],
            selectable_fields: &[$($field),*],
            storage: if $group.is_empty() { $plural } else { concat!($group, "/", $plural) },
            stored: true,
            typed: &Typed::<$ty>::NEW,
        }
    };
}

/// A review kind: created to ask a question, never stored.
macro_rules! review {
    ($group:literal, $kind:literal, $plural:literal, $singular:literal, $namespaced:literal, $ty:ty) => {
        ResourceType {
            stored: false,
            ..kind!($group, "v1", $kind, $plural, $singular, $namespaced, $ty,
                short: [], categories: [], sub: [], fields: [])
        }
    };
}

/// Every kind served, in discovery order.
pub static KINDS: &[ResourceType] = &[
    kind!("", "v1", "Namespace", "namespaces", "namespace", false, core::v1::Namespace,
        short: ["ns"], categories: [], sub: [Status, Finalize], fields: ["status.phase"]),
    kind!("", "v1", "Pod", "pods", "pod", true, core::v1::Pod,
        short: ["po"], categories: ["all"], sub: [Status, Binding, Log, Eviction, Exec, Attach, PortForward],
        fields: ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                 "status.phase", "status.podIP", "status.nominatedNodeName"]),
    kind!("", "v1", "Service", "services", "service", true, core::v1::Service,
        short: ["svc"], categories: ["all"], sub: [Status], fields: []),
    kind!("", "v1", "ConfigMap", "configmaps", "configmap", true, core::v1::ConfigMap,
        short: ["cm"], categories: [], sub: [], fields: []),
    kind!("", "v1", "Secret", "secrets", "secret", true, core::v1::Secret,
        short: [], categories: [], sub: [], fields: ["type"]),
    kind!("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", true, core::v1::ServiceAccount,
        short: ["sa"], categories: [], sub: [Token], fields: []),
    kind!("", "v1", "Node", "nodes", "node", false, core::v1::Node,
        short: ["no"], categories: [], sub: [Status], fields: ["spec.unschedulable"]),
    kind!("", "v1", "Event", "events", "event", true, core::v1::Event,
        short: ["ev"], categories: [], sub: [],
        fields: ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                 "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
                 "reason", "reportingComponent", "source", "type"]),
    kind!("apps", "v1", "Deployment", "deployments", "deployment", true, apps::v1::Deployment,
        short: ["deploy"], categories: ["all"], sub: [Status, Scale], fields: []),
    kind!("apps", "v1", "ReplicaSet", "replicasets", "replicaset", true, apps::v1::ReplicaSet,
        short: ["rs"], categories: ["all"], sub: [Status, Scale], fields: ["status.replicas"]),
    kind!("apps", "v1", "DaemonSet", "daemonsets", "daemonset", true, apps::v1::DaemonSet,
        short: ["ds"], categories: ["all"], sub: [Status], fields: []),
    kind!("batch", "v1", "Job", "jobs", "job", true, batch::v1::Job,
        short: [], categories: ["all"], sub: [Status], fields: ["status.successful"]),
    kind!("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", "networkpolicy", true, networking::v1::NetworkPolicy,
        short: ["netpol"], categories: [], sub: [], fields: []),
    kind!("coordination.k8s.io", "v1", "Lease", "leases", "lease", true, coordination::v1::Lease,
        short: [], categories: [], sub: [], fields: []),
    kind!("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", true, discovery::v1::EndpointSlice,
        short: [], categories: [], sub: [], fields: []),
    kind!("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", "priorityclass", false, scheduling::v1::PriorityClass,
        short: ["pc"], categories: [], sub: [], fields: []),
    kind!("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget", true, policy::v1::PodDisruptionBudget,
        short: ["pdb"], categories: [], sub: [Status], fields: []),
    kind!("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", false, rbac::v1::ClusterRole,
        short: [], categories: [], sub: [], fields: []),
    kind!("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", false,
        rbac::v1::ClusterRoleBinding, short: [], categories: [], sub: [], fields: []),
    kind!("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", true, rbac::v1::Role,
        short: [], categories: [], sub: [], fields: []),
    kind!("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", true, rbac::v1::RoleBinding,
        short: [], categories: [], sub: [], fields: []),
    kind!("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests",
        "certificatesigningrequest", false, certificates::v1::CertificateSigningRequest,
        short: ["csr"], categories: [], sub: [Status, Approval], fields: ["spec.signerName"]),
    review!(
        "authorization.k8s.io",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        false,
        authorization::v1::SelfSubjectAccessReview
    ),
    review!(
        "authorization.k8s.io",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        "selfsubjectrulesreview",
        false,
        authorization::v1::SelfSubjectRulesReview
    ),
    review!(
        "authorization.k8s.io",
        "SubjectAccessReview",
        "subjectaccessreviews",
        "subjectaccessreview",
        false,
        authorization::v1::SubjectAccessReview
    ),
    review!(
        "authorization.k8s.io",
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
        "localsubjectaccessreview",
        true,
        authorization::v1::LocalSubjectAccessReview
    ),
    review!(
        "authentication.k8s.io",
        "SelfSubjectReview",
        "selfsubjectreviews",
        "selfsubjectreview",
        false,
        authentication::v1::SelfSubjectReview
    ),
    review!(
        "authentication.k8s.io",
        "TokenReview",
        "tokenreviews",
        "tokenreview",
        false,
        authentication::v1::TokenReview
    ),
];

/// The kind served at `group/version` under `plural`.
pub fn by_plural(group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
    KINDS.iter().find(|k| k.group == group && k.version == version && k.plural == plural)
}

/// The kind whose objects are stored under `storage`.
pub fn by_storage(storage: &str) -> Option<&'static ResourceType> {
    KINDS.iter().find(|k| k.storage == storage)
}

/// The kind of a (group, kind) pair.
pub fn by_kind(group: &str, kind: &str) -> Option<&'static ResourceType> {
    KINDS.iter().find(|k| k.group == group && k.kind == kind)
}

/// The API groups served (excluding core), each with its one version, in discovery order.
pub fn groups() -> Vec<(&'static str, &'static str)> {
    let mut groups: Vec<(&str, &str)> = Vec::new();
    for k in KINDS.iter().filter(|k| !k.group.is_empty()) {
        if !groups.iter().any(|(g, _)| *g == k.group) {
            groups.push((k.group, k.version));
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_unique_plural_short_name_and_storage_prefix() {
        let mut seen = std::collections::HashSet::new();
        for k in KINDS {
            assert!(seen.insert(k.storage), "duplicate storage {}", k.storage);
            for s in k.short_names {
                assert!(seen.insert(s), "duplicate short name {s}");
            }
            assert_eq!(k.singular, k.kind.to_lowercase());
        }
        assert_eq!(by_plural("apps", "v1", "deployments").map(|k| k.kind), Some("Deployment"));
        assert_eq!(by_storage("pods").map(|k| k.kind), Some("Pod"));
        assert!(by_plural("", "v1", "deployments").is_none());
    }
}
