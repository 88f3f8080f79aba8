//! Resource names and quantities in `resources.requests`/`limits`, as Kubernetes validates them.
//!
//! Quantities are parsed and compared exactly with [`crate::quantity`], and printed in canonical form in
//! messages, as Kubernetes prints the quantities it decoded (`0.5` is reported as `500m`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::quantity::{ParsedQuantity, QuantityError};

use super::names::is_qualified_name;
use super::{FieldError, FieldPath};

/// Resource names that are standard without a domain prefix (`helper.IsStandardResourceName`).
const STANDARD_RESOURCES: [&str; 20] = [
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "requests.storage",
    "services.nodeports",
    "services.loadbalancers",
    "storage",
];

/// Parses a quantity from an object, ignoring surrounding whitespace as Kubernetes' decoding does.
pub(crate) fn parse_quantity(quantity: &Quantity) -> Result<ParsedQuantity, QuantityError> {
    ParsedQuantity::try_from(quantity)
}

/// Whether a resource name is one of the kernel-managed ones (`cpu`, `memory`, ...) or under
/// `kubernetes.io/`, as opposed to an extended resource.
fn is_native_resource(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

fn is_hugepages(name: &str) -> bool {
    name.starts_with("hugepages-")
}

/// Extended resources and hugepages cannot be overcommitted: requests must equal limits.
fn is_overcommit_allowed(name: &str) -> bool {
    is_native_resource(name) && !is_hugepages(name)
}

/// Extended resources (`example.com/gpu`) are counted in whole units.
fn is_integer_resource(name: &str) -> bool {
    !is_native_resource(name) && !name.starts_with("requests.")
}

fn is_standard_container_resource(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage") || is_hugepages(name)
}

/// `validateContainerResourceName`.
fn validate_container_resource_name(name: &str, path: &FieldPath) -> Vec<FieldError> {
    let mut errs: Vec<FieldError> =
        is_qualified_name(name).into_iter().map(|m| FieldError::invalid(path, name, m)).collect();
    if !errs.is_empty() {
        return errs;
    }
    if !name.contains('/') {
        if !STANDARD_RESOURCES.contains(&name)
            && !is_hugepages(name)
            && !name.starts_with("requests.hugepages-")
        {
            errs.push(FieldError::invalid(path, name, "must be a standard resource type or fully qualified"));
        }
        if !is_standard_container_resource(name) {
            errs.push(FieldError::invalid(path, name, "must be a standard resource for containers"));
        }
    } else if !is_native_resource(name) && !is_extended_resource_name(name) {
        errs.push(FieldError::invalid(path, name, "doesn't follow extended resource name standard"));
    }
    errs
}

/// `helper.IsExtendedResourceName`: not native, not `requests.`-prefixed, and valid as a quota name.
fn is_extended_resource_name(name: &str) -> bool {
    !is_native_resource(name)
        && !name.starts_with("requests.")
        && is_qualified_name(&format!("requests.{name}")).is_empty()
}

fn quantity_errors(
    name: &str,
    quantity: &Quantity,
    path: &FieldPath,
) -> (Option<ParsedQuantity>, Vec<FieldError>) {
    let value = match parse_quantity(quantity) {
        Ok(value) => value,
        Err(e) => return (None, vec![FieldError::invalid(path, &quantity.0, e.to_string())]),
    };
    let mut errs = Vec::new();
    if value.is_negative() {
        errs.push(FieldError::invalid(path, value.to_string(), "must be greater than or equal to 0"));
    }
    if is_integer_resource(name) && value.nanos() % 1_000_000_000 != 0 {
        errs.push(FieldError::invalid(path, value.to_string(), "must be an integer"));
    }
    (Some(value), errs)
}

/// Validates a container's (or the pod's) `resources`: names, quantities, requests ≤ limits (equal for
/// resources that cannot be overcommitted), and hugepages only alongside cpu or memory.
pub(crate) fn validate_resource_requirements(
    requirements: Option<&ResourceRequirements>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(requirements) = requirements else { return errs };
    let empty = BTreeMap::new();
    let limits = requirements.limits.as_ref().unwrap_or(&empty);
    let requests = requirements.requests.as_ref().unwrap_or(&empty);
    let lim_path = path.child("limits");
    let req_path = path.child("requests");
    let mut has_cpu_or_memory = false;
    let mut has_hugepages = false;
    let mut parsed_limits = BTreeMap::new();
    for (name, quantity) in limits {
        let field = lim_path.key(name);
        errs.extend(validate_container_resource_name(name, &field));
        let (value, quantity_errs) = quantity_errors(name, quantity, &field);
        errs.extend(quantity_errs);
        if let Some(value) = value {
            parsed_limits.insert(name.as_str(), value);
        }
        has_hugepages |= is_hugepages(name);
        has_cpu_or_memory |= matches!(name.as_str(), "cpu" | "memory");
    }
    for (name, quantity) in requests {
        let field = req_path.key(name);
        errs.extend(validate_container_resource_name(name, &field));
        let (value, quantity_errs) = quantity_errors(name, quantity, &field);
        errs.extend(quantity_errs);
        match (value, parsed_limits.get(name.as_str())) {
            (Some(request), Some(limit)) => {
                if request != *limit && !is_overcommit_allowed(name) {
                    errs.push(FieldError::invalid(
                        &req_path,
                        request.to_string(),
                        format!("must be equal to {name} limit of {limit}"),
                    ));
                } else if request > *limit {
                    errs.push(FieldError::invalid(
                        &req_path,
                        request.to_string(),
                        format!("must be less than or equal to {name} limit of {limit}"),
                    ));
                }
            }
            (_, None) if !is_overcommit_allowed(name) && !limits.contains_key(name) => {
                errs.push(FieldError::required(
                    &lim_path,
                    "Limit must be set for non overcommitable resources",
                ));
            }
            _ => {}
        }
        has_hugepages |= is_hugepages(name);
        has_cpu_or_memory |= matches!(name.as_str(), "cpu" | "memory");
    }
    if has_hugepages && !has_cpu_or_memory {
        errs.push(FieldError::forbidden(path, "HugePages require cpu or memory"));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::test_support::{from_json, messages};
    use serde_json::json;

    fn check(resources: serde_json::Value) -> Vec<String> {
        let r: ResourceRequirements = from_json(resources);
        messages(&validate_resource_requirements(
            Some(&r),
            &FieldPath::new("spec").child("containers").index(0).child("resources"),
        ))
    }

    #[test]
    fn valid_resources() {
        assert!(check(json!({"requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "128Mi"}})).is_empty());
        assert!(
            check(json!({"limits": {"example.com/gpu": "2"}, "requests": {"example.com/gpu": "2"}}))
                .is_empty()
        );
        assert!(
            check(
                json!({"requests": {"cpu": "1", "hugepages-2Mi": "2Mi"}, "limits": {"hugepages-2Mi": "2Mi"}})
            )
            .is_empty()
        );
    }

    #[test]
    fn resource_errors() {
        let p = "spec.containers[0].resources";
        let cases: Vec<(serde_json::Value, Vec<String>)> = vec![
            (
                json!({"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}),
                vec![format!(
                    "{p}.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1"
                )],
            ),
            (
                json!({"requests": {"memory": "1Gi"}, "limits": {"memory": "512Mi"}}),
                vec![format!(
                    "{p}.requests: Invalid value: \"1Gi\": must be less than or equal to memory limit of 512Mi"
                )],
            ),
            (
                json!({"requests": {"cpu": "1000m"}, "limits": {"cpu": "0.5"}}),
                vec![format!(
                    "{p}.requests: Invalid value: \"1\": must be less than or equal to cpu limit of 500m"
                )],
            ),
            (
                json!({"requests": {"cpu": "-1"}}),
                vec![format!("{p}.requests[cpu]: Invalid value: \"-1\": must be greater than or equal to 0")],
            ),
            (
                json!({"limits": {"cpu": "lots"}}),
                vec![format!("{p}.limits[cpu]: Invalid value: \"lots\": {}", QuantityError::InvalidFormat)],
            ),
            (
                json!({"limits": {"gpu": "1"}}),
                vec![
                    format!(
                        "{p}.limits[gpu]: Invalid value: \"gpu\": must be a standard resource type or fully qualified"
                    ),
                    format!(
                        "{p}.limits[gpu]: Invalid value: \"gpu\": must be a standard resource for containers"
                    ),
                ],
            ),
            (
                json!({"limits": {"pods": "1"}}),
                vec![format!(
                    "{p}.limits[pods]: Invalid value: \"pods\": must be a standard resource for containers"
                )],
            ),
            (
                json!({"requests": {"example.com/gpu": "1"}}),
                vec![format!(
                    "{p}.limits: Required value: Limit must be set for non overcommitable resources"
                )],
            ),
            (
                json!({"requests": {"example.com/gpu": "1"}, "limits": {"example.com/gpu": "2"}}),
                vec![format!(
                    "{p}.requests: Invalid value: \"1\": must be equal to example.com/gpu limit of 2"
                )],
            ),
            (
                json!({"limits": {"example.com/gpu": "500m"}}),
                vec![format!("{p}.limits[example.com/gpu]: Invalid value: \"500m\": must be an integer")],
            ),
            (
                json!({"limits": {"hugepages-2Mi": "2Mi"}, "requests": {"hugepages-2Mi": "2Mi"}}),
                vec![format!("{p}: Forbidden: HugePages require cpu or memory")],
            ),
        ];
        for (resources, expected) in cases {
            assert_eq!(check(resources.clone()), expected, "{resources}");
        }
    }
}
