//! Cluster-level and bookkeeping kinds: Namespaces, Nodes, Events, `PriorityClasses` and Leases.

use std::collections::BTreeSet;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event, Namespace, Node};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use serde_json::json;

use super::meta::{
    NameRule, immutable, validate_finalizers, validate_label_name, validate_object_meta_update,
};
use super::names::{is_label_value, is_qualified_name, validate_cidr};
use super::resources::parse_quantity;
use super::{FieldError, FieldPath, Validate, validate_object_meta};

/// The highest `value` a `PriorityClass` not named `system-*` may have.
pub const HIGHEST_USER_DEFINABLE_PRIORITY: i32 = 1_000_000_000;
const SYSTEM_PRIORITY_CLASSES: [(&str, i32); 2] =
    [("system-node-critical", 2_000_001_000), ("system-cluster-critical", 2_000_000_000)];
const TAINT_EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

impl Validate for Namespace {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, false, NameRule::Dns1123Label);
        let finalizers = self.spec.as_ref().and_then(|s| s.finalizers.as_deref()).unwrap_or_default();
        errs.extend(validate_finalizers(finalizers, &FieldPath::new("spec").child("finalizers")));
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        errs.extend(self.validate());
        errs
    }
}

impl Validate for Node {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, false, NameRule::Dns1123Subdomain);
        let spec = self.spec.as_ref();
        // Kubernetes reports taints under metadata.taints (it passes the metadata path); kept for parity.
        errs.extend(validate_taints(spec.and_then(|s| s.taints.as_deref()).unwrap_or_default()));
        errs.extend(validate_node_resources(self));
        let cidrs = spec.and_then(|s| s.pod_cidrs.as_deref()).unwrap_or_default();
        let cidrs_path = FieldPath::new("spec").child("podCIDRs");
        for (i, cidr) in cidrs.iter().enumerate() {
            errs.extend(validate_cidr(&cidrs_path.index(i), cidr));
        }
        if cidrs.len() > 1 {
            let families: BTreeSet<bool> = cidrs.iter().map(|c| c.contains(':')).collect();
            if families.len() != cidrs.len() {
                errs.push(FieldError::invalid(
                    &cidrs_path,
                    cidrs,
                    "may specify no more than one CIDR for each IP family",
                ));
            }
            let mut seen = BTreeSet::new();
            for (i, cidr) in cidrs.iter().enumerate() {
                if !seen.insert(cidr) {
                    errs.push(FieldError::duplicate(&cidrs_path.index(i), cidr));
                }
            }
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        let old_cidrs = old.spec.as_ref().and_then(|s| s.pod_cidrs.as_deref()).unwrap_or_default();
        let new_cidrs = self.spec.as_ref().and_then(|s| s.pod_cidrs.as_deref()).unwrap_or_default();
        let cidr_msg = "node updates may not change podCIDR except from \"\" to valid";
        if !old_cidrs.is_empty() {
            if old_cidrs.len() == new_cidrs.len() {
                for (old_cidr, new_cidr) in old_cidrs.iter().zip(new_cidrs) {
                    if old_cidr != new_cidr {
                        errs.push(FieldError::forbidden(&FieldPath::new("spec").child("podCIDRs"), cidr_msg));
                    }
                }
            } else {
                errs.push(FieldError::forbidden(&FieldPath::new("spec").child("podCIDRs"), cidr_msg));
            }
        }
        let old_provider = old.spec.as_ref().and_then(|s| s.provider_id.as_deref()).unwrap_or_default();
        let new_provider = self.spec.as_ref().and_then(|s| s.provider_id.as_deref()).unwrap_or_default();
        if !old_provider.is_empty() && old_provider != new_provider {
            errs.push(FieldError::forbidden(
                &FieldPath::new("spec").child("providerID"),
                "node updates may not change providerID except from \"\" to valid",
            ));
        }
        let addresses = self.status.as_ref().and_then(|s| s.addresses.as_deref()).unwrap_or_default();
        for (i, address) in addresses.iter().enumerate() {
            if addresses.iter().take(i).any(|a| a == address) {
                errs.push(FieldError::duplicate(
                    &FieldPath::new("status").child("addresses").index(i),
                    json!({"Type": address.type_, "Address": address.address}),
                ));
            }
        }
        errs.extend(self.validate());
        errs
    }
}

fn validate_taints(taints: &[k8s_openapi::api::core::v1::Taint]) -> Vec<FieldError> {
    let path = FieldPath::new("metadata").child("taints");
    let mut errs = Vec::new();
    let mut unique: BTreeSet<(&str, &str)> = BTreeSet::new();
    for (i, taint) in taints.iter().enumerate() {
        let tp = path.index(i);
        errs.extend(validate_label_name(&taint.key, &tp.child("key")));
        let value = taint.value.as_deref().unwrap_or_default();
        let msgs = is_label_value(value);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(&tp.child("value"), value, msgs.join(";")));
        }
        if taint.effect.is_empty() {
            errs.push(FieldError::required(&tp.child("effect"), ""));
        } else if !TAINT_EFFECTS.contains(&taint.effect.as_str()) {
            errs.push(FieldError::not_supported(&tp.child("effect"), &taint.effect, &TAINT_EFFECTS));
        }
        if !unique.insert((taint.effect.as_str(), taint.key.as_str())) {
            let internal = json!({"Key": taint.key, "Value": value, "Effect": taint.effect, "TimeAdded": taint.time_added});
            errs.push(
                FieldError::duplicate(&tp, internal)
                    .with_detail("taints must be unique by key and effect pair"),
            );
        }
    }
    errs
}

/// Capacity and allocatable quantities must parse and not be negative.
fn validate_node_resources(node: &Node) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(status) = &node.status else { return errs };
    for (list, field) in [(&status.capacity, "capacity"), (&status.allocatable, "allocatable")] {
        for (name, quantity) in list.iter().flatten() {
            let path = FieldPath::new("status").child(field).child(name);
            match parse_quantity(quantity) {
                Err(e) => errs.push(FieldError::invalid(&path, &quantity.0, e.to_string())),
                Ok(value) if value.is_negative() => {
                    errs.push(FieldError::invalid(
                        &path,
                        value.to_string(),
                        "must be greater than or equal to 0",
                    ));
                }
                Ok(_) => {}
            }
        }
    }
    errs
}

impl Validate for Event {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, NameRule::Dns1123Subdomain);
        let namespace = self.metadata.namespace.as_deref().unwrap_or_default();
        let involved_namespace = self.involved_object.namespace.as_deref().unwrap_or_default();
        let involved_path = FieldPath::new("involvedObject").child("namespace");
        let mismatch =
            || FieldError::invalid(&involved_path, involved_namespace, "does not match event.namespace");
        if self.event_time.is_none() {
            // Old-style events: the namespaces must agree ("default" tolerated for cluster-scoped objects).
            if involved_namespace.is_empty() {
                if !namespace.is_empty() && namespace != "default" {
                    errs.push(mismatch());
                }
            } else if namespace != involved_namespace {
                errs.push(mismatch());
            }
        } else {
            if involved_namespace.is_empty() && namespace != "default" && namespace != "kube-system" {
                errs.push(mismatch());
            }
            let component = self.reporting_component.as_deref().unwrap_or_default();
            let component_path = FieldPath::new("reportingComponent");
            if component.is_empty() {
                errs.push(FieldError::required(&component_path, ""));
            }
            errs.extend(
                is_qualified_name(component)
                    .into_iter()
                    .map(|m| FieldError::invalid(&component_path, component, m)),
            );
            for (value, field, limit) in [
                (&self.reporting_instance, "reportingInstance", 128),
                (&self.action, "action", 128),
                (&self.reason, "reason", 128),
            ] {
                let value = value.as_deref().unwrap_or_default();
                if value.is_empty() {
                    errs.push(FieldError::required(&FieldPath::new(field), ""));
                }
                if value.len() > limit {
                    errs.push(FieldError::invalid(
                        &FieldPath::new(field),
                        "",
                        format!("can have at most {limit} characters"),
                    ));
                }
            }
            if self.message.as_ref().is_some_and(|m| m.len() > 1024) {
                errs.push(FieldError::invalid(
                    &FieldPath::new("message"),
                    "",
                    "can have at most 1024 characters",
                ));
            }
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        errs.extend(self.validate());
        errs
    }
}

impl Validate for PriorityClass {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, false, NameRule::Dns1123Subdomain);
        let name = self.metadata.name.as_deref().unwrap_or_default();
        let value = self.value.unwrap_or(0);
        if name.starts_with("system-") {
            let global_default = self.global_default.unwrap_or(false);
            let problem = match SYSTEM_PRIORITY_CLASSES.iter().find(|(n, _)| *n == name) {
                None => Some(format!("{name} is not a known system priority class")),
                Some((_, expected)) if *expected != value => {
                    Some(format!("value of {name} PriorityClass must be {expected}"))
                }
                Some(_) if global_default => {
                    Some(format!("globalDefault of {name} PriorityClass must be false"))
                }
                Some(_) => None,
            };
            if let Some(problem) = problem {
                errs.push(FieldError::forbidden(
                    &FieldPath::new("metadata").child("name"),
                    format!("priority class names with 'system-' prefix are reserved for system use only. error: {problem}"),
                ));
            }
        } else if value > HIGHEST_USER_DEFINABLE_PRIORITY {
            errs.push(FieldError::forbidden(
                &FieldPath::new("value"),
                format!(
                    "maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}"
                ),
            ));
        }
        if let Some(policy) = self.preemption_policy.as_deref() {
            let path = FieldPath::new("preemptionPolicy");
            if policy.is_empty() {
                errs.push(FieldError::required(&path, ""));
            } else if !["PreemptLowerPriority", "Never"].contains(&policy) {
                errs.push(FieldError::not_supported(&path, policy, &["PreemptLowerPriority", "Never"]));
            }
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        if self.value.unwrap_or(0) != old.value.unwrap_or(0) {
            errs.push(FieldError::forbidden(&FieldPath::new("value"), "may not be changed in an update."));
        }
        if self.preemption_policy != old.preemption_policy {
            errs.push(immutable(&FieldPath::new("preemptionPolicy"), &self.preemption_policy));
        }
        errs.extend(self.validate());
        errs
    }
}

impl Validate for Lease {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, NameRule::Dns1123Subdomain);
        let Some(spec) = &self.spec else { return errs };
        let path = FieldPath::new("spec");
        if let Some(duration) = spec.lease_duration_seconds.filter(|d| *d <= 0) {
            errs.push(FieldError::invalid(
                &path.child("leaseDurationSeconds"),
                duration,
                "must be greater than 0",
            ));
        }
        if let Some(transitions) = spec.lease_transitions.filter(|t| *t < 0) {
            errs.push(FieldError::invalid(
                &path.child("leaseTransitions"),
                transitions,
                "must be greater than or equal to 0",
            ));
        }
        if let Some(strategy) = spec.strategy.as_deref() {
            let field = path.child("strategy");
            if strategy.is_empty() {
                errs.push(FieldError::required(&field, ""));
            } else if !strategy.contains('/') && strategy != "OldestEmulationVersion" {
                errs.push(FieldError::not_supported(&field, strategy, &["OldestEmulationVersion"]));
            } else {
                errs.extend(
                    is_qualified_name(strategy).into_iter().map(|m| FieldError::invalid(&field, strategy, m)),
                );
            }
        }
        if spec.preferred_holder.as_ref().is_some_and(|h| !h.is_empty())
            && spec.strategy.as_deref().is_none_or(str::is_empty)
        {
            errs.push(FieldError::forbidden(
                &path.child("preferredHolder"),
                "may only be specified if `strategy` is defined",
            ));
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        errs.extend(self.validate());
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::test_support::{check_cases, from_json, messages, with};
    use serde_json::{Value, json};

    #[test]
    fn namespaces() {
        let run = |v: &Value| messages(&from_json::<Namespace>(v.clone()).validate());
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (json!({"metadata": {"name": "team-a"}, "spec": {"finalizers": ["kubernetes"]}}), vec![]),
            (
                json!({"metadata": {"name": "team.a"}}),
                vec!["metadata.name: Invalid value: \"team.a\": must not contain dots"],
            ),
            (
                json!({"metadata": {"name": "a", "namespace": "b"}}),
                vec!["metadata.namespace: Forbidden: not allowed on this type"],
            ),
            (
                json!({"metadata": {"name": "a"}, "spec": {"finalizers": ["custom"]}}),
                vec![
                    "spec.finalizers[0]: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified",
                ],
            ),
            (
                json!({"metadata": {}}),
                vec!["metadata.name: Required value: name or generateName is required"],
            ),
        ];
        check_cases(cases, run);
    }

    #[test]
    fn nodes() {
        let node = json!({"metadata": {"name": "node-1.example"}, "spec": {"podCIDRs": ["10.244.1.0/24", "fd00::/64"],
                          "taints": [{"key": "dedicated", "value": "wasm", "effect": "NoSchedule"}]},
                          "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}});
        let run = |v: &Value| messages(&from_json::<Node>(v.clone()).validate());
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (node.clone(), vec![]),
            (
                with(&node, &[("/metadata/namespace", json!("default"))]),
                vec!["metadata.namespace: Forbidden: not allowed on this type"],
            ),
            (
                with(&node, &[("/spec/taints/0/effect", json!("Evict"))]),
                vec![
                    "metadata.taints[0].effect: Unsupported value: \"Evict\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
                ],
            ),
            (
                with(&node, &[("/spec/taints/0/effect", json!(""))]),
                vec!["metadata.taints[0].effect: Required value"],
            ),
            (
                with(&node, &[("/spec/taints/1", json!({"key": "dedicated", "effect": "NoSchedule"}))]),
                vec![
                    "metadata.taints[1]: Duplicate value: {\"Effect\":\"NoSchedule\",\"Key\":\"dedicated\",\"TimeAdded\":null,\"Value\":\"\"}: taints must be unique by key and effect pair",
                ],
            ),
            (
                with(&node, &[("/spec/podCIDRs", json!(["10.244.1.0/24", "10.244.2.0/24"]))]),
                vec![
                    "spec.podCIDRs: Invalid value: [\"10.244.1.0/24\",\"10.244.2.0/24\"]: may specify no more than one CIDR for each IP family",
                ],
            ),
            (
                with(&node, &[("/spec/podCIDRs", json!(["10.244.1.1/24"]))]),
                vec![
                    "spec.podCIDRs[0]: Invalid value: \"10.244.1.1/24\": must not have bits set beyond the prefix length",
                ],
            ),
            (
                with(&node, &[("/status/capacity/cpu", json!("-4"))]),
                vec!["status.capacity.cpu: Invalid value: \"-4\": must be greater than or equal to 0"],
            ),
        ];
        check_cases(cases, run);
        let old: Node = from_json(with(&node, &[("/spec/providerID", json!("wharf://node-1"))]));
        let moved: Node = from_json(with(
            &node,
            &[("/spec/podCIDRs", json!(["10.244.9.0/24"])), ("/spec/providerID", json!("wharf://other"))],
        ));
        assert_eq!(
            messages(&moved.validate_update(&old)),
            vec![
                "spec.podCIDRs: Forbidden: node updates may not change podCIDR except from \"\" to valid",
                "spec.providerID: Forbidden: node updates may not change providerID except from \"\" to valid",
            ]
        );
        let fresh: Node = from_json(json!({"metadata": {"name": "node-1.example"}}));
        let assigned: Node = from_json(node.clone());
        assert!(assigned.validate_update(&fresh).is_empty());
    }

    #[test]
    fn events() {
        let event = json!({"metadata": {"name": "web.17a", "namespace": "default"},
                           "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
                           "reason": "Started", "message": "ok", "type": "Normal"});
        let run = |v: &Value| messages(&from_json::<Event>(v.clone()).validate());
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (event.clone(), vec![]),
            (
                with(&event, &[("/involvedObject/namespace", json!("other"))]),
                vec!["involvedObject.namespace: Invalid value: \"other\": does not match event.namespace"],
            ),
            (
                with(
                    &event,
                    &[("/involvedObject/namespace", Value::Null), ("/metadata/namespace", json!("team"))],
                ),
                vec!["involvedObject.namespace: Invalid value: \"\": does not match event.namespace"],
            ),
            (with(&event, &[("/involvedObject/namespace", Value::Null)]), vec![]),
            (
                with(&event, &[("/eventTime", json!("2024-01-01T00:00:00.000000Z"))]),
                vec![
                    "reportingComponent: Required value",
                    "reportingComponent: Invalid value: \"\": name part must be non-empty",
                    "reportingComponent: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                    "reportingInstance: Required value",
                    "action: Required value",
                ],
            ),
            (
                with(
                    &event,
                    &[
                        ("/eventTime", json!("2024-01-01T00:00:00.000000Z")),
                        ("/reportingComponent", json!("wharf/kubelet")),
                        ("/reportingInstance", json!("node-1")),
                        ("/action", json!("Start")),
                        ("/message", json!("x".repeat(1025))),
                    ],
                ),
                vec!["message: Invalid value: \"\": can have at most 1024 characters"],
            ),
        ];
        check_cases(cases, run);
    }

    #[test]
    fn priority_classes() {
        let run = |v: &Value| messages(&from_json::<PriorityClass>(v.clone()).validate());
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (
                json!({"metadata": {"name": "high"}, "value": 1_000_000, "preemptionPolicy": "PreemptLowerPriority"}),
                vec![],
            ),
            (json!({"metadata": {"name": "high"}, "value": 1_000_000_000}), vec![]),
            (
                json!({"metadata": {"name": "huge"}, "value": 1_000_000_001}),
                vec!["value: Forbidden: maximum allowed value of a user defined priority is 1000000000"],
            ),
            (json!({"metadata": {"name": "system-node-critical"}, "value": 2_000_001_000}), vec![]),
            (
                json!({"metadata": {"name": "system-node-critical"}, "value": 5}),
                vec![
                    "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: value of system-node-critical PriorityClass must be 2000001000",
                ],
            ),
            (
                json!({"metadata": {"name": "system-mine"}, "value": 5}),
                vec![
                    "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class",
                ],
            ),
            (
                json!({"metadata": {"name": "p"}, "value": 1, "preemptionPolicy": "Sometimes"}),
                vec![
                    "preemptionPolicy: Unsupported value: \"Sometimes\": supported values: \"PreemptLowerPriority\", \"Never\"",
                ],
            ),
        ];
        check_cases(cases, run);
        let old: PriorityClass = from_json(
            json!({"metadata": {"name": "p"}, "value": 1, "preemptionPolicy": "PreemptLowerPriority"}),
        );
        let new: PriorityClass =
            from_json(json!({"metadata": {"name": "p"}, "value": 2, "preemptionPolicy": "Never"}));
        assert_eq!(
            messages(&new.validate_update(&old)),
            vec![
                "value: Forbidden: may not be changed in an update.",
                "preemptionPolicy: Invalid value: \"Never\": field is immutable"
            ]
        );
    }

    #[test]
    fn leases() {
        let run = |v: &Value| messages(&from_json::<Lease>(v.clone()).validate());
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (
                json!({"metadata": {"name": "node-1", "namespace": "kube-node-lease"}, "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40}}),
                vec![],
            ),
            (
                json!({"metadata": {"name": "l", "namespace": "d"}, "spec": {"leaseDurationSeconds": 0}}),
                vec!["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"],
            ),
            (
                json!({"metadata": {"name": "l", "namespace": "d"}, "spec": {"leaseTransitions": -1}}),
                vec!["spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0"],
            ),
            (
                json!({"metadata": {"name": "l", "namespace": "d"}, "spec": {"preferredHolder": "x"}}),
                vec!["spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined"],
            ),
            (
                json!({"metadata": {"name": "l", "namespace": "d"}, "spec": {"strategy": "Newest"}}),
                vec![
                    "spec.strategy: Unsupported value: \"Newest\": supported values: \"OldestEmulationVersion\"",
                ],
            ),
        ];
        check_cases(cases, run);
    }
}
