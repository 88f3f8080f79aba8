//! Service defaults, and the update-time carry-over of values the server allocated.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ClientIPConfig, Service, ServiceSpec, SessionAffinityConfig};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{ApplyDefaults, default_str};

/// `v1.DefaultClientIPServiceAffinitySeconds`: three hours.
const DEFAULT_CLIENT_IP_AFFINITY_SECONDS: i32 = 10800;

impl ApplyDefaults for Service {
    fn apply_defaults(&mut self) {
        let spec = self.spec.get_or_insert_with(ServiceSpec::default);
        default_str(&mut spec.session_affinity, "None");
        match spec.session_affinity.as_deref() {
            Some("None") => spec.session_affinity_config = None,
            Some("ClientIP") => {
                let has_timeout = spec
                    .session_affinity_config
                    .as_ref()
                    .and_then(|c| c.client_ip.as_ref())
                    .is_some_and(|c| c.timeout_seconds.is_some());
                if !has_timeout {
                    spec.session_affinity_config = Some(SessionAffinityConfig {
                        client_ip: Some(ClientIPConfig {
                            timeout_seconds: Some(DEFAULT_CLIENT_IP_AFFINITY_SECONDS),
                        }),
                    });
                }
            }
            _ => {}
        }
        default_str(&mut spec.type_, "ClusterIP");
        for port in spec.ports.iter_mut().flatten() {
            default_str(&mut port.protocol, "TCP");
            let unset = match &port.target_port {
                None | Some(IntOrString::Int(0)) => true,
                Some(IntOrString::String(s)) => s.is_empty(),
                Some(IntOrString::Int(_)) => false,
            };
            if unset {
                port.target_port = Some(IntOrString::Int(port.port));
            }
        }
        let kind = spec.type_.clone().unwrap_or_default();
        if externally_accessible(spec) {
            default_str(&mut spec.external_traffic_policy, "Cluster");
        }
        if spec.internal_traffic_policy.is_none()
            && matches!(kind.as_str(), "ClusterIP" | "NodePort" | "LoadBalancer")
        {
            spec.internal_traffic_policy = Some("Cluster".to_owned());
        }
        if kind == "LoadBalancer" && spec.allocate_load_balancer_node_ports.is_none() {
            spec.allocate_load_balancer_node_ports = Some(true);
        }
        // The IP-family allocator defaults the policy for every type that gets cluster IPs.
        if kind != "ExternalName" && spec.ip_family_policy.is_none() {
            spec.ip_family_policy = Some("SingleStack".to_owned());
        }
        // Go's ServiceStatus holds LoadBalancer by value, so kube-apiserver shows `{"loadBalancer":{}}` from
        // creation; clients that compare objects expect it.
        let status = self.status.get_or_insert_with(Default::default);
        status.load_balancer.get_or_insert_with(Default::default);
    }

    fn prepare_update(&mut self, old: &Self) {
        prepare_service_update(self, old);
    }
}

fn service_type(spec: &ServiceSpec) -> &str {
    spec.type_.as_deref().unwrap_or("ClusterIP")
}

fn externally_accessible(spec: &ServiceSpec) -> bool {
    match service_type(spec) {
        "LoadBalancer" | "NodePort" => true,
        "ClusterIP" => spec.external_ips.as_ref().is_some_and(|ips| !ips.is_empty()),
        _ => false,
    }
}

fn needs_cluster_ip(spec: &ServiceSpec) -> bool {
    service_type(spec) != "ExternalName"
}

fn needs_node_port(spec: &ServiceSpec) -> bool {
    match service_type(spec) {
        "NodePort" => true,
        "LoadBalancer" => spec.allocate_load_balancer_node_ports != Some(false),
        _ => false,
    }
}

fn needs_health_check_node_port(spec: &ServiceSpec) -> bool {
    service_type(spec) == "LoadBalancer" && spec.external_traffic_policy.as_deref() == Some("Local")
}

fn node_ports(spec: &ServiceSpec) -> Vec<i32> {
    spec.ports.iter().flatten().map(|p| p.node_port.unwrap_or(0)).collect()
}

/// What Kubernetes does to a Service update before validating it (`dropTypeDependentFields`, then
/// `patchAllocatedValues`):
///
/// - when the type no longer needs them and the client left them unchanged, clears cluster IPs, IP families
///   and policy, node ports, the health-check node port, `allocateLoadBalancerNodePorts` and
///   `externalTrafficPolicy`;
/// - when the client omitted them, keeps the stored cluster IPs, node ports (matched by port number and
///   protocol) and health-check node port, so a `kubectl replace` of the original manifest succeeds.
///
/// Call it after `apply_defaults` and before `validate_update`; [`ApplyDefaults::prepare_update`] for
/// `Service` does exactly this.
pub fn prepare_service_update(new: &mut Service, old: &Service) {
    let default_spec = ServiceSpec::default();
    let old_spec = old.spec.as_ref().unwrap_or(&default_spec);
    let new_spec = new.spec.get_or_insert_with(ServiceSpec::default);
    drop_type_dependent_fields(new_spec, old_spec);
    if new_spec.type_.as_deref() != Some("LoadBalancer")
        && let Some(status) = &mut new.status
    {
        status.load_balancer = None;
    }
    patch_allocated_values(new_spec, old_spec);
}

fn drop_type_dependent_fields(new: &mut ServiceSpec, old: &ServiceSpec) {
    if needs_cluster_ip(old) && !needs_cluster_ip(new) {
        let cluster_ips = |s: &ServiceSpec| {
            (s.cluster_ip.clone().unwrap_or_default(), s.cluster_ips.clone().unwrap_or_default())
        };
        if cluster_ips(new) == cluster_ips(old) {
            new.cluster_ip = None;
            new.cluster_ips = None;
        }
        if new.ip_families.as_deref().unwrap_or_default() == old.ip_families.as_deref().unwrap_or_default() {
            new.ip_families = None;
        }
        if new.ip_family_policy == old.ip_family_policy {
            new.ip_family_policy = None;
        }
    }
    if needs_node_port(old) && !needs_node_port(new) && node_ports(new) == node_ports(old) {
        for port in new.ports.iter_mut().flatten() {
            port.node_port = None;
        }
    }
    if needs_health_check_node_port(old)
        && !needs_health_check_node_port(new)
        && new.health_check_node_port.unwrap_or(0) == old.health_check_node_port.unwrap_or(0)
    {
        new.health_check_node_port = None;
    }
    if service_type(old) == "LoadBalancer"
        && service_type(new) != "LoadBalancer"
        && new.allocate_load_balancer_node_ports.is_some()
        && new.allocate_load_balancer_node_ports == old.allocate_load_balancer_node_ports
    {
        new.allocate_load_balancer_node_ports = None;
    }
    if externally_accessible(old)
        && !externally_accessible(new)
        && new.external_traffic_policy == old.external_traffic_policy
    {
        new.external_traffic_policy = None;
    }
}

fn patch_allocated_values(new: &mut ServiceSpec, old: &ServiceSpec) {
    if needs_cluster_ip(old) && needs_cluster_ip(new) {
        if new.cluster_ip.as_deref().is_none_or(str::is_empty) {
            new.cluster_ip.clone_from(&old.cluster_ip);
        }
        if new.cluster_ips.as_ref().is_none_or(Vec::is_empty)
            && old.cluster_ips.as_ref().is_some_and(|ips| !ips.is_empty())
        {
            new.cluster_ips.clone_from(&old.cluster_ips);
        }
        if new.ip_families.as_ref().is_none_or(Vec::is_empty) {
            new.ip_families.clone_from(&old.ip_families);
        }
    }
    if needs_node_port(old) && needs_node_port(new) {
        let used_old: BTreeSet<i32> = node_ports(old).into_iter().filter(|p| *p != 0).collect();
        let used_new: BTreeSet<i32> = node_ports(new).into_iter().filter(|p| *p != 0).collect();
        let taken: BTreeSet<i32> = used_old.intersection(&used_new).copied().collect();
        let previous: BTreeMap<(i32, &str), i32> = old
            .ports
            .iter()
            .flatten()
            .filter_map(|p| {
                p.node_port.filter(|n| *n != 0).map(|n| ((p.port, p.protocol.as_deref().unwrap_or("TCP")), n))
            })
            .collect();
        for port in new.ports.iter_mut().flatten() {
            if port.node_port.unwrap_or(0) != 0 {
                continue;
            }
            let key = (port.port, port.protocol.as_deref().unwrap_or("TCP"));
            if let Some(node_port) = previous.get(&key).filter(|n| !taken.contains(n)) {
                port.node_port = Some(*node_port);
            }
        }
    }
    if needs_health_check_node_port(old)
        && needs_health_check_node_port(new)
        && new.health_check_node_port.unwrap_or(0) == 0
    {
        new.health_check_node_port = old.health_check_node_port;
    }
}
