//! The EndpointSlice decision, as Kubernetes' endpointslice controller makes it: from a Service, the pods of its
//! namespace and the slices it manages, the slices to create, update and delete. Pure.
//!
//! Every pod the selector matches that has an address and has not finished is an endpoint, terminating ones
//! included: `serving` says the pod is ready, `ready` that it is ready and not terminating (or that the Service
//! publishes not-ready addresses), `terminating` that it is being deleted. Endpoints are grouped by the ports
//! they resolve to (a named `targetPort` can differ between pods), sorted by pod name, at most
//! [`MAX_ENDPOINTS_PER_SLICE`] to a slice. A Service without endpoints keeps one empty placeholder slice.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ObjectReference, Pod, Service, ServicePort};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use crate::{owners, pods};

/// The `endpointslice.kubernetes.io/managed-by` value of the slices this controller keeps.
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";
/// The label naming a slice's manager; slices managed by others (written by hand) are left alone.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// The label naming a slice's Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// Kubernetes' `--max-endpoints-per-slice` default.
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;

/// What to write.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// New slices (named by `generateName`).
    pub create: Vec<EndpointSlice>,
    /// Managed slices with new contents (their name and resource version kept).
    pub update: Vec<EndpointSlice>,
    /// Names of managed slices no longer needed.
    pub delete: Vec<String>,
}

/// Whether the Service's selector picks `pod`. A Service without a selector selects nothing: its slices are
/// someone else's.
pub fn selects(service: &Service, pod: &Pod) -> bool {
    let Some(selector) = selector(service) else { return false };
    let labels = pod.metadata.labels.as_ref();
    pod.namespace() == service.namespace()
        && selector.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

fn selector(service: &Service) -> Option<&BTreeMap<String, String>> {
    let spec = service.spec.as_ref()?;
    if spec.type_.as_deref() == Some("ExternalName") {
        return None;
    }
    spec.selector.as_ref().filter(|s| !s.is_empty())
}

/// The endpoints of a slice.
pub fn endpoints(slice: &EndpointSlice) -> &[Endpoint] {
    slice.endpoints.as_deref().unwrap_or_default()
}

/// Whether `slice` is one this controller keeps for `service`.
pub fn is_managed_for(slice: &EndpointSlice, service: &Service) -> bool {
    let labels = slice.metadata.labels.as_ref();
    let label = |key: &str| labels.and_then(|l| l.get(key)).map(String::as_str);
    slice.metadata.namespace == service.metadata.namespace
        && label(MANAGED_BY_LABEL) == Some(MANAGED_BY)
        && label(SERVICE_NAME_LABEL) == service.metadata.name.as_deref()
}

/// Decides the slices of `service` from the pods of its namespace and the slices it manages now.
pub fn plan(service: &Service, pods: &[Arc<Pod>], existing: &[Arc<EndpointSlice>]) -> Plan {
    let mut existing: Vec<&EndpointSlice> = existing.iter().map(AsRef::as_ref).collect();
    existing.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    if selector(service).is_none() {
        return Plan {
            delete: existing.iter().filter_map(|s| s.metadata.name.clone()).collect(),
            ..Plan::default()
        };
    }
    let mut groups: BTreeMap<Vec<PortKey>, Vec<(&str, Endpoint)>> = BTreeMap::new();
    let mut candidates: Vec<&Pod> =
        pods.iter().map(AsRef::as_ref).filter(|p| selects(service, p) && !pods::is_finished(p)).collect();
    candidates.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    for pod in candidates {
        let Some(endpoint) = endpoint(service, pod) else { continue };
        groups
            .entry(resolve_ports(service, pod))
            .or_default()
            .push((pod.metadata.name.as_deref().unwrap_or_default(), endpoint));
    }
    let mut desired: Vec<(Option<Vec<EndpointPort>>, Vec<Endpoint>)> = Vec::new();
    for (ports, endpoints) in groups {
        let ports: Vec<EndpointPort> = ports.into_iter().map(PortKey::into_port).collect();
        for chunk in endpoints.chunks(MAX_ENDPOINTS_PER_SLICE) {
            desired.push((Some(ports.clone()), chunk.iter().map(|(_, e)| e.clone()).collect()));
        }
    }
    if desired.is_empty() {
        desired.push((None, Vec::new()));
    }

    let mut plan = Plan::default();
    let labels = slice_labels(service);
    for (ports, endpoints) in desired {
        // Reuse a slice with the same ports first, so endpoints move between as few slices as possible.
        let reuse =
            existing.iter().position(|s| s.ports == ports).or_else(|| (!existing.is_empty()).then_some(0));
        match reuse.map(|i| existing.remove(i)) {
            Some(current) => {
                let mut next = current.clone();
                next.metadata.labels = Some(merged_labels(current, &labels));
                next.metadata.owner_references = Some(vec![owners::controller_ref(service)]);
                "IPv4".clone_into(&mut next.address_type);
                next.ports = ports;
                next.endpoints = Some(endpoints);
                if next != *current {
                    plan.update.push(next);
                }
            }
            None => plan.create.push(EndpointSlice {
                metadata: ObjectMeta {
                    generate_name: Some(format!("{}-", service.name_any())),
                    namespace: service.namespace(),
                    labels: Some(labels.clone()),
                    owner_references: Some(vec![owners::controller_ref(service)]),
                    ..ObjectMeta::default()
                },
                address_type: "IPv4".to_owned(),
                endpoints: Some(endpoints),
                ports,
            }),
        }
    }
    plan.delete = existing.iter().filter_map(|s| s.metadata.name.clone()).collect();
    plan
}

/// The endpoint of a pod, `None` while it has no IPv4 address.
fn endpoint(service: &Service, pod: &Pod) -> Option<Endpoint> {
    let status = pod.status.as_ref()?;
    let ip = status.pod_ip.as_deref().filter(|ip| ip.parse::<std::net::Ipv4Addr>().is_ok())?;
    let spec = service.spec.as_ref();
    let serving = pods::is_ready(pod);
    let terminating = pod.metadata.deletion_timestamp.is_some();
    let publish_not_ready = spec.and_then(|s| s.publish_not_ready_addresses) == Some(true);
    let pod_spec = pod.spec.as_ref();
    let hostname = pod_spec
        .filter(|s| s.subdomain.as_deref() == service.metadata.name.as_deref())
        .and_then(|s| s.hostname.clone());
    Some(Endpoint {
        addresses: vec![ip.to_owned()],
        conditions: Some(EndpointConditions {
            ready: Some(publish_not_ready || (serving && !terminating)),
            serving: Some(serving),
            terminating: Some(terminating),
        }),
        hostname,
        node_name: pod_spec.and_then(|s| s.node_name.clone()),
        target_ref: Some(ObjectReference {
            kind: Some("Pod".to_owned()),
            namespace: pod.namespace(),
            name: pod.metadata.name.clone(),
            uid: pod.metadata.uid.clone(),
            ..ObjectReference::default()
        }),
        ..Endpoint::default()
    })
}

/// One Service port as a pod resolves it: (name, protocol, port, appProtocol).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct PortKey(String, String, i32, Option<String>);

impl PortKey {
    fn into_port(self) -> EndpointPort {
        EndpointPort { name: Some(self.0), protocol: Some(self.1), port: Some(self.2), app_protocol: self.3 }
    }
}

/// The Service's ports as `pod` serves them. A named `targetPort` the pod does not declare is left out, as in
/// Kubernetes.
fn resolve_ports(service: &Service, pod: &Pod) -> Vec<PortKey> {
    let ports = service.spec.as_ref().and_then(|s| s.ports.as_deref()).unwrap_or_default();
    ports.iter().filter_map(|port| resolve_port(port, pod)).collect()
}

fn resolve_port(port: &ServicePort, pod: &Pod) -> Option<PortKey> {
    let protocol = port.protocol.clone().unwrap_or_else(|| "TCP".to_owned());
    let number = match &port.target_port {
        None => port.port,
        Some(IntOrString::Int(n)) => *n,
        Some(IntOrString::String(name)) => {
            let containers = pod.spec.as_ref().map(|s| s.containers.as_slice()).unwrap_or_default();
            containers
                .iter()
                .flat_map(|c| c.ports.iter().flatten())
                .find(|p| {
                    p.name.as_deref() == Some(name) && p.protocol.as_deref().unwrap_or("TCP") == protocol
                })?
                .container_port
        }
    };
    Some(PortKey(port.name.clone().unwrap_or_default(), protocol, number, port.app_protocol.clone()))
}

/// The labels of a managed slice: the Service's own, the two that mark it, and `service.kubernetes.io/headless`
/// for a headless Service.
fn slice_labels(service: &Service) -> BTreeMap<String, String> {
    let mut labels = service.metadata.labels.clone().unwrap_or_default();
    labels.insert(MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned());
    labels.insert(SERVICE_NAME_LABEL.to_owned(), service.name_any());
    if service.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None") {
        labels.insert("service.kubernetes.io/headless".to_owned(), String::new());
    }
    labels
}

/// A slice's labels with the Service's applied over them (labels others added stay).
fn merged_labels(slice: &EndpointSlice, labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut merged = slice.metadata.labels.clone().unwrap_or_default();
    merged.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    merged
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn service(spec: Value) -> Service {
        let mut spec = spec;
        if spec.get("selector").is_none() {
            spec["selector"] = json!({"app": "web"});
        }
        serde_json::from_value(
            json!({"metadata": {"name": "web", "namespace": "d", "uid": "svc-uid"}, "spec": spec}),
        )
        .unwrap()
    }

    fn pod(name: &str, ip: Option<&str>, ready: bool, extra: Value) -> Arc<Pod> {
        let mut pod = json!({
            "metadata": {"name": name, "namespace": "d", "uid": format!("uid-{name}"), "labels": {"app": "web"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIP": ip,
                       "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]},
        });
        json_patch(&mut pod, extra);
        Arc::new(serde_json::from_value(pod).unwrap())
    }

    fn json_patch(target: &mut Value, patch: Value) {
        if let (Some(t), Value::Object(p)) = (target.as_object_mut(), patch.clone()) {
            for (k, v) in p {
                match t.get_mut(&k) {
                    Some(existing) if v.is_object() => json_patch(existing, v),
                    _ => {
                        t.insert(k, v);
                    }
                }
            }
        }
    }

    fn conditions(slice: &EndpointSlice) -> Vec<(String, bool, bool, bool)> {
        endpoints(slice)
            .iter()
            .map(|e| {
                let c = e.conditions.clone().unwrap_or_default();
                (e.addresses[0].clone(), c.ready.unwrap(), c.serving.unwrap(), c.terminating.unwrap())
            })
            .collect()
    }

    #[test]
    fn endpoints_carry_ready_serving_and_terminating_as_kubernetes_sets_them() {
        let pods = [
            pod("a", Some("127.64.0.2"), true, json!({})),
            pod("b", Some("127.64.0.3"), false, json!({})),
            pod(
                "c",
                Some("127.64.0.4"),
                true,
                json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}}),
            ),
            pod("d", None, true, json!({})),
            pod("e", Some("127.64.0.5"), true, json!({"status": {"phase": "Succeeded"}})),
            pod("f", Some("127.64.0.6"), true, json!({"metadata": {"labels": {"app": "other"}}})),
        ];
        let plan = plan(&service(json!({"ports": [{"port": 80}]})), &pods, &[]);
        assert_eq!(plan.create.len(), 1);
        let slice = &plan.create[0];
        assert_eq!(
            conditions(slice),
            [
                ("127.64.0.2".into(), true, true, false),
                ("127.64.0.3".into(), false, false, false),
                ("127.64.0.4".into(), false, true, true),
            ]
        );
        let labels = slice.metadata.labels.clone().unwrap();
        assert_eq!(labels[SERVICE_NAME_LABEL], "web");
        assert_eq!(labels[MANAGED_BY_LABEL], MANAGED_BY);
        assert_eq!(slice.metadata.generate_name.as_deref(), Some("web-"));
        assert_eq!(slice.metadata.owner_references.as_ref().unwrap()[0].uid, "svc-uid");
        let target = endpoints(slice)[0].target_ref.clone().unwrap();
        assert_eq!((target.name.as_deref(), target.uid.as_deref()), (Some("a"), Some("uid-a")));
        assert_eq!(endpoints(slice)[0].node_name.as_deref(), Some("n1"));

        let published = plan_of(json!({"ports": [{"port": 80}], "publishNotReadyAddresses": true}), &pods);
        assert!(conditions(&published.create[0]).iter().all(|c| c.1), "publishNotReadyAddresses: all ready");
    }

    fn plan_of(spec: Value, pods: &[Arc<Pod>]) -> Plan {
        plan(&service(spec), pods, &[])
    }

    #[test]
    fn named_target_ports_resolve_per_pod_and_group_the_slices() {
        let other = json!({"spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 9090}]}]}});
        let pods = [pod("a", Some("127.64.0.2"), true, json!({})), pod("b", Some("127.64.0.3"), true, other)];
        let plan = plan_of(json!({"ports": [{"name": "web", "port": 80, "targetPort": "http"}]}), &pods);
        let mut by_port: Vec<(i32, usize)> = plan
            .create
            .iter()
            .map(|s| (s.ports.as_ref().unwrap()[0].port.unwrap(), endpoints(s).len()))
            .collect();
        by_port.sort_unstable();
        assert_eq!(by_port, [(8080, 1), (9090, 1)]);
        assert_eq!(plan.create[0].ports.as_ref().unwrap()[0].name.as_deref(), Some("web"));
    }

    #[test]
    fn many_endpoints_fill_slices_of_a_hundred_and_none_leave_a_placeholder() {
        let pods: Vec<_> =
            (0..250).map(|i| pod(&format!("p{i:03}"), Some("127.64.1.1"), true, json!({}))).collect();
        let plan = plan_of(json!({"ports": [{"port": 80}]}), &pods);
        let sizes: Vec<usize> = plan.create.iter().map(|s| endpoints(s).len()).collect();
        assert_eq!(sizes, [100, 100, 50]);

        let empty = plan_of(json!({"ports": [{"port": 80}]}), &[]);
        assert_eq!(empty.create.len(), 1);
        assert!(endpoints(&empty.create[0]).is_empty() && empty.create[0].ports.is_none());
    }

    #[test]
    fn existing_slices_are_updated_in_place_or_deleted_and_unchanged_ones_left_alone() {
        let svc = service(json!({"ports": [{"port": 80}]}));
        let pods = [pod("a", Some("127.64.0.2"), true, json!({}))];
        let mut first = plan(&svc, &pods, &[]).create.remove(0);
        first.metadata.name = Some("web-abcde".into());
        let mut extra = first.clone();
        extra.metadata.name = Some("web-zzzzz".into());
        let settled = plan(&svc, &pods, &[Arc::new(first.clone())]);
        assert_eq!(settled, Plan::default(), "nothing to write when the slice is current");

        let grown = [pods[0].clone(), pod("b", Some("127.64.0.3"), true, json!({}))];
        let plan = plan(&svc, &grown, &[Arc::new(first), Arc::new(extra)]);
        assert!(plan.create.is_empty());
        assert_eq!(plan.update.len(), 1);
        assert_eq!(plan.update[0].metadata.name.as_deref(), Some("web-abcde"));
        assert_eq!(endpoints(&plan.update[0]).len(), 2);
        assert_eq!(plan.delete, ["web-zzzzz"]);
    }

    #[test]
    fn services_without_selectors_and_external_names_have_no_managed_slices() {
        let pods = [pod("a", Some("127.64.0.2"), true, json!({}))];
        let mut svc = service(json!({"ports": [{"port": 80}]}));
        let mut slice = plan(&svc, &pods, &[]).create.remove(0);
        slice.metadata.name = Some("web-abcde".into());
        svc.spec.as_mut().unwrap().selector = None;
        assert!(!selects(&svc, &pods[0]));
        assert_eq!(plan(&svc, &pods, &[Arc::new(slice.clone())]).delete, ["web-abcde"]);
        let external = service(json!({"type": "ExternalName", "externalName": "db.example.com"}));
        assert_eq!(plan(&external, &pods, &[Arc::new(slice)]).delete, ["web-abcde"]);
    }
}
