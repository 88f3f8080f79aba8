//! Defaults for RBAC objects (a subject's `apiGroup`), and for the review kinds and CertificateSigningRequests,
//! which have none.

use k8s_openapi::api::authentication::v1::{SelfSubjectReview, TokenReview};
use k8s_openapi::api::authorization::v1::{
    LocalSubjectAccessReview, SelfSubjectAccessReview, SelfSubjectRulesReview, SubjectAccessReview,
};
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding, Subject};

use super::ApplyDefaults;

/// The API group of RBAC subjects of kind User and Group.
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// `SetDefaults_Subject`: Users and Groups are in the RBAC group, ServiceAccounts in core.
fn default_subjects(subjects: Option<&mut Vec<Subject>>) {
    for subject in subjects.into_iter().flatten() {
        if subject.api_group.as_deref().is_none_or(str::is_empty) {
            match subject.kind.as_str() {
                "User" | "Group" => subject.api_group = Some(RBAC_GROUP.to_owned()),
                "ServiceAccount" => subject.api_group = Some(String::new()),
                _ => {}
            }
        }
    }
}

impl ApplyDefaults for RoleBinding {
    fn apply_defaults(&mut self) {
        default_subjects(self.subjects.as_mut());
    }
}

impl ApplyDefaults for ClusterRoleBinding {
    fn apply_defaults(&mut self) {
        default_subjects(self.subjects.as_mut());
    }
}

macro_rules! no_defaults {
    ($($ty:ty),*) => {
        $(impl ApplyDefaults for $ty {
            fn apply_defaults(&mut self) {}
        })*
    };
}

no_defaults!(
    Role,
    ClusterRole,
    SelfSubjectAccessReview,
    SelfSubjectRulesReview,
    SubjectAccessReview,
    LocalSubjectAccessReview,
    SelfSubjectReview,
    TokenReview,
    CertificateSigningRequest
);
