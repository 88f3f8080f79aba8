//! Printers of RBAC bindings. Roles and ClusterRoles print as Kubernetes prints them: the default name and
//! creation-time table.

use jiff::Timestamp;
use serde_json::Value;

use super::fields::{created, list, name, text};
use super::{AGE, Column, NAME, column, wide};

pub(super) const BINDING_COLUMNS: &[Column] = &[
    NAME,
    column("Role", "string", "Role of the binding"),
    AGE,
    wide("Users", "string", "Users in the binding"),
    wide("Groups", "string", "Groups in the binding"),
    wide("ServiceAccounts", "string", "ServiceAccounts in the binding"),
];

pub(super) fn binding_cells(binding: &Value, now: Timestamp) -> Vec<Value> {
    let role = format!("{}/{}", text(binding, "/roleRef/kind"), text(binding, "/roleRef/name"));
    let subjects = |kind: &str| -> String {
        list(binding, "/subjects")
            .iter()
            .filter(|s| text(s, "/kind") == kind)
            .map(|s| match kind {
                "ServiceAccount" => format!("{}/{}", text(s, "/namespace"), text(s, "/name")),
                _ => text(s, "/name").to_owned(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    vec![
        name(binding).into(),
        role.into(),
        created(binding, now).into(),
        subjects("User").into(),
        subjects("Group").into(),
        subjects("ServiceAccount").into(),
    ]
}
