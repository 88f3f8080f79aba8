//! RBAC objects: rules that can match something, role references that name a role of the right kind, subjects
//! of the three kinds, and a binding's `roleRef` that never changes (Kubernetes' `pkg/apis/rbac/validation`).
//! The review kinds (`SelfSubjectAccessReview`, …) are never stored and need no rules here.

use k8s_openapi::api::authentication::v1::{SelfSubjectReview, TokenReview};
use k8s_openapi::api::authorization::v1::{
    LocalSubjectAccessReview, SelfSubjectAccessReview, SelfSubjectRulesReview, SubjectAccessReview,
};
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};

use super::meta::{NameRule, validate_object_meta_update};
use super::{FieldError, FieldPath, Validate, validate_object_meta};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

fn validate_rules(rules: Option<&Vec<PolicyRule>>, namespaced: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, rule) in rules.into_iter().flatten().enumerate() {
        let path = FieldPath::new("rules").index(i);
        if rule.verbs.is_empty() {
            errs.push(FieldError::required(&path.child("verbs"), "verbs must contain at least one value"));
        }
        let urls = rule.non_resource_urls.as_deref().unwrap_or_default();
        let resources = rule.resources.as_deref().unwrap_or_default();
        if !urls.is_empty() {
            if namespaced {
                errs.push(FieldError::invalid(
                    &path.child("nonResourceURLs"),
                    urls,
                    "namespaced rules cannot apply to non-resource URLs",
                ));
            }
            if !resources.is_empty() || rule.api_groups.as_ref().is_some_and(|g| !g.is_empty()) {
                errs.push(FieldError::invalid(
                    &path.child("nonResourceURLs"),
                    urls,
                    "rules cannot apply to both regular resources and non-resource URLs",
                ));
            }
            continue;
        }
        if rule.api_groups.as_ref().is_none_or(Vec::is_empty) {
            errs.push(FieldError::required(
                &path.child("apiGroups"),
                "resource rules must supply at least one api group",
            ));
        }
        if resources.is_empty() {
            errs.push(FieldError::required(
                &path.child("resources"),
                "resource rules must supply at least one resource",
            ));
        }
    }
    errs
}

fn validate_role_ref(role_ref: &RoleRef, kinds: &[&str]) -> Vec<FieldError> {
    let path = FieldPath::new("roleRef");
    let mut errs = Vec::new();
    let group = role_ref.api_group.as_deref().unwrap_or_default();
    if group != RBAC_GROUP {
        errs.push(FieldError::not_supported(&path.child("apiGroup"), group, &[RBAC_GROUP]));
    }
    if !kinds.contains(&role_ref.kind.as_str()) {
        errs.push(FieldError::not_supported(&path.child("kind"), &role_ref.kind, kinds));
    }
    if role_ref.name.is_empty() {
        errs.push(FieldError::required(&path.child("name"), ""));
    } else {
        errs.extend(
            NameRule::PathSegment
                .check(&role_ref.name, false)
                .into_iter()
                .map(|m| FieldError::invalid(&path.child("name"), &role_ref.name, m)),
        );
    }
    errs
}

fn validate_subjects(subjects: Option<&Vec<Subject>>, cluster_binding: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, subject) in subjects.into_iter().flatten().enumerate() {
        let path = FieldPath::new("subjects").index(i);
        if subject.name.is_empty() {
            errs.push(FieldError::required(&path.child("name"), ""));
        }
        let group = subject.api_group.as_deref().unwrap_or_default();
        match subject.kind.as_str() {
            "ServiceAccount" => {
                if !group.is_empty() {
                    errs.push(FieldError::not_supported(&path.child("apiGroup"), group, &[""]));
                }
                if cluster_binding && subject.namespace.as_deref().is_none_or(str::is_empty) {
                    errs.push(FieldError::required(&path.child("namespace"), ""));
                }
            }
            "User" | "Group" => {
                if group != RBAC_GROUP {
                    errs.push(FieldError::not_supported(&path.child("apiGroup"), group, &[RBAC_GROUP]));
                }
            }
            other => {
                errs.push(FieldError::not_supported(
                    &path.child("kind"),
                    other,
                    &["ServiceAccount", "User", "Group"],
                ));
            }
        }
    }
    errs
}

fn role_ref_unchanged(new: &RoleRef, old: &RoleRef) -> Vec<FieldError> {
    if new == old {
        return Vec::new();
    }
    vec![FieldError::invalid(&FieldPath::new("roleRef"), new, "cannot change roleRef")]
}

impl Validate for Role {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, NameRule::PathSegment);
        errs.extend(validate_rules(self.rules.as_ref(), true));
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        errs.extend(self.validate());
        errs
    }
}

impl Validate for ClusterRole {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, false, NameRule::PathSegment);
        errs.extend(validate_rules(self.rules.as_ref(), false));
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        errs.extend(self.validate());
        errs
    }
}

impl Validate for RoleBinding {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, NameRule::PathSegment);
        errs.extend(validate_role_ref(&self.role_ref, &["Role", "ClusterRole"]));
        errs.extend(validate_subjects(self.subjects.as_ref(), false));
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        errs.extend(role_ref_unchanged(&self.role_ref, &old.role_ref));
        errs.extend(self.validate());
        errs
    }
}

impl Validate for ClusterRoleBinding {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, false, NameRule::PathSegment);
        errs.extend(validate_role_ref(&self.role_ref, &["ClusterRole"]));
        errs.extend(validate_subjects(self.subjects.as_ref(), true));
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        errs.extend(role_ref_unchanged(&self.role_ref, &old.role_ref));
        errs.extend(self.validate());
        errs
    }
}

macro_rules! never_stored {
    ($($ty:ty),*) => {
        $(impl Validate for $ty {
            fn validate(&self) -> Vec<FieldError> {
                Vec::new()
            }
        })*
    };
}

never_stored!(
    SelfSubjectAccessReview,
    SelfSubjectRulesReview,
    SubjectAccessReview,
    LocalSubjectAccessReview,
    SelfSubjectReview,
    TokenReview
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::test_support::{from_json, messages};
    use serde_json::json;

    #[test]
    fn rules_must_match_something() {
        let role: Role = from_json(json!({"metadata": {"name": "r", "namespace": "dev"},
            "rules": [{"verbs": [], "apiGroups": [""], "resources": ["pods"]},
                      {"verbs": ["get"]},
                      {"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]}));
        assert_eq!(
            messages(&role.validate()),
            vec![
                "rules[0].verbs: Required value: verbs must contain at least one value",
                "rules[1].apiGroups: Required value: resource rules must supply at least one api group",
                "rules[1].resources: Required value: resource rules must supply at least one resource",
                "rules[2].nonResourceURLs: Invalid value: [\"/healthz\"]: namespaced rules cannot apply to non-resource URLs",
            ]
        );
        let viewer: ClusterRole = from_json(json!({"metadata": {"name": "system:viewer"},
            "rules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]}));
        assert!(viewer.validate().is_empty(), "{:?}", messages(&viewer.validate()));
    }

    #[test]
    fn bindings_name_a_role_of_the_right_kind_and_keep_it() {
        let binding: ClusterRoleBinding = from_json(json!({"metadata": {"name": "b"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": "sa"}, {"kind": "Robot", "name": "r"}]}));
        assert_eq!(
            messages(&binding.validate()),
            vec![
                "roleRef.kind: Unsupported value: \"Role\": supported values: \"ClusterRole\"",
                "subjects[0].namespace: Required value",
                "subjects[1].kind: Unsupported value: \"Robot\": supported values: \"ServiceAccount\", \"User\", \"Group\"",
            ]
        );
        let old: RoleBinding =
            from_json(json!({"metadata": {"name": "b", "namespace": "dev", "resourceVersion": "1"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}}));
        let mut new = old.clone();
        new.role_ref.name = "admin".into();
        assert!(messages(&new.validate_update(&old)).iter().any(|m| m.contains("cannot change roleRef")));
    }
}
