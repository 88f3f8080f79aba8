//! The bootstrap policy: kube-apiserver's default ClusterRoles and ClusterRoleBindings
//! (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go, as its testdata renders it for 1.30+).
//!
//! Left out: the per-controller `system:controller:*` roles (controller_policy.go; Wharf's controller
//! manager runs under one identity), roles for add-ons Wharf does not ship (heapster, kube-dns,
//! persistent-volume-provisioner, node-problem-detector, kubelet-api-admin, the CSR signer approvers) and
//! rules for resource.k8s.io (dynamic resource allocation).

use serde_json::{Map, Value, json};

use super::PolicyRule;

/// The label every bootstrap object carries: `kubernetes.io/bootstrapping: rbac-defaults`.
pub const BOOTSTRAP_LABEL: (&str, &str) = ("kubernetes.io/bootstrapping", "rbac-defaults");
/// The annotation (value `"true"`) that lets the server reconcile a bootstrap object on start-up.
pub const AUTO_UPDATE_ANNOTATION: &str = "rbac.authorization.kubernetes.io/autoupdate";

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];
const READ_WRITE: &[&str] =
    &["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"];
const EVENT_WRITE: &[&str] = &["create", "update", "patch"];

const CORE: &[&str] = &[""];
const APPS: &[&str] = &["apps"];
const AUTHN: &[&str] = &["authentication.k8s.io"];
const AUTHZ: &[&str] = &["authorization.k8s.io"];
const BATCH: &[&str] = &["batch"];
const CERTS: &[&str] = &["certificates.k8s.io"];
const COORDINATION: &[&str] = &["coordination.k8s.io"];
const DISCOVERY: &[&str] = &["discovery.k8s.io"];
const EVENTS: &[&str] = &["", "events.k8s.io"];
const EXTENSIONS: &[&str] = &["extensions"];
const NETWORKING: &[&str] = &["networking.k8s.io"];
const POLICY: &[&str] = &["policy"];
const STORAGE: &[&str] = &["storage.k8s.io"];

const AGGREGATE_TO_ADMIN: &str = "rbac.authorization.k8s.io/aggregate-to-admin";
const AGGREGATE_TO_EDIT: &str = "rbac.authorization.k8s.io/aggregate-to-edit";
const AGGREGATE_TO_VIEW: &str = "rbac.authorization.k8s.io/aggregate-to-view";

/// Sorted and deduplicated, as Kubernetes' `PolicyRuleBuilder` leaves its lists.
fn list(items: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = items.iter().map(|s| (*s).to_owned()).collect();
    out.sort();
    out.dedup();
    out
}

/// `resources` (like `names` and `urls` below) is a whitespace-separated list.
fn rule(verbs: &[&str], groups: &[&str], resources: &str) -> PolicyRule {
    let resources: Vec<&str> = resources.split_whitespace().collect();
    PolicyRule {
        verbs: list(verbs),
        api_groups: list(groups),
        resources: list(&resources),
        ..PolicyRule::default()
    }
}

fn named(verbs: &[&str], groups: &[&str], resources: &str, names: &str) -> PolicyRule {
    let names: Vec<&str> = names.split_whitespace().collect();
    PolicyRule { resource_names: list(&names), ..rule(verbs, groups, resources) }
}

fn urls(verbs: &[&str], urls: &str) -> PolicyRule {
    let urls: Vec<&str> = urls.split_whitespace().collect();
    PolicyRule { verbs: list(verbs), non_resource_urls: list(&urls), ..PolicyRule::default() }
}

fn metadata(name: &str, labels: &[(&str, &str)]) -> Value {
    let mut map = Map::new();
    for (k, v) in std::iter::once(&BOOTSTRAP_LABEL).chain(labels) {
        map.insert((*k).to_owned(), Value::from(*v));
    }
    json!({ "name": name, "labels": map, "annotations": { AUTO_UPDATE_ANNOTATION: "true" } })
}

fn role(name: &str, labels: &[(&str, &str)], rules: &[PolicyRule]) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": metadata(name, labels),
        "rules": rules,
    })
}

/// A role filled by aggregation from the roles labelled `<aggregate_from>: "true"`.
fn aggregated(name: &str, labels: &[(&str, &str)], aggregate_from: &str) -> Value {
    let mut obj = role(name, labels, &[]);
    obj["aggregationRule"] =
        json!({ "clusterRoleSelectors": [{ "matchLabels": { aggregate_from: "true" } }] });
    obj
}

fn binding(name: &str, subjects: &[(&str, &str)]) -> Value {
    let subjects: Vec<Value> = subjects
        .iter()
        .map(|(kind, who)| json!({ "apiGroup": RBAC_GROUP, "kind": kind, "name": who }))
        .collect();
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": metadata(name, &[]),
        "roleRef": { "apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name },
        "subjects": subjects,
    })
}

fn view_rules() -> Vec<PolicyRule> {
    vec![
        rule(
            READ,
            CORE,
            "pods replicationcontrollers replicationcontrollers/scale serviceaccounts services \
             services/status endpoints persistentvolumeclaims persistentvolumeclaims/status configmaps",
        ),
        rule(
            READ,
            CORE,
            "limitranges resourcequotas bindings pods/status resourcequotas/status namespaces/status \
             replicationcontrollers/status pods/log",
        ),
        // Reading namespaces at namespace scope means reading *this* namespace.
        rule(READ, CORE, "namespaces"),
        rule(READ, EVENTS, "events"),
        rule(READ, DISCOVERY, "endpointslices"),
        rule(
            READ,
            APPS,
            "controllerrevisions statefulsets statefulsets/status statefulsets/scale daemonsets \
             daemonsets/status deployments deployments/status deployments/scale replicasets \
             replicasets/status replicasets/scale",
        ),
        rule(READ, &["autoscaling"], "horizontalpodautoscalers horizontalpodautoscalers/status"),
        rule(READ, BATCH, "jobs jobs/status cronjobs cronjobs/status"),
        rule(
            READ,
            EXTENSIONS,
            "daemonsets daemonsets/status deployments deployments/scale deployments/status ingresses \
             ingresses/status replicasets replicasets/scale replicasets/status \
             replicationcontrollers/scale networkpolicies",
        ),
        rule(READ, POLICY, "poddisruptionbudgets poddisruptionbudgets/status"),
        rule(READ, NETWORKING, "networkpolicies ingresses ingresses/status"),
    ]
}

fn edit_rules() -> Vec<PolicyRule> {
    vec![
        // Reads of escalating resources.
        rule(READ, CORE, "pods/attach pods/proxy pods/exec pods/portforward secrets services/proxy"),
        rule(&["impersonate"], CORE, "serviceaccounts"),
        rule(WRITE, CORE, "pods pods/attach pods/proxy pods/exec pods/portforward"),
        rule(&["create"], CORE, "pods/eviction"),
        rule(
            WRITE,
            CORE,
            "replicationcontrollers replicationcontrollers/scale serviceaccounts services services/proxy \
             persistentvolumeclaims configmaps secrets",
        ),
        rule(&["create"], CORE, "serviceaccounts/token"),
        rule(WRITE, EVENTS, "events"),
        rule(
            WRITE,
            APPS,
            "statefulsets statefulsets/scale daemonsets deployments deployments/scale \
             deployments/rollback replicasets replicasets/scale",
        ),
        rule(WRITE, &["autoscaling"], "horizontalpodautoscalers"),
        rule(WRITE, BATCH, "jobs cronjobs"),
        rule(
            WRITE,
            EXTENSIONS,
            "daemonsets deployments deployments/scale deployments/rollback ingresses replicasets \
             replicasets/scale replicationcontrollers/scale networkpolicies",
        ),
        rule(WRITE, POLICY, "poddisruptionbudgets"),
        rule(WRITE, NETWORKING, "networkpolicies ingresses"),
        rule(READ_WRITE, COORDINATION, "leases"),
    ]
}

fn admin_rules() -> Vec<PolicyRule> {
    vec![
        rule(&["create"], AUTHZ, "localsubjectaccessreviews"),
        rule(READ_WRITE, &[RBAC_GROUP], "roles rolebindings"),
    ]
}

fn scheduler_rules() -> Vec<PolicyRule> {
    vec![
        rule(EVENT_WRITE, EVENTS, "events"),
        rule(&["create"], COORDINATION, "leases"),
        named(&["get", "list", "update", "watch"], COORDINATION, "leases", "kube-scheduler"),
        rule(READ_WRITE, COORDINATION, "leasecandidates"),
        rule(READ, CORE, "nodes"),
        rule(&["get", "list", "watch", "delete"], CORE, "pods"),
        rule(&["create"], CORE, "pods/binding bindings"),
        rule(&["patch", "update"], CORE, "pods/status"),
        rule(READ, CORE, "replicationcontrollers services"),
        rule(READ, &["apps", "extensions"], "replicasets"),
        rule(READ, APPS, "statefulsets"),
        rule(READ, POLICY, "poddisruptionbudgets"),
        rule(READ, CORE, "persistentvolumeclaims persistentvolumes"),
        rule(&["create"], AUTHN, "tokenreviews"),
        rule(&["create"], AUTHZ, "subjectaccessreviews"),
        rule(READ, STORAGE, "csinodes"),
        rule(READ, STORAGE, "volumeattachments"),
        rule(READ, CORE, "namespaces"),
        rule(READ, STORAGE, "csidrivers"),
        rule(READ, STORAGE, "csistoragecapacities"),
    ]
}

/// Kubernetes' `system:kube-controller-manager` only bootstraps per-controller service accounts
/// (`--use-service-account-credentials`). Wharf's controller manager works under this one identity, so the
/// rules after Kubernetes' own grant the union of what its controllers need: reads of everything, and the
/// generic garbage collector's and namespace controller's update/patch/delete on everything (status,
/// scale and finalize subresources included); creates are limited to what controllers create.
fn controller_manager_rules() -> Vec<PolicyRule> {
    vec![
        rule(EVENT_WRITE, EVENTS, "events"),
        rule(&["create"], COORDINATION, "leases"),
        named(&["get", "update"], COORDINATION, "leases", "kube-controller-manager"),
        rule(&["create"], CORE, "secrets serviceaccounts"),
        rule(&["delete"], CORE, "secrets"),
        rule(&["get"], CORE, "secrets serviceaccounts configmaps namespaces"),
        rule(&["update"], CORE, "secrets serviceaccounts"),
        rule(&["create"], AUTHN, "tokenreviews"),
        rule(&["create"], AUTHZ, "subjectaccessreviews"),
        rule(&["list", "watch"], &["*"], "*"),
        rule(&["create"], CORE, "serviceaccounts/token"),
        // Wharf: one identity for every controller.
        rule(&["get", "update", "patch", "delete", "deletecollection"], &["*"], "*"),
        rule(&["create"], CORE, "pods pods/eviction endpoints persistentvolumeclaims configmaps"),
        rule(&["create"], APPS, "replicasets controllerrevisions"),
        rule(&["create"], BATCH, "jobs"),
        rule(&["create"], DISCOVERY, "endpointslices"),
        rule(READ_WRITE, COORDINATION, "leases"),
    ]
}

/// What kubelets need, next to the Node authorizer. Unlike Kubernetes' role this grants no secrets or
/// configmaps: the Node authorizer grants those for the pods bound to the node.
fn node_rules() -> Vec<PolicyRule> {
    vec![
        rule(&["create"], AUTHN, "tokenreviews"),
        rule(&["create"], AUTHZ, "subjectaccessreviews localsubjectaccessreviews"),
        rule(READ, CORE, "services"),
        rule(&["create", "get", "list", "watch"], CORE, "nodes"),
        rule(&["update", "patch"], CORE, "nodes/status"),
        rule(&["update", "patch"], CORE, "nodes"),
        rule(EVENT_WRITE, EVENTS, "events"),
        rule(READ, CORE, "pods"),
        // Mirror pods; the NodeRestriction admission plugin limits them to the node's own.
        rule(&["create", "delete"], CORE, "pods"),
        rule(&["update", "patch"], CORE, "pods/status"),
        rule(&["create"], CORE, "pods/eviction"),
        rule(&["get"], CORE, "persistentvolumeclaims persistentvolumes"),
        rule(&["get"], CORE, "endpoints"),
        rule(&["create", "get", "list", "watch"], CERTS, "certificatesigningrequests"),
        rule(&["get", "create", "update", "patch", "delete"], COORDINATION, "leases"),
        rule(&["get"], STORAGE, "volumeattachments"),
        rule(&["create"], CORE, "serviceaccounts/token"),
        rule(&["get", "update", "patch"], CORE, "persistentvolumeclaims/status"),
        rule(READ, STORAGE, "csidrivers"),
        rule(&["get", "create", "update", "patch", "delete"], STORAGE, "csinodes"),
        rule(READ, &["node.k8s.io"], "runtimeclasses"),
        rule(&["get"], CORE, "serviceaccounts"),
    ]
}

/// The default ClusterRoles, as JSON objects ready to create. `admin`, `edit` and `view` have no rules:
/// aggregation fills them from `system:aggregate-to-*` (and view into edit into admin).
pub fn default_cluster_roles() -> Vec<Value> {
    let create = &["create"][..];
    vec![
        role("cluster-admin", &[], &[rule(&["*"], &["*"], "*"), urls(&["*"], "*")]),
        role(
            "system:discovery",
            &[],
            &[urls(
                &["get"],
                "/livez /readyz /healthz /version /version/ /openapi /openapi/* /api /api/* /apis /apis/*",
            )],
        ),
        role(
            "system:public-info-viewer",
            &[],
            &[urls(&["get"], "/livez /readyz /healthz /version /version/")],
        ),
        role(
            "system:basic-user",
            &[],
            &[
                rule(create, AUTHZ, "selfsubjectaccessreviews selfsubjectrulesreviews"),
                rule(create, AUTHN, "selfsubjectreviews"),
            ],
        ),
        aggregated("admin", &[], AGGREGATE_TO_ADMIN),
        aggregated("edit", &[(AGGREGATE_TO_ADMIN, "true")], AGGREGATE_TO_EDIT),
        aggregated("view", &[(AGGREGATE_TO_EDIT, "true")], AGGREGATE_TO_VIEW),
        role("system:aggregate-to-admin", &[(AGGREGATE_TO_ADMIN, "true")], &admin_rules()),
        role("system:aggregate-to-edit", &[(AGGREGATE_TO_EDIT, "true")], &edit_rules()),
        role("system:aggregate-to-view", &[(AGGREGATE_TO_VIEW, "true")], &view_rules()),
        role(
            "system:monitoring",
            &[],
            &[
                urls(
                    &["get"],
                    "/metrics /metrics/slis /livez /readyz /healthz /livez/* /readyz/* /healthz/* /statusz",
                ),
                rule(&["get"], CORE, "nodes/metrics"),
            ],
        ),
        role(
            "system:auth-delegator",
            &[],
            &[rule(create, AUTHN, "tokenreviews"), rule(create, AUTHZ, "subjectaccessreviews")],
        ),
        role("system:node", &[], &node_rules()),
        role(
            "system:node-proxier",
            &[],
            &[
                rule(&["list", "watch"], CORE, "services endpoints"),
                rule(READ, CORE, "nodes"),
                rule(EVENT_WRITE, EVENTS, "events"),
                rule(&["list", "watch"], NETWORKING, "servicecidrs"),
                rule(&["list", "watch"], DISCOVERY, "endpointslices"),
            ],
        ),
        role("system:kube-scheduler", &[], &scheduler_rules()),
        role(
            "system:volume-scheduler",
            &[],
            &[
                rule(&["get", "list", "watch", "update", "patch"], CORE, "persistentvolumes"),
                rule(READ, STORAGE, "storageclasses"),
                rule(&["get", "list", "watch", "update", "patch"], CORE, "persistentvolumeclaims"),
            ],
        ),
        role("system:kube-controller-manager", &[], &controller_manager_rules()),
        role(
            "system:node-bootstrapper",
            &[],
            &[rule(&["create", "get", "list", "watch"], CERTS, "certificatesigningrequests")],
        ),
        role(
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            &[],
            &[rule(create, CERTS, "certificatesigningrequests/nodeclient")],
        ),
        role(
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            &[],
            &[rule(create, CERTS, "certificatesigningrequests/selfnodeclient")],
        ),
        role(
            "system:service-account-issuer-discovery",
            &[],
            &[urls(
                &["get"],
                "/.well-known/openid-configuration /.well-known/openid-configuration/ /openid/v1/jwks \
                 /openid/v1/jwks/",
            )],
        ),
    ]
}

/// The default ClusterRoleBindings, each named after the ClusterRole it binds. `system:node` is bound to
/// nobody (nodes get it through the Node authorizer and the server's own binding); the bootstrap-token and
/// CSR bindings are the ones kubeadm makes.
pub fn default_cluster_role_bindings() -> Vec<Value> {
    let (user, group) = ("User", "Group");
    vec![
        binding("cluster-admin", &[(group, "system:masters")]),
        binding("system:basic-user", &[(group, "system:authenticated")]),
        binding("system:discovery", &[(group, "system:authenticated")]),
        binding(
            "system:public-info-viewer",
            &[(group, "system:authenticated"), (group, "system:unauthenticated")],
        ),
        binding("system:monitoring", &[(group, "system:monitoring")]),
        binding("system:service-account-issuer-discovery", &[(group, "system:serviceaccounts")]),
        binding("system:kube-scheduler", &[(user, "system:kube-scheduler")]),
        binding("system:volume-scheduler", &[(user, "system:kube-scheduler")]),
        binding("system:kube-controller-manager", &[(user, "system:kube-controller-manager")]),
        binding("system:node-proxier", &[(user, "system:kube-proxy")]),
        binding("system:node-bootstrapper", &[(group, "system:bootstrappers")]),
        binding(
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            &[(group, "system:bootstrappers")],
        ),
        binding(
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            &[(group, "system:nodes")],
        ),
    ]
}
