//! Kubernetes RBAC (rbac.authorization.k8s.io/v1) evaluation, with Kubernetes' semantics.
//!
//! - [`Index`]: a snapshot of every Role, ClusterRole, RoleBinding and ClusterRoleBinding, indexed by
//!   subject. [`Index::authorize`] is kube's RBAC authorizer (plugin/pkg/auth/authorizer/rbac/rbac.go),
//!   [`Index::rules_for`] is its `RulesFor` (SelfSubjectRulesReview, escalation checks).
//! - [`uncovered`]: escalation prevention, component-helpers' `Covers` as used by rule.go's
//!   `ConfirmNoEscalation`.
//! - [`aggregated_rules`]: what the clusterrole-aggregation controller writes into aggregated ClusterRoles.
//! - [`default_cluster_roles`], [`default_cluster_role_bindings`]: the bootstrap policy (in `defaults.rs`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

pub mod bootstrap;
mod defaults;

pub use defaults::{
    AUTO_UPDATE_ANNOTATION, BOOTSTRAP_LABEL, default_cluster_role_bindings, default_cluster_roles,
};

/// `*` in verbs, apiGroups, resources and nonResourceURLs: everything.
const ALL: &str = "*";
/// The user-name prefix of service accounts: `system:serviceaccount:<namespace>:<name>`.
const SA_PREFIX: &str = "system:serviceaccount:";

/// Who is asking: the authenticated user, as kube-apiserver's `user.Info`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// The user name; `system:serviceaccount:<namespace>:<name>` for service accounts.
    pub name: String,
    /// The user's UID, when the authenticator knows one.
    pub uid: String,
    /// The groups the user is in (`system:authenticated`, `system:masters`, ...).
    pub groups: Vec<String>,
    /// Further authenticator-provided attributes; RBAC does not look at them.
    pub extra: BTreeMap<String, Vec<String>>,
}

/// What is asked: kube-apiserver's `authorizer.Attributes`.
#[derive(Clone, Copy, Debug)]
pub struct Attributes<'a> {
    /// Who asks.
    pub user: &'a UserInfo,
    /// `get`, `list`, `watch`, `create`, ...; for non-resource requests the lower-case HTTP method.
    pub verb: &'a str,
    /// True for API resource requests, false for non-resource URLs such as `/healthz`.
    pub resource_request: bool,
    /// The namespace; `""` when cluster-scoped, across all namespaces, or for non-resource URLs.
    pub namespace: &'a str,
    /// The API group, `""` for the core group.
    pub api_group: &'a str,
    /// The resource (plural, lower case).
    pub resource: &'a str,
    /// The subresource (`status`, `log`, `scale`, ...) or `""`.
    pub subresource: &'a str,
    /// The object's name; `""` for list, collection watch, deletecollection and create without a name.
    pub name: &'a str,
    /// The request path, for non-resource requests.
    pub path: &'a str,
}

impl<'a> Attributes<'a> {
    /// A resource request.
    pub fn resource(
        user: &'a UserInfo,
        verb: &'a str,
        namespace: &'a str,
        api_group: &'a str,
        resource: &'a str,
        subresource: &'a str,
        name: &'a str,
    ) -> Self {
        Attributes {
            user,
            verb,
            resource_request: true,
            namespace,
            api_group,
            resource,
            subresource,
            name,
            path: "",
        }
    }

    /// A non-resource request (`/healthz`, `/apis`, ...).
    pub fn non_resource(user: &'a UserInfo, verb: &'a str, path: &'a str) -> Self {
        Attributes {
            user,
            verb,
            resource_request: false,
            namespace: "",
            api_group: "",
            resource: "",
            subresource: "",
            name: "",
            path,
        }
    }
}

/// One rule of a Role or ClusterRole (rbac.authorization.k8s.io/v1 `PolicyRule`). `null` lists read as empty.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    /// The verbs allowed; `*` is every verb.
    #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub verbs: Vec<String>,
    /// The API groups (`""` is the core group); `*` is every group.
    #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    /// Resources, as `resource`, `resource/subresource` or `*/subresource`; `*` is every resource.
    #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// Object names the rule is limited to; empty is any name.
    #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    /// Non-resource URLs: exact paths, prefixes ending in `*`, or `*`.
    #[serde(
        default,
        rename = "nonResourceURLs",
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub non_resource_urls: Vec<String>,
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Option::<Vec<String>>::deserialize(d).map(Option::unwrap_or_default)
}

fn has(set: &[String], item: &str) -> bool {
    set.iter().any(|s| s == item)
}

fn has_or_all(set: &[String], item: &str) -> bool {
    set.iter().any(|s| s == ALL || s == item)
}

/// A rule's non-resource URL `pattern` against a path: `*`, exact, or a prefix ending in `*`.
fn url_matches(pattern: &str, path: &str) -> bool {
    pattern == path || (pattern.ends_with('*') && path.starts_with(pattern.trim_end_matches('*')))
}

impl PolicyRule {
    /// Whether this rule allows the request (rbac.go `RuleAllows`).
    pub fn allows(&self, attrs: &Attributes<'_>) -> bool {
        if !has_or_all(&self.verbs, attrs.verb) {
            return false;
        }
        if !attrs.resource_request {
            return self.non_resource_urls.iter().any(|u| url_matches(u, attrs.path));
        }
        has_or_all(&self.api_groups, attrs.api_group)
            && self.resource_matches(attrs.resource, attrs.subresource)
            && (self.resource_names.is_empty() || has(&self.resource_names, attrs.name))
    }

    /// evaluation_helpers.go `ResourceMatches`: `*`, the exact `resource[/subresource]`, or `*/subresource`.
    /// (`pods/*` is not a pattern: it only matches the literal resource `pods/*`.)
    fn resource_matches(&self, resource: &str, subresource: &str) -> bool {
        self.resources.iter().any(|r| {
            let combined = if subresource.is_empty() {
                r == resource
            } else {
                r.strip_prefix(resource).and_then(|rest| rest.strip_prefix('/')) == Some(subresource)
            };
            r == ALL || combined || (!subresource.is_empty() && r.strip_prefix("*/") == Some(subresource))
        })
    }
}

/// The RBAC authorizer's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// A rule allows the request.
    Allow {
        /// As kube words it: `RBAC: allowed by ClusterRoleBinding "b" of ClusterRole "r" to Group "g"`.
        reason: String,
    },
    /// No rule allows it: another authorizer decides, or the request is denied.
    NoOpinion,
}

impl Decision {
    /// Whether the request is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }
}

// ---------------------------------------------------------------------------------------------------------
// The index
// ---------------------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Subject {
    kind: String,
    name: String,
    namespace: String,
}

#[derive(Clone, Debug)]
struct Binding {
    name: String,
    /// `""` for ClusterRoleBindings.
    namespace: String,
    role_kind: String,
    role_name: String,
    subjects: Vec<Subject>,
    /// The referenced role's rules, or `None` when it does not exist.
    rules: Option<Arc<[PolicyRule]>>,
}

/// Bindings of one scope (cluster-wide, or one namespace) and the subjects that name them.
#[derive(Clone, Debug, Default)]
struct Scope {
    bindings: Vec<Binding>,
    /// Binding positions by user name, service accounts included as `system:serviceaccount:<ns>:<name>`.
    by_user: HashMap<String, Vec<usize>>,
    by_group: HashMap<String, Vec<usize>>,
}

impl Scope {
    fn push(&mut self, binding: Binding) {
        let at = self.bindings.len();
        for s in &binding.subjects {
            let (map, key) = match s.kind.as_str() {
                "User" => (&mut self.by_user, s.name.clone()),
                "Group" => (&mut self.by_group, s.name.clone()),
                "ServiceAccount" => match sa_namespace(s, &binding.namespace) {
                    "" => continue,
                    ns => (&mut self.by_user, format!("{SA_PREFIX}{ns}:{}", s.name)),
                },
                _ => continue,
            };
            let list = map.entry(key).or_default();
            if list.last() != Some(&at) {
                list.push(at);
            }
        }
        self.bindings.push(binding);
    }

    /// Visits, in their stored order, the bindings naming `user`, each with its first subject that applies.
    fn visit<'s>(
        &'s self,
        user: &UserInfo,
        f: &mut impl FnMut(&'s Binding, &'s Subject) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let mut candidates: Vec<usize> = self.by_user.get(&user.name).cloned().unwrap_or_default();
        for group in &user.groups {
            candidates.extend(self.by_group.get(group).into_iter().flatten());
        }
        candidates.sort_unstable();
        candidates.dedup();
        for at in candidates {
            let Some(binding) = self.bindings.get(at) else { continue };
            if let Some(subject) = binding.subjects.iter().find(|s| applies_to(user, s, &binding.namespace)) {
                f(binding, subject)?;
            }
        }
        ControlFlow::Continue(())
    }
}

/// A ServiceAccount subject's namespace, defaulting to the binding's (rule.go `appliesToUser`).
fn sa_namespace<'s>(subject: &'s Subject, binding_namespace: &'s str) -> &'s str {
    if subject.namespace.is_empty() { binding_namespace } else { &subject.namespace }
}

/// rule.go `appliesToUser`.
fn applies_to(user: &UserInfo, subject: &Subject, binding_namespace: &str) -> bool {
    match subject.kind.as_str() {
        "User" => user.name == subject.name,
        "Group" => has(&user.groups, &subject.name),
        "ServiceAccount" => {
            let ns = sa_namespace(subject, binding_namespace);
            !ns.is_empty()
                && user
                    .name
                    .strip_prefix(SA_PREFIX)
                    .and_then(|rest| rest.strip_prefix(ns))
                    .and_then(|rest| rest.strip_prefix(':'))
                    == Some(subject.name.as_str())
        }
        _ => false,
    }
}

/// rule.go's `clusterRoleBindingDescriber` / `roleBindingDescriber` (Go's `%q` rendered with Rust's `{:?}`).
fn describe(binding: &Binding, subject: &Subject) -> String {
    let who = if subject.kind == "ServiceAccount" {
        format!(
            "{} {:?}",
            subject.kind,
            format!("{}/{}", subject.name, sa_namespace(subject, &binding.namespace))
        )
    } else {
        format!("{} {:?}", subject.kind, subject.name)
    };
    if binding.namespace.is_empty() {
        format!(
            "ClusterRoleBinding {:?} of {} {:?} to {who}",
            binding.name, binding.role_kind, binding.role_name
        )
    } else {
        let name = format!("{}/{}", binding.name, binding.namespace);
        format!("RoleBinding {name:?} of {} {:?} to {who}", binding.role_kind, binding.role_name)
    }
}

fn str_at<'v>(v: Option<&'v Value>, key: &str) -> &'v str {
    v.and_then(|v| v.get(key)).and_then(Value::as_str).unwrap_or("")
}

fn meta<'v>(obj: &'v Value, key: &str) -> &'v str {
    str_at(obj.get("metadata"), key)
}

/// A role's `rules`; rules that do not parse are left out (RBAC only ever grants).
fn parse_rules(role: &Value) -> Vec<PolicyRule> {
    role.get("rules")
        .and_then(Value::as_array)
        .map(|rules| rules.iter().filter_map(|r| PolicyRule::deserialize(r).ok()).collect())
        .unwrap_or_default()
}

fn parse_binding(obj: &Value, namespace: &str, rules: Option<Arc<[PolicyRule]>>) -> Binding {
    let subjects = obj.get("subjects").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    Binding {
        name: meta(obj, "name").to_owned(),
        namespace: namespace.to_owned(),
        role_kind: str_at(obj.get("roleRef"), "kind").to_owned(),
        role_name: str_at(obj.get("roleRef"), "name").to_owned(),
        subjects: subjects
            .iter()
            .map(|s| Subject {
                kind: str_at(Some(s), "kind").to_owned(),
                name: str_at(Some(s), "name").to_owned(),
                namespace: str_at(Some(s), "namespace").to_owned(),
            })
            .collect(),
        rules,
    }
}

/// A snapshot of every RBAC object, indexed for fast checks; rebuilt whenever one changes.
///
/// Bindings are indexed by the users, groups and service accounts they name, so a check walks only the
/// bindings that name the user or one of their groups. Role references are resolved when building, and
/// every binding of a role shares that role's rules through an `Arc`.
#[derive(Clone, Debug, Default)]
pub struct Index {
    cluster: Scope,
    namespaces: HashMap<String, Scope>,
}

impl Index {
    /// Indexes Roles, ClusterRoles, RoleBindings and ClusterRoleBindings given as their JSON objects.
    pub fn build(
        roles: &[Value],
        cluster_roles: &[Value],
        role_bindings: &[Value],
        cluster_role_bindings: &[Value],
    ) -> Index {
        let by_cluster_role: HashMap<&str, Arc<[PolicyRule]>> =
            cluster_roles.iter().map(|r| (meta(r, "name"), parse_rules(r).into())).collect();
        let by_role: HashMap<(&str, &str), Arc<[PolicyRule]>> =
            roles.iter().map(|r| ((meta(r, "namespace"), meta(r, "name")), parse_rules(r).into())).collect();
        // rule.go GetRoleReferenceRules: a ClusterRoleBinding's `Role` is looked up in namespace "", never found.
        let resolve = |obj: &Value, namespace: &str| {
            let name = str_at(obj.get("roleRef"), "name");
            match str_at(obj.get("roleRef"), "kind") {
                "ClusterRole" => by_cluster_role.get(name).cloned(),
                "Role" if !namespace.is_empty() => by_role.get(&(namespace, name)).cloned(),
                _ => None,
            }
        };
        let mut index = Index::default();
        for obj in cluster_role_bindings {
            index.cluster.push(parse_binding(obj, "", resolve(obj, "")));
        }
        for obj in role_bindings {
            let namespace = meta(obj, "namespace");
            if !namespace.is_empty() {
                let binding = parse_binding(obj, namespace, resolve(obj, namespace));
                index.namespaces.entry(namespace.to_owned()).or_default().push(binding);
            }
        }
        index
    }

    /// rule.go `VisitRulesFor`: ClusterRoleBindings, then (for a namespace) that namespace's RoleBindings.
    fn visit<'s>(
        &'s self,
        user: &UserInfo,
        namespace: &str,
        mut f: impl FnMut(&'s Binding, &'s Subject) -> ControlFlow<()>,
    ) {
        if self.cluster.visit(user, &mut f).is_break() || namespace.is_empty() {
            return;
        }
        if let Some(scope) = self.namespaces.get(namespace) {
            let _ = scope.visit(user, &mut f);
        }
    }

    /// Authorizes a request as kube's RBAC authorizer does. Cluster-scoped and non-resource requests
    /// (namespace `""`) are only allowed by ClusterRoleBindings.
    pub fn authorize(&self, attrs: &Attributes<'_>) -> Decision {
        let mut decision = Decision::NoOpinion;
        self.visit(attrs.user, attrs.namespace, |binding, subject| match &binding.rules {
            Some(rules) if rules.iter().any(|r| r.allows(attrs)) => {
                decision =
                    Decision::Allow { reason: format!("RBAC: allowed by {}", describe(binding, subject)) };
                ControlFlow::Break(())
            }
            _ => ControlFlow::Continue(()),
        });
        decision
    }

    /// Every rule that applies to a user in a namespace (`""`: cluster-wide rules only), for
    /// SelfSubjectRulesReview and escalation checks. The flag is true when some binding that names the
    /// user references a missing role, so the list may be incomplete.
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> (Vec<PolicyRule>, bool) {
        let mut rules = Vec::new();
        let mut incomplete = false;
        self.visit(user, namespace, |binding, _| {
            match &binding.rules {
                Some(found) => rules.extend_from_slice(found),
                None => incomplete = true,
            }
            ControlFlow::Continue(())
        });
        (rules, incomplete)
    }
}

// ---------------------------------------------------------------------------------------------------------
// Escalation prevention
// ---------------------------------------------------------------------------------------------------------

fn single(item: &str) -> Vec<String> {
    vec![item.to_owned()]
}

/// component-helpers `BreakdownRule`: the rule as rules of one verb, group, resource and name (or one verb
/// and URL). Resource parts are taken only when the rule names API groups, as Kubernetes does.
pub fn breakdown(rule: &PolicyRule) -> Vec<PolicyRule> {
    let mut out = Vec::new();
    for group in &rule.api_groups {
        for resource in &rule.resources {
            for verb in &rule.verbs {
                let base = PolicyRule {
                    verbs: single(verb),
                    api_groups: single(group),
                    resources: single(resource),
                    ..PolicyRule::default()
                };
                if rule.resource_names.is_empty() {
                    out.push(base);
                } else {
                    out.extend(
                        rule.resource_names
                            .iter()
                            .map(|n| PolicyRule { resource_names: single(n), ..base.clone() }),
                    );
                }
            }
        }
    }
    for url in &rule.non_resource_urls {
        out.extend(rule.verbs.iter().map(|v| PolicyRule {
            verbs: single(v),
            non_resource_urls: single(url),
            ..PolicyRule::default()
        }));
    }
    out
}

fn has_all(set: &[String], items: &[String]) -> bool {
    items.iter().all(|i| has(set, i))
}

/// policy_comparator.go `resourceCoversAll`: `*`, exact names, or `*/subresource` for `x/subresource`.
/// An owner's `pods/*` does not cover `pods/log`.
fn resources_cover(owner: &[String], wanted: &[String]) -> bool {
    has(owner, ALL)
        || wanted.iter().all(|path| {
            has(owner, path)
                || path
                    .split_once('/')
                    .is_some_and(|(_, sub)| owner.iter().any(|o| o.strip_prefix("*/") == Some(sub)))
        })
}

/// policy_comparator.go `ruleCovers`, for a broken-down `sub` rule.
fn rule_covers(owner: &PolicyRule, sub: &PolicyRule) -> bool {
    let names = if sub.resource_names.is_empty() {
        owner.resource_names.is_empty()
    } else {
        owner.resource_names.is_empty() || has_all(&owner.resource_names, &sub.resource_names)
    };
    (has(&owner.verbs, ALL) || has_all(&owner.verbs, &sub.verbs))
        && (has(&owner.api_groups, ALL) || has_all(&owner.api_groups, &sub.api_groups))
        && resources_cover(&owner.resources, &sub.resources)
        && sub.non_resource_urls.iter().all(|p| owner.non_resource_urls.iter().any(|o| url_matches(o, p)))
        && names
}

/// Whether `owner` rules cover every rule in `requested` (component-helpers `Covers`, used by rule.go
/// `ConfirmNoEscalation`): returns the broken-down requested rules ([`breakdown`]) that no owner rule
/// covers. Empty means covered.
pub fn uncovered(owner: &[PolicyRule], requested: &[PolicyRule]) -> Vec<PolicyRule> {
    requested.iter().flat_map(breakdown).filter(|sub| !owner.iter().any(|o| rule_covers(o, sub))).collect()
}

// ---------------------------------------------------------------------------------------------------------
// Aggregation
// ---------------------------------------------------------------------------------------------------------

enum Requirement {
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    DoesNotExist,
}

/// A metav1.LabelSelector: all of its requirements must hold; an empty selector matches everything.
struct Selector(Vec<(String, Requirement)>);

impl Selector {
    /// `LabelSelectorAsSelector`; `None` when the selector is invalid.
    fn parse(v: &Value) -> Option<Selector> {
        let mut reqs = Vec::new();
        for (key, value) in v.get("matchLabels").and_then(Value::as_object).into_iter().flatten() {
            reqs.push((key.clone(), Requirement::In(single(value.as_str()?))));
        }
        for expr in v.get("matchExpressions").and_then(Value::as_array).into_iter().flatten() {
            let key = str_at(Some(expr), "key");
            let values: Vec<String> = match expr.get("values") {
                None | Some(Value::Null) => Vec::new(),
                Some(values) => Vec::deserialize(values).ok()?,
            };
            let req = match (str_at(Some(expr), "operator"), values.is_empty()) {
                ("In", false) => Requirement::In(values),
                ("NotIn", false) => Requirement::NotIn(values),
                ("Exists", true) => Requirement::Exists,
                ("DoesNotExist", true) => Requirement::DoesNotExist,
                _ => return None,
            };
            if key.is_empty() {
                return None;
            }
            reqs.push((key.to_owned(), req));
        }
        Some(Selector(reqs))
    }

    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|(key, req)| match req {
            Requirement::In(values) => labels.get(key).is_some_and(|v| values.contains(v)),
            Requirement::NotIn(values) => labels.get(key).is_none_or(|v| !values.contains(v)),
            Requirement::Exists => labels.contains_key(key),
            Requirement::DoesNotExist => !labels.contains_key(key),
        })
    }
}

struct AggRole<'a> {
    name: &'a str,
    labels: BTreeMap<String, String>,
    /// `Some` for a role with an aggregationRule whose selectors are all valid.
    selectors: Option<Vec<Selector>>,
}

/// The clusterrole-aggregation controller's sync of one role: per selector, the other matching roles in
/// name order, their rules appended unless already present.
fn aggregate_one(
    at: usize,
    roles: &[AggRole],
    by_name: &[usize],
    current: &[Vec<PolicyRule>],
) -> Vec<PolicyRule> {
    let mut out: Vec<PolicyRule> = Vec::new();
    let mut seen: HashSet<&PolicyRule> = HashSet::new();
    let me = &roles[at];
    for selector in me.selectors.iter().flatten() {
        for &other in by_name {
            if roles[other].name == me.name || !selector.matches(&roles[other].labels) {
                continue;
            }
            for rule in &current[other] {
                if seen.insert(rule) {
                    out.push(rule.clone());
                }
            }
        }
    }
    out
}

/// Aggregation (the clusterrole-aggregation controller): for each ClusterRole with an `aggregationRule`,
/// the rules it should have: the rules of every *other* ClusterRole matching any of its
/// `clusterRoleSelectors` (matchLabels, matchExpressions In/NotIn/Exists/DoesNotExist), per selector in
/// role-name order, deduplicated. Aggregated roles feeding other aggregated roles (view into edit into
/// admin) are followed to the state the controller converges to. Returns `(role name, rules)` sorted by
/// name; a role with an invalid selector is left out, as the controller leaves it unchanged.
pub fn aggregated_rules(cluster_roles: &[Value]) -> Vec<(String, Vec<PolicyRule>)> {
    let roles: Vec<AggRole> = cluster_roles
        .iter()
        .map(|r| {
            let labels = r
                .get("metadata")
                .and_then(|m| m.get("labels"))
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect();
            let selectors = r.get("aggregationRule").filter(|a| !a.is_null()).and_then(|a| {
                a.get("clusterRoleSelectors")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(Selector::parse)
                    .collect::<Option<Vec<_>>>()
            });
            AggRole { name: meta(r, "name"), labels, selectors }
        })
        .collect();
    let mut by_name: Vec<usize> = (0..roles.len()).collect();
    by_name.sort_by_key(|&i| roles[i].name);
    let aggregated: Vec<usize> = by_name.iter().copied().filter(|&i| roles[i].selectors.is_some()).collect();
    let mut current: Vec<Vec<PolicyRule>> = cluster_roles.iter().map(parse_rules).collect();
    // Each pass is one controller sync of every aggregated role; chains settle within one pass per link.
    for _ in 0..=aggregated.len() {
        let mut changed = false;
        for &at in &aggregated {
            let synced = aggregate_one(at, &roles, &by_name, &current);
            if synced != current[at] {
                current[at] = synced;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    aggregated.iter().map(|&at| (roles[at].name.to_owned(), std::mem::take(&mut current[at]))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// (verb, namespace, group, resource, subresource, name, allowed)
    type Case<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, &'a str, bool);

    fn user(name: &str, groups: &[&str]) -> UserInfo {
        UserInfo {
            name: name.into(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            ..UserInfo::default()
        }
    }

    fn subject(kind: &str, name: &str, namespace: &str) -> Value {
        json!({ "kind": kind, "name": name, "namespace": namespace })
    }

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> Value {
        json!({ "verbs": verbs, "apiGroups": groups, "resources": resources })
    }

    fn role(namespace: &str, name: &str, rules: &Value) -> Value {
        json!({ "metadata": { "name": name, "namespace": namespace }, "rules": rules })
    }

    fn binding(namespace: &str, name: &str, role_kind: &str, role: &str, subjects: &[Value]) -> Value {
        json!({
            "metadata": { "name": name, "namespace": namespace },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role },
            "subjects": subjects,
        })
    }

    /// The default ClusterRoles with aggregation applied, as the controller leaves them.
    fn defaults() -> Vec<Value> {
        let mut roles = default_cluster_roles();
        for (name, rules) in aggregated_rules(&roles) {
            for r in roles.iter_mut().filter(|r| meta(r, "name") == name) {
                r["rules"] = serde_json::to_value(&rules).unwrap();
            }
        }
        roles
    }

    fn rules_named(roles: &[Value], name: &str) -> Vec<PolicyRule> {
        parse_rules(roles.iter().find(|r| meta(r, "name") == name).unwrap())
    }

    fn check(index: &Index, who: &UserInfo, cases: &[Case]) {
        for &(verb, ns, group, resource, sub, name, want) in cases {
            let attrs = Attributes::resource(who, verb, ns, group, resource, sub, name);
            let got = index.authorize(&attrs).is_allowed();
            assert_eq!(got, want, "{} {verb} {group}/{resource}/{sub} {name:?} in {ns:?}", who.name);
        }
    }

    fn reason(index: &Index, attrs: &Attributes) -> String {
        match index.authorize(attrs) {
            Decision::Allow { reason } => reason,
            Decision::NoOpinion => panic!("{attrs:?} not allowed"),
        }
    }

    fn pr(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
        let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        PolicyRule {
            verbs: own(verbs),
            api_groups: own(groups),
            resources: own(resources),
            resource_names: own(names),
            ..PolicyRule::default()
        }
    }

    fn url_rule(verbs: &[&str], urls: &[&str]) -> PolicyRule {
        let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        PolicyRule { verbs: own(verbs), non_resource_urls: own(urls), ..PolicyRule::default() }
    }

    #[test]
    fn view_in_a_namespace() {
        let rb = binding("ns1", "alice-view", "ClusterRole", "view", &[subject("User", "alice", "")]);
        let index = Index::build(&[], &defaults(), &[rb], &default_cluster_role_bindings());
        let alice = user("alice", &["system:authenticated"]);
        check(
            &index,
            &alice,
            &[
                ("get", "ns1", "", "pods", "", "p", true),
                ("list", "ns1", "", "pods", "", "", true),
                ("get", "ns1", "", "pods", "log", "p", true),
                ("watch", "ns1", "apps", "deployments", "", "", true),
                ("get", "ns1", "apps", "deployments", "scale", "d", true),
                ("list", "ns1", "batch", "cronjobs", "", "", true),
                ("get", "ns1", "discovery.k8s.io", "endpointslices", "", "e", true),
                ("get", "ns1", "", "namespaces", "", "ns1", true),
                ("get", "ns1", "", "secrets", "", "s", false),
                ("list", "ns1", "", "secrets", "", "", false),
                ("get", "ns1", "", "pods", "exec", "p", false),
                ("get", "ns2", "", "pods", "", "p", false),
                ("list", "", "", "pods", "", "", false),
                ("create", "ns1", "", "pods", "", "", false),
                ("delete", "ns1", "", "pods", "", "p", false),
                ("list", "ns1", "rbac.authorization.k8s.io", "roles", "", "", false),
                ("create", "", "authorization.k8s.io", "selfsubjectaccessreviews", "", "", true),
            ],
        );
        let attrs = Attributes::resource(&alice, "get", "ns1", "", "pods", "", "p");
        assert_eq!(
            reason(&index, &attrs),
            r#"RBAC: allowed by RoleBinding "alice-view/ns1" of ClusterRole "view" to User "alice""#
        );
    }

    #[test]
    fn cluster_admin_through_system_masters() {
        let index = Index::build(&[], &defaults(), &[], &default_cluster_role_bindings());
        let root = user("root", &["system:masters", "system:authenticated"]);
        check(
            &index,
            &root,
            &[
                ("delete", "", "", "nodes", "", "n1", true),
                ("create", "kube-system", "", "secrets", "", "", true),
                ("escalate", "", "rbac.authorization.k8s.io", "clusterroles", "", "x", true),
                ("update", "ns1", "widgets.example.com", "widgets", "status", "w", true),
                ("deletecollection", "", "", "pods", "", "", true),
            ],
        );
        for (verb, path) in [("get", "/metrics"), ("post", "/anything/at/all"), ("get", "/")] {
            assert!(index.authorize(&Attributes::non_resource(&root, verb, path)).is_allowed(), "{path}");
        }
        assert_eq!(
            reason(&index, &Attributes::resource(&root, "get", "", "", "nodes", "", "")),
            r#"RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters""#
        );
        let plain = user("bob", &["system:authenticated"]);
        assert_eq!(
            index.authorize(&Attributes::resource(&plain, "get", "", "", "nodes", "", "")),
            Decision::NoOpinion
        );
        assert_eq!(
            reason(&index, &Attributes::non_resource(&plain, "get", "/apis/apps/v1")),
            r#"RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" to Group "system:authenticated""#
        );
        assert!(!index.authorize(&Attributes::non_resource(&plain, "get", "/metrics")).is_allowed());
        let anonymous = user("system:anonymous", &["system:unauthenticated"]);
        assert!(index.authorize(&Attributes::non_resource(&anonymous, "get", "/healthz")).is_allowed());
        assert!(index.authorize(&Attributes::non_resource(&anonymous, "get", "/version")).is_allowed());
        assert!(!index.authorize(&Attributes::non_resource(&anonymous, "get", "/apis")).is_allowed());
        let review = Attributes::resource(
            &anonymous,
            "create",
            "",
            "authorization.k8s.io",
            "selfsubjectaccessreviews",
            "",
            "",
        );
        assert!(!index.authorize(&review).is_allowed());
    }

    #[test]
    fn role_bindings_are_limited_to_their_namespace() {
        let cluster_roles =
            [role("", "pod-reader", &json!([rule(&["get", "list"], &[""], &["pods", "namespaces"])]))];
        let roles = [
            role("ns1", "local", &json!([rule(&["create"], &[""], &["configmaps"])])),
            role("ns2", "local", &json!([rule(&["delete"], &[""], &["configmaps"])])),
        ];
        let bob_subject = [subject("User", "bob", "")];
        let role_bindings = [
            binding("ns1", "read", "ClusterRole", "pod-reader", &bob_subject),
            binding("ns1", "local", "Role", "local", &bob_subject),
            // A Role is looked up in the binding's namespace: ns3 has none.
            binding("ns3", "local", "Role", "local", &bob_subject),
        ];
        let index = Index::build(&roles, &cluster_roles, &role_bindings, &[]);
        let bob = user("bob", &[]);
        check(
            &index,
            &bob,
            &[
                ("get", "ns1", "", "pods", "", "p", true),
                ("list", "ns1", "", "pods", "", "", true),
                ("get", "ns2", "", "pods", "", "p", false),
                ("list", "", "", "pods", "", "", false),
                ("get", "", "", "namespaces", "", "ns1", false),
                ("create", "ns1", "", "configmaps", "", "", true),
                ("delete", "ns1", "", "configmaps", "", "c", false),
                ("create", "ns3", "", "configmaps", "", "", false),
                ("delete", "ns3", "", "configmaps", "", "c", false),
            ],
        );
        assert_eq!(
            reason(&index, &Attributes::resource(&bob, "create", "ns1", "", "configmaps", "", "")),
            r#"RBAC: allowed by RoleBinding "local/ns1" of Role "local" to User "bob""#
        );
    }

    #[test]
    fn service_account_subjects() {
        let cluster_roles = [role("", "pod-reader", &json!([rule(&["get"], &[""], &["pods"])]))];
        let role_bindings = [binding(
            "ns1",
            "sa",
            "ClusterRole",
            "pod-reader",
            &[
                subject("ServiceAccount", "builder", ""),
                subject("ServiceAccount", "deployer", "ns2"),
                subject("User", "system:serviceaccount:ns1:by-user-name", ""),
            ],
        )];
        let cluster_role_bindings = [binding(
            "",
            "robots",
            "ClusterRole",
            "pod-reader",
            &[subject("ServiceAccount", "ghost", ""), subject("ServiceAccount", "robot", "ns3")],
        )];
        let index = Index::build(&[], &cluster_roles, &role_bindings, &cluster_role_bindings);
        let get = |name: &str, ns: &str| {
            let who = user(name, &["system:serviceaccounts"]);
            index.authorize(&Attributes::resource(&who, "get", ns, "", "pods", "", "p")).is_allowed()
        };
        assert!(get("system:serviceaccount:ns1:builder", "ns1"));
        assert!(!get("system:serviceaccount:ns2:builder", "ns1"));
        assert!(!get("system:serviceaccount:ns1:builder", "ns2"));
        assert!(!get("builder", "ns1"));
        assert!(!get("system:serviceaccount:ns1:builderx", "ns1"));
        assert!(get("system:serviceaccount:ns2:deployer", "ns1"));
        assert!(!get("system:serviceaccount:ns2:deployer", "ns2"));
        assert!(!get("system:serviceaccount:ns1:deployer", "ns1"));
        assert!(get("system:serviceaccount:ns1:by-user-name", "ns1"));
        assert!(!get("system:serviceaccount::ghost", ""));
        assert!(!get("system:serviceaccount:default:ghost", "default"));
        assert!(get("system:serviceaccount:ns3:robot", ""));
        assert!(get("system:serviceaccount:ns3:robot", "anywhere"));
        let builder = user("system:serviceaccount:ns1:builder", &[]);
        assert_eq!(
            reason(&index, &Attributes::resource(&builder, "get", "ns1", "", "pods", "", "p")),
            r#"RBAC: allowed by RoleBinding "sa/ns1" of ClusterRole "pod-reader" to ServiceAccount "builder/ns1""#
        );
        let robot = user("system:serviceaccount:ns3:robot", &[]);
        assert_eq!(
            reason(&index, &Attributes::resource(&robot, "get", "", "", "pods", "", "")),
            r#"RBAC: allowed by ClusterRoleBinding "robots" of ClusterRole "pod-reader" to ServiceAccount "robot/ns3""#
        );
    }

    #[test]
    fn resource_names() {
        let cluster_roles = [role(
            "",
            "cm",
            &json!([
                { "verbs": ["get", "update", "delete"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a", "b"] }
            ]),
        )];
        let crbs = [binding("", "cm", "ClusterRole", "cm", &[subject("Group", "team", "")])];
        let index = Index::build(&[], &cluster_roles, &[], &crbs);
        let carol = user("carol", &["team"]);
        check(
            &index,
            &carol,
            &[
                ("get", "ns1", "", "configmaps", "", "a", true),
                ("get", "", "", "configmaps", "", "b", true),
                ("delete", "ns1", "", "configmaps", "", "a", true),
                ("get", "ns1", "", "configmaps", "", "c", false),
                ("list", "ns1", "", "configmaps", "", "", false),
                ("get", "ns1", "", "configmaps", "", "", false),
                ("create", "ns1", "", "configmaps", "", "", false),
                ("watch", "ns1", "", "configmaps", "", "a", false),
                ("get", "ns1", "", "secrets", "", "a", false),
            ],
        );
    }

    #[test]
    fn subresource_matching() {
        let rule = pr(&["get"], &["*"], &["pods/log", "*/scale", "pods/*", "deployments"], &[]);
        let who = user("u", &[]);
        let cases = [
            ("", "pods", "log", true),
            ("", "pods", "", false),
            // `pods/*` is no wildcard in ResourceMatches: it only names the literal resource "pods/*".
            ("", "pods", "exec", false),
            ("apps", "deployments", "scale", true),
            ("apps", "replicasets", "scale", true),
            ("", "scale", "", false),
            ("apps", "deployments", "", true),
            ("apps", "deployments", "status", false),
            ("", "nodes", "log", false),
        ];
        for (group, resource, sub, want) in cases {
            let attrs = Attributes::resource(&who, "get", "ns", group, resource, sub, "x");
            assert_eq!(rule.allows(&attrs), want, "{resource}/{sub}");
        }
        let everything = pr(&["get"], &[""], &["*"], &[]);
        assert!(everything.allows(&Attributes::resource(&who, "get", "ns", "", "pods", "exec", "x")));
        assert!(!everything.allows(&Attributes::resource(&who, "get", "ns", "apps", "deployments", "", "x")));
        assert!(!everything.allows(&Attributes::resource(&who, "list", "ns", "", "pods", "", "")));
        assert!(!everything.allows(&Attributes::non_resource(&who, "get", "/api")));
    }

    #[test]
    fn non_resource_urls() {
        let rule = url_rule(&["get"], &["/healthz", "/logs/*", "/metrics*"]);
        let who = user("u", &[]);
        for (verb, path, want) in [
            ("get", "/healthz", true),
            ("get", "/healthz/ping", false),
            ("get", "/logs/", true),
            ("get", "/logs/kubelet/x", true),
            ("get", "/logs", false),
            ("get", "/metrics", true),
            ("get", "/metricsfoo", true),
            ("get", "/other", false),
            ("post", "/healthz", false),
        ] {
            assert_eq!(rule.allows(&Attributes::non_resource(&who, verb, path)), want, "{verb} {path}");
        }
        assert!(!rule.allows(&Attributes::resource(&who, "get", "", "", "healthz", "", "")));
        assert!(url_rule(&["*"], &["*"]).allows(&Attributes::non_resource(&who, "put", "/x/y")));

        // Only ClusterRoleBindings grant non-resource URLs.
        let cluster_roles =
            [role("", "logs", &json!([{ "verbs": ["get"], "nonResourceURLs": ["/logs/*"] }]))];
        let rbs = [binding("ns1", "logs", "ClusterRole", "logs", &[subject("User", "u", "")])];
        let index = Index::build(&[], &cluster_roles, &rbs, &[]);
        assert!(!index.authorize(&Attributes::non_resource(&who, "get", "/logs/x")).is_allowed());
        let crbs = [binding("", "logs", "ClusterRole", "logs", &[subject("User", "u", "")])];
        let index = Index::build(&[], &cluster_roles, &[], &crbs);
        assert!(index.authorize(&Attributes::non_resource(&who, "get", "/logs/x")).is_allowed());
    }

    #[test]
    fn aggregation_fills_admin_edit_view() {
        let defaults = default_cluster_roles();
        for name in ["admin", "edit", "view"] {
            assert!(rules_named(&defaults, name).is_empty(), "{name} is created empty");
        }
        let aggregated = aggregated_rules(&defaults);
        let names: Vec<&str> = aggregated.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["admin", "edit", "view"]);
        let get = |name: &str| aggregated.iter().find(|(n, _)| n == name).map(|(_, r)| r.clone()).unwrap();
        let (admin, edit, view) = (get("admin"), get("edit"), get("view"));
        assert_eq!(view, rules_named(&defaults, "system:aggregate-to-view"));
        assert!(uncovered(&edit, &view).is_empty(), "edit ⊇ view");
        assert!(uncovered(&admin, &edit).is_empty(), "admin ⊇ edit");
        assert!(uncovered(&admin, &view).is_empty(), "admin ⊇ view");
        let view_lacks = uncovered(&view, &edit);
        assert!(view_lacks.contains(&pr(&["get"], &[""], &["secrets"], &[])));
        assert!(view_lacks.contains(&pr(&["create"], &[""], &["pods"], &[])));
        let edit_lacks = uncovered(&edit, &admin);
        assert!(edit_lacks.contains(&pr(
            &["create"],
            &["rbac.authorization.k8s.io"],
            &["rolebindings"],
            &[]
        )));
        assert!(edit_lacks.contains(&pr(
            &["create"],
            &["authorization.k8s.io"],
            &["localsubjectaccessreviews"],
            &[]
        )));
        let rules = edit.len();
        let unique: HashSet<&PolicyRule> = edit.iter().collect();
        assert_eq!(unique.len(), rules, "deduplicated");

        // A role labelled aggregate-to-view reaches view, edit (through view) and admin (through edit),
        // whatever the order the roles come in.
        let mut shuffled = defaults.clone();
        shuffled.reverse();
        shuffled.push(json!({
            "metadata": { "name": "widgets-view", "labels": { "rbac.authorization.k8s.io/aggregate-to-view": "true" } },
            "rules": [rule(&["get"], &["example.com"], &["widgets"])],
        }));
        let widget = pr(&["get"], &["example.com"], &["widgets"], &[]);
        for (name, rules) in aggregated_rules(&shuffled) {
            assert!(rules.contains(&widget), "{name} aggregates widgets");
        }
    }

    #[test]
    fn aggregation_selectors() {
        let labelled = |name: &str, labels: Value, rules: Value| json!({ "metadata": { "name": name, "labels": labels }, "rules": rules });
        let aggregating = |name: &str, labels: Value, selectors: Value| json!({ "metadata": { "name": name, "labels": labels }, "aggregationRule": { "clusterRoleSelectors": selectors } });
        let (a, b, c, d) = (
            rule(&["get"], &[""], &["a"]),
            rule(&["get"], &[""], &["b"]),
            rule(&["get"], &[""], &["c"]),
            rule(&["get"], &[""], &["d"]),
        );
        let roles = [
            aggregating(
                "agg",
                json!({}),
                json!([
                    { "matchExpressions": [
                        { "key": "tier", "operator": "In", "values": ["a", "b"] },
                        { "key": "skip", "operator": "DoesNotExist" },
                    ] },
                    { "matchLabels": { "x": "1" } },
                ]),
            ),
            labelled("r3", json!({ "x": "1" }), json!([d])),
            labelled("r1", json!({ "tier": "a" }), json!([a, c])),
            labelled("r2", json!({ "tier": "b", "skip": "yes" }), json!([rule(&["get"], &[""], &["never"])])),
            labelled("r0", json!({ "tier": "a", "x": "1" }), json!([a, b])),
            aggregating(
                "bad",
                json!({}),
                json!([{ "matchExpressions": [{ "key": "tier", "operator": "Gt", "values": ["1"] }] }]),
            ),
            aggregating(
                "notin",
                json!({}),
                json!([{ "matchExpressions": [
                { "key": "tier", "operator": "NotIn", "values": ["a"] },
                { "key": "x", "operator": "Exists" },
            ] }]),
            ),
            aggregating("self", json!({ "self": "1" }), json!([{ "matchLabels": { "self": "1" } }])),
            labelled("plain", json!({ "self": "1" }), json!(null)),
        ];
        let got: BTreeMap<String, Vec<PolicyRule>> = aggregated_rules(&roles).into_iter().collect();
        let parsed = |rules: &[&Value]| -> Vec<PolicyRule> {
            rules.iter().map(|r| serde_json::from_value((*r).clone()).unwrap()).collect()
        };
        assert_eq!(got.keys().map(String::as_str).collect::<Vec<_>>(), ["agg", "notin", "self"]);
        assert_eq!(got["agg"], parsed(&[&a, &b, &c, &d]));
        assert_eq!(got["notin"], parsed(&[&d]));
        assert!(got["self"].is_empty());
    }

    #[test]
    fn uncovered_rules() {
        let roles = defaults();
        let edit = rules_named(&roles, "edit");
        let cluster_admin = rules_named(&roles, "cluster-admin");
        assert_eq!(
            uncovered(&edit, &cluster_admin),
            [pr(&["*"], &["*"], &["*"], &[]), url_rule(&["*"], &["*"])]
        );
        assert!(uncovered(&cluster_admin, &edit).is_empty());
        assert!(uncovered(&cluster_admin, &rules_named(&roles, "system:node")).is_empty());

        let big = PolicyRule {
            non_resource_urls: vec!["/a".into()],
            ..pr(&["get", "list"], &["", "apps"], &["x", "y"], &["n1", "n2", "n3"])
        };
        assert_eq!(breakdown(&big).len(), 2 * 2 * 2 * 3 + 2);
        assert_eq!(uncovered(&[], std::slice::from_ref(&big)).len(), 26);
        // As in Kubernetes, an owner rule with resourceNames covers no non-resource URL (mixed rules do not
        // pass validation anyway).
        assert_eq!(
            uncovered(std::slice::from_ref(&big), &breakdown(&big)),
            breakdown(&url_rule(&["get", "list"], &["/a"]))
        );

        let named_owner = [pr(&["get"], &[""], &["configmaps"], &["a"])];
        assert!(uncovered(&named_owner, &[pr(&["get"], &[""], &["configmaps"], &["a"])]).is_empty());
        assert_eq!(uncovered(&named_owner, &[pr(&["get"], &[""], &["configmaps"], &["a", "b"])]).len(), 1);
        assert_eq!(uncovered(&named_owner, &[pr(&["get"], &[""], &["configmaps"], &[])]).len(), 1);
        let any_name = [pr(&["get"], &[""], &["configmaps"], &[])];
        assert!(uncovered(&any_name, &[pr(&["get"], &[""], &["configmaps"], &["z"])]).is_empty());

        let scale = [pr(&["update"], &["apps"], &["*/scale", "pods/*"], &[])];
        assert!(uncovered(&scale, &[pr(&["update"], &["apps"], &["deployments/scale"], &[])]).is_empty());
        assert_eq!(uncovered(&scale, &[pr(&["update"], &["apps"], &["pods/log"], &[])]).len(), 1);
        assert_eq!(uncovered(&scale, &[pr(&["update"], &["apps"], &["deployments"], &[])]).len(), 1);
        assert_eq!(uncovered(&scale, &[pr(&["update"], &[""], &["deployments/scale"], &[])]).len(), 1);

        let logs = [url_rule(&["get"], &["/logs/*"])];
        assert!(uncovered(&logs, &[url_rule(&["get"], &["/logs/x", "/logs/*"])]).is_empty());
        assert_eq!(uncovered(&logs, &[url_rule(&["get", "post"], &["/log", "/logs/x"])]).len(), 3);
        // As in Kubernetes, a resource rule without API groups breaks down to nothing.
        assert!(uncovered(&[], &[pr(&["get"], &[], &["pods"], &[])]).is_empty());
    }

    #[test]
    fn rules_for_and_missing_roles() {
        let pod_reader = json!([rule(&["get"], &[""], &["pods"])]);
        let cluster_roles = [role("", "pod-reader", &pod_reader)];
        let roles = [role("ns1", "ns-role", &json!([rule(&["create"], &[""], &["configmaps"])]))];
        let dave = [subject("User", "dave", "")];
        let role_bindings = [
            binding("ns1", "local", "Role", "ns-role", &dave),
            binding("ns1", "gone", "ClusterRole", "missing", &dave),
            binding("ns2", "gone", "Role", "absent", &dave),
            binding("ns2", "eve", "ClusterRole", "missing", &[subject("User", "eve", "")]),
        ];
        let cluster_role_bindings = [
            binding("", "read", "ClusterRole", "pod-reader", &dave),
            // A ClusterRoleBinding cannot reference a Role.
            binding("", "bad-kind", "Role", "ns-role", &[subject("User", "frank", "")]),
        ];
        let index = Index::build(&roles, &cluster_roles, &role_bindings, &cluster_role_bindings);
        let who = user("dave", &[]);
        let cluster: Vec<PolicyRule> = serde_json::from_value(pod_reader).unwrap();
        assert_eq!(index.rules_for(&who, ""), (cluster.clone(), false));
        assert_eq!(index.rules_for(&who, "ns3"), (cluster.clone(), false));
        let (found, incomplete) = index.rules_for(&who, "ns1");
        assert_eq!(found, [cluster[0].clone(), pr(&["create"], &[""], &["configmaps"], &[])]);
        assert!(incomplete);
        assert_eq!(index.rules_for(&who, "ns2"), (cluster, true));
        assert_eq!(index.rules_for(&user("nobody", &[]), "ns1"), (vec![], false));
        assert_eq!(index.rules_for(&user("frank", &[]), ""), (vec![], true));

        let eve = user("eve", &[]);
        for verb in ["get", "list", "create"] {
            let attrs = Attributes::resource(&eve, verb, "ns2", "", "pods", "", "");
            assert_eq!(index.authorize(&attrs), Decision::NoOpinion);
        }
        let frank = user("frank", &[]);
        let attrs = Attributes::resource(&frank, "create", "ns1", "", "configmaps", "", "");
        assert_eq!(index.authorize(&attrs), Decision::NoOpinion);
    }

    #[test]
    fn many_bindings_and_first_match_reason() {
        let cluster_roles = [role("", "reader", &json!([rule(&["get"], &["*"], &["*"])]))];
        let role_bindings: Vec<Value> = (0..5000)
            .map(|i| {
                binding(
                    "big",
                    &format!("b{i}"),
                    "ClusterRole",
                    "reader",
                    &[subject("User", &format!("user-{i}"), "")],
                )
            })
            .collect();
        let crbs = [
            binding(
                "",
                "first",
                "ClusterRole",
                "reader",
                &[subject("Group", "g2", ""), subject("Group", "g1", "")],
            ),
            binding("", "second", "ClusterRole", "reader", &[subject("User", "multi", "")]),
        ];
        let index = Index::build(&[], &cluster_roles, &role_bindings, &crbs);
        let get = |who: &UserInfo, ns: &str| {
            index.authorize(&Attributes::resource(who, "get", ns, "", "pods", "", "p"))
        };
        assert!(get(&user("user-4999", &[]), "big").is_allowed());
        assert!(!get(&user("user-4999", &[]), "other").is_allowed());
        assert!(!get(&user("user-5000", &[]), "big").is_allowed());
        let Decision::Allow { reason } = get(&user("multi", &["g1", "g2"]), "") else {
            panic!("not allowed")
        };
        assert_eq!(
            reason,
            r#"RBAC: allowed by ClusterRoleBinding "first" of ClusterRole "reader" to Group "g2""#
        );
    }

    #[test]
    fn policy_rule_json() {
        let rule: PolicyRule = serde_json::from_value(json!({
            "verbs": ["get"], "apiGroups": null, "resourceNames": null, "nonResourceURLs": ["/healthz"]
        }))
        .unwrap();
        assert_eq!(rule, url_rule(&["get"], &["/healthz"]));
        assert_eq!(
            serde_json::to_value(&rule).unwrap(),
            json!({ "verbs": ["get"], "nonResourceURLs": ["/healthz"] })
        );
        let full = pr(&["get"], &[""], &["pods"], &["p"]);
        let text = serde_json::to_string(&full).unwrap();
        assert_eq!(text, r#"{"verbs":["get"],"apiGroups":[""],"resources":["pods"],"resourceNames":["p"]}"#);
        assert_eq!(serde_json::from_str::<PolicyRule>(&text).unwrap(), full);
    }

    #[test]
    fn default_policy_objects() {
        let roles = default_cluster_roles();
        let bindings = default_cluster_role_bindings();
        for obj in roles.iter().chain(&bindings) {
            let name = meta(obj, "name");
            assert_eq!(obj["metadata"]["labels"]["kubernetes.io/bootstrapping"], "rbac-defaults", "{name}");
            assert_eq!(obj["metadata"]["annotations"][AUTO_UPDATE_ANNOTATION], "true", "{name}");
        }
        let role_names: HashSet<&str> = roles.iter().map(|r| meta(r, "name")).collect();
        assert_eq!(role_names.len(), roles.len(), "unique names");
        for b in &bindings {
            assert!(role_names.contains(str_at(b.get("roleRef"), "name")), "{b}");
        }
        assert!(!bindings.iter().any(|b| str_at(b.get("roleRef"), "name") == "system:node"));
        assert_eq!(
            roles.iter().find(|r| meta(r, "name") == "view").unwrap()["metadata"]["labels"][AGG_EDIT],
            "true"
        );
    }

    #[test]
    fn default_policy_grants() {
        let node_binding =
            binding("", "nodes", "ClusterRole", "system:node", &[subject("Group", "system:nodes", "")]);
        let mut all_bindings = default_cluster_role_bindings();
        all_bindings.push(node_binding);
        let index = Index::build(&[], &defaults(), &[], &all_bindings);
        let authenticated = user("someone", &["system:authenticated"]);
        check(
            &index,
            &authenticated,
            &[
                ("create", "", "authentication.k8s.io", "selfsubjectreviews", "", "", true),
                ("create", "", "authorization.k8s.io", "selfsubjectrulesreviews", "", "", true),
                ("create", "", "authorization.k8s.io", "subjectaccessreviews", "", "", false),
            ],
        );
        let node = user("system:node:n1", &["system:nodes", "system:authenticated"]);
        check(
            &index,
            &node,
            &[
                ("get", "", "", "nodes", "", "n1", true),
                ("patch", "", "", "nodes", "status", "n1", true),
                ("create", "ns1", "", "pods", "", "", true),
                ("update", "ns1", "", "pods", "status", "p", true),
                ("create", "ns1", "", "pods", "eviction", "p", true),
                ("create", "ns1", "", "serviceaccounts", "token", "default", true),
                ("update", "kube-node-lease", "coordination.k8s.io", "leases", "", "n1", true),
                ("create", "", "certificates.k8s.io", "certificatesigningrequests", "", "", true),
                (
                    "create",
                    "",
                    "certificates.k8s.io",
                    "certificatesigningrequests",
                    "selfnodeclient",
                    "",
                    true,
                ),
                ("get", "ns1", "", "secrets", "", "s", false),
                ("get", "ns1", "", "configmaps", "", "c", false),
                ("delete", "", "", "nodes", "", "n1", false),
            ],
        );
        let bootstrapper = user("system:bootstrap:abcdef", &["system:bootstrappers", "system:authenticated"]);
        check(
            &index,
            &bootstrapper,
            &[
                ("create", "", "certificates.k8s.io", "certificatesigningrequests", "", "", true),
                ("create", "", "certificates.k8s.io", "certificatesigningrequests", "nodeclient", "", true),
                (
                    "create",
                    "",
                    "certificates.k8s.io",
                    "certificatesigningrequests",
                    "selfnodeclient",
                    "",
                    false,
                ),
                ("get", "", "", "nodes", "", "n1", false),
            ],
        );
        let scheduler = user("system:kube-scheduler", &["system:authenticated"]);
        check(
            &index,
            &scheduler,
            &[
                ("create", "ns1", "", "pods", "binding", "p", true),
                ("list", "", "", "nodes", "", "", true),
                ("update", "kube-system", "coordination.k8s.io", "leases", "", "kube-scheduler", true),
                ("update", "kube-system", "coordination.k8s.io", "leases", "", "other", false),
                ("patch", "", "", "persistentvolumes", "", "pv", true),
                ("create", "ns1", "", "pods", "", "", false),
                ("get", "ns1", "", "secrets", "", "s", false),
            ],
        );
        let kcm = user("system:kube-controller-manager", &["system:authenticated"]);
        check(
            &index,
            &kcm,
            &[
                ("create", "ns1", "apps", "replicasets", "", "", true),
                ("create", "ns1", "", "pods", "", "", true),
                ("update", "ns1", "apps", "deployments", "status", "d", true),
                ("update", "", "", "namespaces", "finalize", "ns1", true),
                ("patch", "", "", "nodes", "status", "n1", true),
                ("create", "ns1", "discovery.k8s.io", "endpointslices", "", "", true),
                ("create", "ns1", "events.k8s.io", "events", "", "", true),
                ("delete", "ns1", "batch", "jobs", "", "j", true),
                ("list", "", "", "secrets", "", "", true),
                ("create", "", "rbac.authorization.k8s.io", "clusterroles", "", "", false),
                ("create", "", "", "nodes", "", "", false),
            ],
        );
    }

    const AGG_EDIT: &str = "rbac.authorization.k8s.io/aggregate-to-edit";
}
