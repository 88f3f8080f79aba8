//! Object metadata (names, namespace, labels, annotations, owner references, finalizers) and label
//! selectors, as `apimachinery/pkg/api/validation` checks them.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use serde_json::json;

use super::names::{
    is_dns1035_label, is_dns1123_label, is_dns1123_subdomain, is_label_value, is_qualified_name,
};
use super::{FieldError, FieldPath, go_quote};

/// Total size of all annotation keys and values: 256 × 1024 bytes.
pub(crate) const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// Finalizers Kubernetes knows without a domain prefix.
const STANDARD_FINALIZERS: [&str; 3] = ["kubernetes", "orphan", "foregroundDeletion"];

/// Which syntax a kind's `metadata.name` must follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    /// A DNS-1123 subdomain: most kinds (Pod, Deployment, `ConfigMap`, Node, ...).
    Dns1123Subdomain,
    /// A DNS-1123 label: Namespace and Service.
    Dns1123Label,
    /// A DNS-1035 label (must start with a letter): Service names before `RelaxedServiceNameValidation`.
    Dns1035Label,
    /// Anything usable as one URL path segment (not `.` or `..`, no `/` or `%`): RBAC roles and bindings, whose
    /// names such as `system:basic-user` are no DNS names.
    PathSegment,
}

impl NameRule {
    /// The problems with `name`; `prefix` is true for `generateName`, where a trailing `-` is allowed.
    pub fn check(self, name: &str, prefix: bool) -> Vec<String> {
        let masked;
        let name = if prefix {
            masked = mask_trailing_dash(name);
            masked.as_str()
        } else {
            name
        };
        match self {
            Self::Dns1123Subdomain => is_dns1123_subdomain(name),
            Self::Dns1123Label => is_dns1123_label(name),
            Self::Dns1035Label => is_dns1035_label(name),
            Self::PathSegment => path_segment_problems(name, prefix),
        }
    }
}

/// Kubernetes' `ValidatePathSegmentName`.
fn path_segment_problems(name: &str, prefix: bool) -> Vec<String> {
    let mut problems = Vec::new();
    if !prefix && (name == "." || name == "..") {
        problems.push(format!("may not be '{name}'"));
    }
    for bad in ["/", "%"] {
        if name.contains(bad) {
            problems.push(format!("may not contain '{bad}'"));
        }
    }
    problems
}

/// Kubernetes' `maskTrailingDash`: replaces the last two bytes of a `-`-terminated prefix with `a`, so a
/// generated suffix can follow the dash.
fn mask_trailing_dash(name: &str) -> String {
    let bytes = name.as_bytes();
    if bytes.len() > 1 && bytes.ends_with(b"-") {
        let mut masked = bytes[..bytes.len() - 2].to_vec();
        masked.push(b'a');
        // A multi-byte character cut in half becomes U+FFFD, which is invalid anyway, as in Go.
        String::from_utf8_lossy(&masked).into_owned()
    } else {
        name.to_owned()
    }
}

/// Validates `metadata` on create: name (or `generateName`) syntax, namespace presence, generation, labels,
/// annotations, owner references and finalizers.
///
/// The server must have turned `generateName` into `name` already: a missing `name` is reported as
/// `metadata.name: Required value: name or generateName is required` even when `generateName` is set.
pub fn validate_object_meta(meta: &ObjectMeta, namespaced: bool, rule: NameRule) -> Vec<FieldError> {
    let path = FieldPath::new("metadata");
    let mut errs = Vec::new();
    if let Some(generate_name) = meta.generate_name.as_deref().filter(|g| !g.is_empty()) {
        for msg in rule.check(generate_name, true) {
            errs.push(FieldError::invalid(&path.child("generateName"), generate_name, msg));
        }
    }
    match meta.name.as_deref().filter(|n| !n.is_empty()) {
        None => errs.push(FieldError::required(&path.child("name"), "name or generateName is required")),
        Some(name) => {
            for msg in rule.check(name, false) {
                errs.push(FieldError::invalid(&path.child("name"), name, msg));
            }
        }
    }
    let namespace = meta.namespace.as_deref().unwrap_or_default();
    if namespaced {
        if namespace.is_empty() {
            errs.push(FieldError::required(&path.child("namespace"), ""));
        } else {
            for msg in NameRule::Dns1123Label.check(namespace, false) {
                errs.push(FieldError::invalid(&path.child("namespace"), namespace, msg));
            }
        }
    } else if !namespace.is_empty() {
        errs.push(FieldError::forbidden(&path.child("namespace"), "not allowed on this type"));
    }
    if let Some(generation) = meta.generation.filter(|g| *g < 0) {
        errs.push(FieldError::invalid(
            &path.child("generation"),
            generation,
            "must be greater than or equal to 0",
        ));
    }
    errs.extend(validate_labels(meta.labels.as_ref(), &path.child("labels")));
    errs.extend(validate_annotations(meta.annotations.as_ref(), &path.child("annotations")));
    errs.extend(validate_owner_references(
        meta.owner_references.as_deref().unwrap_or_default(),
        &path.child("ownerReferences"),
    ));
    errs.extend(validate_finalizers(
        meta.finalizers.as_deref().unwrap_or_default(),
        &path.child("finalizers"),
    ));
    errs
}

/// Validates what an update may not change in `metadata`: name, namespace, uid, creation and deletion
/// timestamps, and (while deleting) no new finalizers; generation may not go backwards.
///
/// Syntax (labels, annotations, ...) is checked by [`validate_object_meta`], which every kind's
/// `validate_update` also runs.
pub fn validate_object_meta_update(new: &ObjectMeta, old: &ObjectMeta) -> Vec<FieldError> {
    let path = FieldPath::new("metadata");
    let mut errs = Vec::new();
    if old.deletion_timestamp.is_some() {
        let old_finalizers = old.finalizers.as_deref().unwrap_or_default();
        let mut extra: Vec<&String> =
            new.finalizers.iter().flatten().filter(|f| !old_finalizers.contains(f)).collect();
        extra.sort();
        extra.dedup();
        if !extra.is_empty() {
            // Go formats the list with %#v.
            let list: Vec<String> = extra.iter().map(|f| go_quote(f)).collect();
            errs.push(FieldError::forbidden(
                &path.child("finalizers"),
                format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers \
                     []string{{{}}}",
                    list.join(", ")
                ),
            ));
        }
    }
    if let (Some(new_gen), Some(old_gen)) = (new.generation, old.generation)
        && new_gen < old_gen
    {
        errs.push(FieldError::invalid(&path.child("generation"), new_gen, "must not be decremented"));
    }
    let immutable = "field is immutable";
    if new.name != old.name {
        errs.push(FieldError::invalid(
            &path.child("name"),
            new.name.as_deref().unwrap_or_default(),
            immutable,
        ));
    }
    if new.namespace != old.namespace {
        errs.push(FieldError::invalid(
            &path.child("namespace"),
            new.namespace.as_deref().unwrap_or_default(),
            immutable,
        ));
    }
    if new.uid != old.uid {
        errs.push(FieldError::invalid(&path.child("uid"), new.uid.as_deref().unwrap_or_default(), immutable));
    }
    if new.creation_timestamp != old.creation_timestamp {
        errs.push(FieldError::invalid(&path.child("creationTimestamp"), &new.creation_timestamp, immutable));
    }
    if new.deletion_timestamp != old.deletion_timestamp {
        errs.push(FieldError::invalid(&path.child("deletionTimestamp"), &new.deletion_timestamp, immutable));
    }
    if new.deletion_grace_period_seconds != old.deletion_grace_period_seconds {
        errs.push(FieldError::invalid(
            &path.child("deletionGracePeriodSeconds"),
            new.deletion_grace_period_seconds,
            immutable,
        ));
    }
    errs
}

/// Label keys must be qualified names and values valid label values. Errors point at the map itself
/// (`metadata.labels`), as in Kubernetes.
pub fn validate_labels(labels: Option<&BTreeMap<String, String>>, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (key, value) in labels.into_iter().flatten() {
        errs.extend(validate_label_name(key, path));
        for msg in is_label_value(value) {
            errs.push(FieldError::invalid(path, value, msg));
        }
    }
    errs
}

/// A label key (or any qualified name) at `path`.
pub(crate) fn validate_label_name(key: &str, path: &FieldPath) -> Vec<FieldError> {
    is_qualified_name(key).into_iter().map(|msg| FieldError::invalid(path, key, msg)).collect()
}

/// Annotation keys must be qualified names (case-insensitively) and all keys and values together may not
/// exceed 256 × 1024 bytes.
pub fn validate_annotations(
    annotations: Option<&BTreeMap<String, String>>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut total = 0usize;
    for (key, value) in annotations.into_iter().flatten() {
        for msg in is_qualified_name(&key.to_lowercase()) {
            errs.push(FieldError::invalid(path, key, msg));
        }
        total = total.saturating_add(key.len()).saturating_add(value.len());
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
    errs
}

/// Owner references need `apiVersion`, kind, name and uid; at most one may be the controller; Events cannot
/// own anything.
pub fn validate_owner_references(refs: &[OwnerReference], path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut first_controller: Option<String> = None;
    for (i, reference) in refs.iter().enumerate() {
        let ref_path = path.index(i);
        let mut version_ok = true;
        if reference.api_version.is_empty() {
            errs.push(FieldError::required(&ref_path.child("apiVersion"), "must not be empty"));
            version_ok = false;
        } else if !is_group_version(&reference.api_version) {
            errs.push(FieldError::invalid(
                &ref_path.child("apiVersion"),
                &reference.api_version,
                "must be <group>/<version> or <version>",
            ));
            version_ok = false;
        }
        if reference.kind.is_empty() {
            errs.push(FieldError::required(&ref_path.child("kind"), "must not be empty"));
        }
        if reference.name.is_empty() {
            errs.push(FieldError::required(&ref_path.child("name"), "must not be empty"));
        }
        if reference.uid.is_empty() {
            errs.push(FieldError::required(&ref_path.child("uid"), "must not be empty"));
        }
        if version_ok && reference.api_version == "v1" && reference.kind == "Event" {
            errs.push(FieldError::invalid(
                &ref_path,
                owner_reference_go_json(reference),
                "/v1, Kind=Event is disallowed from being an owner",
            ));
        }
        if reference.controller == Some(true) {
            let current = format!("{}/{}", reference.kind, reference.name);
            match &first_controller {
                Some(first) => errs.push(FieldError::invalid(
                    path,
                    refs.iter().map(owner_reference_go_json).collect::<Vec<_>>(),
                    format!(
                        "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {current}"
                    ),
                )),
                None => first_controller = Some(current),
            }
        }
    }
    errs
}

/// `metav1.OwnerReference` as Go's encoding/json writes it (its JSON tags omit unset optionals).
fn owner_reference_go_json(reference: &OwnerReference) -> serde_json::Value {
    let mut value = json!({
        "apiVersion": reference.api_version,
        "kind": reference.kind,
        "name": reference.name,
        "uid": reference.uid,
    });
    if let (Some(controller), Some(map)) = (reference.controller, value.as_object_mut()) {
        map.insert("controller".into(), controller.into());
    }
    if let (Some(block), Some(map)) = (reference.block_owner_deletion, value.as_object_mut()) {
        map.insert("blockOwnerDeletion".into(), block.into());
    }
    value
}

/// `schema.ParseGroupVersion` succeeds with a non-empty version.
fn is_group_version(value: &str) -> bool {
    match value.split('/').collect::<Vec<_>>().as_slice() {
        [version] | [_, version] => !version.is_empty(),
        _ => false,
    }
}

/// Finalizer names must be qualified names, and unprefixed ones must be standard (`kubernetes`, `orphan`,
/// `foregroundDeletion`); `orphan` and `foregroundDeletion` exclude each other.
pub fn validate_finalizers(finalizers: &[String], path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, finalizer) in finalizers.iter().enumerate() {
        for msg in is_qualified_name(finalizer) {
            errs.push(FieldError::invalid(path, finalizer, msg));
        }
        if !finalizer.contains('/') && !STANDARD_FINALIZERS.contains(&finalizer.as_str()) {
            errs.push(FieldError::invalid(
                &path.index(i),
                finalizer,
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
    let has = |f: &str| finalizers.iter().any(|x| x == f);
    if has("orphan") && has("foregroundDeletion") {
        errs.push(FieldError::invalid(
            path,
            finalizers,
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    errs
}

/// Validates a label selector's syntax: `matchLabels` as labels, each `matchExpressions` entry's operator,
/// values and key.
pub fn validate_label_selector(selector: Option<&LabelSelector>, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(selector) = selector else { return errs };
    errs.extend(validate_labels(selector.match_labels.as_ref(), &path.child("matchLabels")));
    for (i, requirement) in selector.match_expressions.iter().flatten().enumerate() {
        let req_path = path.child("matchExpressions").index(i);
        let values = requirement.values.as_deref().unwrap_or_default();
        match requirement.operator.as_str() {
            "In" | "NotIn" => {
                if values.is_empty() {
                    errs.push(FieldError::required(
                        &req_path.child("values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    errs.push(FieldError::forbidden(
                        &req_path.child("values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            other => {
                errs.push(FieldError::invalid(
                    &req_path.child("operator"),
                    other,
                    "not a valid selector operator",
                ));
            }
        }
        errs.extend(validate_label_name(&requirement.key, &req_path.child("key")));
        for (j, value) in values.iter().enumerate() {
            for msg in is_label_value(value) {
                errs.push(FieldError::invalid(&req_path.child("values").index(j), value, msg));
            }
        }
    }
    errs
}

/// Whether the selector is empty (selects everything).
pub(crate) fn selector_is_empty(selector: &LabelSelector) -> bool {
    selector.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
        && selector.match_expressions.as_ref().is_none_or(Vec::is_empty)
}

/// Whether `labels` satisfy `selector` (all of `matchLabels` and every `matchExpressions` requirement). An
/// empty selector matches everything; an unknown operator matches nothing.
pub fn label_selector_matches(selector: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    let get = |key: &str| labels.and_then(|l| l.get(key));
    let labels_ok =
        selector.match_labels.iter().flatten().all(|(key, value)| get(key).is_some_and(|v| v == value));
    let expressions_ok = selector.match_expressions.iter().flatten().all(|requirement| {
        let values = requirement.values.as_deref().unwrap_or_default();
        let actual = get(&requirement.key);
        match requirement.operator.as_str() {
            "In" => actual.is_some_and(|v| values.contains(v)),
            "NotIn" => actual.is_none_or(|v| !values.contains(v)),
            "Exists" => actual.is_some(),
            "DoesNotExist" => actual.is_none(),
            _ => false,
        }
    });
    labels_ok && expressions_ok
}

/// `field is immutable` for a changed value, echoing the new one.
pub(crate) fn immutable(path: &FieldPath, new: impl serde::Serialize) -> FieldError {
    FieldError::invalid(path, new, "field is immutable")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::test_support::messages;
    use serde_json::json;

    fn meta(value: serde_json::Value) -> ObjectMeta {
        serde_json::from_value(value).expect("test data")
    }

    #[test]
    fn valid_metadata_has_no_errors() {
        let m = meta(json!({
            "name": "web", "namespace": "default",
            "labels": {"app": "web", "app.kubernetes.io/name": "web"},
            "annotations": {"Example.com/Note": "x"},
            "finalizers": ["kubernetes", "example.com/cleanup"],
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u", "controller": true}],
        }));
        assert!(validate_object_meta(&m, true, NameRule::Dns1123Subdomain).is_empty());
    }

    #[test]
    fn name_rules() {
        let cases: Vec<(serde_json::Value, bool, NameRule, Vec<&str>)> = vec![
            (
                json!({"namespace": "default"}),
                true,
                NameRule::Dns1123Subdomain,
                vec!["metadata.name: Required value: name or generateName is required"],
            ),
            (
                json!({"name": "", "generateName": "web-", "namespace": "d"}),
                true,
                NameRule::Dns1123Subdomain,
                vec!["metadata.name: Required value: name or generateName is required"],
            ),
            (
                json!({"name": "web-x1", "generateName": "web-", "namespace": "d"}),
                true,
                NameRule::Dns1123Subdomain,
                vec![],
            ),
            (json!({"name": "a.b", "namespace": "d"}), true, NameRule::Dns1123Subdomain, vec![]),
            (
                json!({"name": "a.b"}),
                false,
                NameRule::Dns1123Label,
                vec!["metadata.name: Invalid value: \"a.b\": must not contain dots"],
            ),
            (
                json!({"name": "1web", "namespace": "d"}),
                true,
                NameRule::Dns1035Label,
                vec![
                    "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
                ],
            ),
            (
                json!({"name": "Web", "namespace": "d"}),
                true,
                NameRule::Dns1123Subdomain,
                vec![
                    "metadata.name: Invalid value: \"Web\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                ],
            ),
            (
                json!({"name": "web", "generateName": "Web-", "namespace": "d"}),
                true,
                NameRule::Dns1123Subdomain,
                vec![
                    "metadata.generateName: Invalid value: \"Web-\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                ],
            ),
            (
                json!({"name": "web"}),
                true,
                NameRule::Dns1123Subdomain,
                vec!["metadata.namespace: Required value"],
            ),
            (
                json!({"name": "web", "namespace": "Bad"}),
                true,
                NameRule::Dns1123Subdomain,
                vec![
                    "metadata.namespace: Invalid value: \"Bad\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                ],
            ),
            (
                json!({"name": "node-1", "namespace": "default"}),
                false,
                NameRule::Dns1123Subdomain,
                vec!["metadata.namespace: Forbidden: not allowed on this type"],
            ),
            (
                json!({"name": "web", "namespace": "d", "generation": -1}),
                true,
                NameRule::Dns1123Subdomain,
                vec!["metadata.generation: Invalid value: -1: must be greater than or equal to 0"],
            ),
        ];
        for (value, namespaced, rule, expected) in cases {
            let errs = validate_object_meta(&meta(value.clone()), namespaced, rule);
            assert_eq!(messages(&errs), expected, "{value}");
        }
    }

    #[test]
    fn generate_name_prefix_may_end_with_a_dash() {
        assert!(NameRule::Dns1123Subdomain.check("web-", true).is_empty());
        assert!(NameRule::Dns1123Label.check("web-", true).is_empty());
        assert!(!NameRule::Dns1123Subdomain.check("web-", false).is_empty());
        // A multi-byte character before the dash must not panic.
        assert!(!NameRule::Dns1123Subdomain.check("é-", true).is_empty());
        assert!(!NameRule::Dns1123Subdomain.check("-", true).is_empty());
    }

    #[test]
    fn labels_and_annotations() {
        let m = meta(
            json!({"name": "w", "namespace": "d", "labels": {"-bad": "ok", "good": "-bad"}, "annotations": {"a/b/c": "x"}}),
        );
        let errs = validate_object_meta(&m, true, NameRule::Dns1123Subdomain);
        let fields: Vec<(&str, &str)> = errs.iter().map(|e| (e.field.as_str(), e.kind.reason())).collect();
        assert_eq!(
            fields,
            vec![
                ("metadata.labels", "FieldValueInvalid"),
                ("metadata.labels", "FieldValueInvalid"),
                ("metadata.annotations", "FieldValueInvalid")
            ]
        );
        assert_eq!(errs[0].value, Some(json!("-bad")));
        assert_eq!(errs[1].value, Some(json!("-bad")));
        assert!(errs[1].detail.starts_with("a valid label must be an empty string"));
    }

    #[test]
    fn annotation_size_limit() {
        let big = "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT);
        let m = meta(json!({"name": "w", "namespace": "d", "annotations": {"k": big}}));
        assert_eq!(
            messages(&validate_object_meta(&m, true, NameRule::Dns1123Subdomain)),
            vec!["metadata.annotations: Too long: may not be more than 262144 bytes"]
        );
        let exact = "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT - 1);
        let m = meta(json!({"name": "w", "namespace": "d", "annotations": {"k": exact}}));
        assert!(validate_object_meta(&m, true, NameRule::Dns1123Subdomain).is_empty());
    }

    #[test]
    fn owner_references() {
        let m = meta(json!({"name": "w", "namespace": "d", "ownerReferences": [
            {"apiVersion": "", "kind": "", "name": "", "uid": ""},
            {"apiVersion": "a/b/c", "kind": "K", "name": "n", "uid": "u"},
            {"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "u"},
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "a", "uid": "1", "controller": true},
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "b", "uid": "2", "controller": true},
        ]}));
        let msgs = messages(&validate_object_meta(&m, true, NameRule::Dns1123Subdomain));
        assert_eq!(msgs[0], "metadata.ownerReferences[0].apiVersion: Required value: must not be empty");
        assert_eq!(msgs[1], "metadata.ownerReferences[0].kind: Required value: must not be empty");
        assert_eq!(msgs[2], "metadata.ownerReferences[0].name: Required value: must not be empty");
        assert_eq!(msgs[3], "metadata.ownerReferences[0].uid: Required value: must not be empty");
        assert_eq!(
            msgs[4],
            "metadata.ownerReferences[1].apiVersion: Invalid value: \"a/b/c\": must be <group>/<version> or <version>"
        );
        assert_eq!(
            msgs[5],
            "metadata.ownerReferences[2]: Invalid value: {\"apiVersion\":\"v1\",\"kind\":\"Event\",\"name\":\"e\",\"uid\":\"u\"}: /v1, Kind=Event is disallowed from being an owner"
        );
        assert!(msgs[6].starts_with("metadata.ownerReferences: Invalid value: [{"), "{}", msgs[6]);
        assert!(msgs[6].ends_with("Only one reference can have Controller set to true. Found \"true\" in references for ReplicaSet/a and ReplicaSet/b"));
        assert_eq!(msgs.len(), 7);
    }

    #[test]
    fn finalizers() {
        let m = meta(
            json!({"name": "w", "namespace": "d", "finalizers": ["custom", "orphan", "foregroundDeletion"]}),
        );
        assert_eq!(
            messages(&validate_object_meta(&m, true, NameRule::Dns1123Subdomain)),
            vec![
                "metadata.finalizers[0]: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified",
                "metadata.finalizers: Invalid value: [\"custom\",\"orphan\",\"foregroundDeletion\"]: finalizer orphan and foregroundDeletion cannot be both set",
            ]
        );
    }

    #[test]
    fn metadata_update_rules() {
        let old = meta(
            json!({"name": "a", "namespace": "d", "uid": "1", "generation": 3, "creationTimestamp": "2024-01-01T00:00:00Z"}),
        );
        assert!(validate_object_meta_update(&old, &old).is_empty());
        let new = meta(
            json!({"name": "b", "namespace": "e", "uid": "2", "generation": 2, "creationTimestamp": "2024-01-02T00:00:00Z"}),
        );
        assert_eq!(
            messages(&validate_object_meta_update(&new, &old)),
            vec![
                "metadata.generation: Invalid value: 2: must not be decremented",
                "metadata.name: Invalid value: \"b\": field is immutable",
                "metadata.namespace: Invalid value: \"e\": field is immutable",
                "metadata.uid: Invalid value: \"2\": field is immutable",
                "metadata.creationTimestamp: Invalid value: \"2024-01-02T00:00:00Z\": field is immutable",
            ]
        );
        let deleting =
            meta(json!({"name": "a", "deletionTimestamp": "2024-01-01T00:00:00Z", "finalizers": ["x/a"]}));
        let added = meta(
            json!({"name": "a", "deletionTimestamp": "2024-01-01T00:00:00Z", "finalizers": ["x/a", "x/b"]}),
        );
        assert_eq!(
            messages(&validate_object_meta_update(&added, &deleting)),
            vec![
                "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"x/b\"}"
            ]
        );
    }

    #[test]
    fn label_selector_validation() {
        let selector: LabelSelector = serde_json::from_value(json!({
            "matchLabels": {"app": "-x"},
            "matchExpressions": [
                {"key": "tier", "operator": "In"},
                {"key": "tier", "operator": "Exists", "values": ["a"]},
                {"key": "-k", "operator": "Near", "values": ["-v"]},
            ],
        }))
        .expect("test data");
        let msgs =
            messages(&validate_label_selector(Some(&selector), &FieldPath::new("spec").child("selector")));
        assert_eq!(msgs.len(), 6, "{msgs:#?}");
        assert!(
            msgs[0].starts_with("spec.selector.matchLabels: Invalid value: \"-x\": a valid label must be")
        );
        assert_eq!(
            msgs[1],
            "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"
        );
        assert_eq!(
            msgs[2],
            "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
        );
        assert_eq!(
            msgs[3],
            "spec.selector.matchExpressions[2].operator: Invalid value: \"Near\": not a valid selector operator"
        );
        assert!(msgs[4].starts_with(
            "spec.selector.matchExpressions[2].key: Invalid value: \"-k\": name part must consist of"
        ));
        assert!(msgs[5].starts_with(
            "spec.selector.matchExpressions[2].values[0]: Invalid value: \"-v\": a valid label"
        ));
        assert!(validate_label_selector(None, &FieldPath::new("s")).is_empty());
    }

    #[test]
    fn selector_matching() {
        let labels: BTreeMap<String, String> =
            [("app".into(), "web".into()), ("tier".into(), "fe".into())].into();
        let sel = |v: serde_json::Value| -> LabelSelector { serde_json::from_value(v).expect("test data") };
        assert!(label_selector_matches(&sel(json!({})), None));
        assert!(label_selector_matches(&sel(json!({"matchLabels": {"app": "web"}})), Some(&labels)));
        assert!(!label_selector_matches(&sel(json!({"matchLabels": {"app": "db"}})), Some(&labels)));
        assert!(!label_selector_matches(&sel(json!({"matchLabels": {"app": "web"}})), None));
        let cases = [
            (json!({"key": "tier", "operator": "In", "values": ["fe", "be"]}), true),
            (json!({"key": "tier", "operator": "In", "values": ["be"]}), false),
            (json!({"key": "tier", "operator": "NotIn", "values": ["be"]}), true),
            (json!({"key": "zone", "operator": "NotIn", "values": ["a"]}), true),
            (json!({"key": "tier", "operator": "Exists"}), true),
            (json!({"key": "zone", "operator": "Exists"}), false),
            (json!({"key": "zone", "operator": "DoesNotExist"}), true),
            (json!({"key": "tier", "operator": "Bogus"}), false),
        ];
        for (expr, expected) in cases {
            let s = sel(json!({"matchExpressions": [expr.clone()]}));
            assert_eq!(label_selector_matches(&s, Some(&labels)), expected, "{expr}");
        }
        assert!(selector_is_empty(&sel(json!({"matchLabels": {}}))));
        assert!(!selector_is_empty(&sel(json!({"matchLabels": {"a": "b"}}))));
    }
}
