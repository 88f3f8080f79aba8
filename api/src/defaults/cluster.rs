//! Defaults for the remaining kinds: Namespace, Secret (and `stringData` folding), `ConfigMap`, Node, Event,
//! `ServiceAccount`, `NetworkPolicy`, `EndpointSlice`, `PriorityClass`, `PodDisruptionBudget` and Lease.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    ConfigMap, Event, Namespace, NamespaceStatus, Node, Secret, ServiceAccount,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicySpec};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::{ApplyDefaults, default_str};

/// The label every Namespace carries with its own name.
const METADATA_NAME_LABEL: &str = "kubernetes.io/metadata.name";

impl ApplyDefaults for Namespace {
    fn apply_defaults(&mut self) {
        let status = self.status.get_or_insert_with(NamespaceStatus::default);
        default_str(&mut status.phase, "Active");
        // Namespaces without a name yet (generateName) get the label once the name exists.
        if let Some(name) = self.metadata.name.clone().filter(|n| !n.is_empty()) {
            self.metadata
                .labels
                .get_or_insert_with(BTreeMap::new)
                .insert(METADATA_NAME_LABEL.to_owned(), name);
        }
    }
}

impl ApplyDefaults for Secret {
    /// Type `Opaque`, and `stringData` folded into `data` (which Kubernetes does while decoding).
    fn apply_defaults(&mut self) {
        default_str(&mut self.type_, "Opaque");
        fold_string_data(self);
    }
}

/// Moves `stringData` into `data` (a `stringData` key wins over the same `data` key) and clears
/// `stringData`, as the API server does on every write: `stringData` is write-only.
pub fn fold_string_data(secret: &mut Secret) {
    let Some(string_data) = secret.string_data.take() else { return };
    if string_data.is_empty() {
        return;
    }
    let data = secret.data.get_or_insert_with(BTreeMap::new);
    for (key, value) in string_data {
        data.insert(key, ByteString(value.into_bytes()));
    }
}

impl ApplyDefaults for ConfigMap {
    fn apply_defaults(&mut self) {}
}

impl ApplyDefaults for Node {
    /// Allocatable defaults to capacity when a status reports only capacity.
    fn apply_defaults(&mut self) {
        if let Some(status) = &mut self.status
            && status.allocatable.is_none()
            && status.capacity.is_some()
        {
            status.allocatable.clone_from(&status.capacity);
        }
    }
}

impl ApplyDefaults for Event {
    fn apply_defaults(&mut self) {}
}

impl ApplyDefaults for ServiceAccount {
    fn apply_defaults(&mut self) {}
}

impl ApplyDefaults for NetworkPolicy {
    /// Policy types default to `Ingress` (plus `Egress` when egress rules exist); port protocols to TCP.
    fn apply_defaults(&mut self) {
        let spec = self.spec.get_or_insert_with(NetworkPolicySpec::default);
        // `podSelector` is a required struct in Kubernetes and always serialised, as `{}` when empty.
        spec.pod_selector.get_or_insert_with(LabelSelector::default);
        if spec.policy_types.as_ref().is_none_or(Vec::is_empty) {
            let mut types = vec!["Ingress".to_owned()];
            if spec.egress.as_ref().is_some_and(|e| !e.is_empty()) {
                types.push("Egress".to_owned());
            }
            spec.policy_types = Some(types);
        }
        let ingress_ports = spec.ingress.iter_mut().flatten().flat_map(|r| r.ports.iter_mut().flatten());
        let egress_ports = spec.egress.iter_mut().flatten().flat_map(|r| r.ports.iter_mut().flatten());
        for port in ingress_ports.chain(egress_ports) {
            default_str(&mut port.protocol, "TCP");
        }
    }
}

impl ApplyDefaults for EndpointSlice {
    /// Port names default to `""` and protocols to TCP.
    fn apply_defaults(&mut self) {
        for port in self.ports.iter_mut().flatten() {
            port.name.get_or_insert_with(String::new);
            default_str(&mut port.protocol, "TCP");
        }
    }
}

impl ApplyDefaults for PriorityClass {
    fn apply_defaults(&mut self) {
        default_str(&mut self.preemption_policy, "PreemptLowerPriority");
    }
}

impl ApplyDefaults for PodDisruptionBudget {
    fn apply_defaults(&mut self) {}
}

impl ApplyDefaults for Lease {
    fn apply_defaults(&mut self) {}
}
