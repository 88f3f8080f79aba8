//! Services: type, ports, node ports, cluster IPs, session affinity and traffic policies.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::json;

use super::meta::{NameRule, validate_labels, validate_object_meta_update};
use super::names::{
    is_dns1123_label, is_dns1123_subdomain, is_qualified_name, is_valid_port_num, validate_cidr, validate_ip,
};
use super::pod::validate_port_num_or_name;
use super::{FieldError, FieldPath, Validate, validate_object_meta};

const SERVICE_TYPES: [&str; 4] = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const PROTOCOLS: [&str; 3] = ["SCTP", "TCP", "UDP"];
/// The default `--service-node-port-range`.
pub(crate) const NODE_PORT_RANGE: (i32, i32) = (30000, 32767);
const KUBELET_PORT: i32 = 10250;
const MAX_CLIENT_IP_AFFINITY_SECONDS: i32 = 86400;

impl Validate for Service {
    fn validate(&self) -> Vec<FieldError> {
        // Kubernetes 1.37 validates Service names as DNS-1123 labels (`RelaxedServiceNameValidation`); a leading
        // digit is allowed, dots are not.
        let mut errs = validate_object_meta(&self.metadata, true, NameRule::Dns1123Label);
        let empty = ServiceSpec::default();
        errs.extend(validate_service_spec(self.spec.as_ref().unwrap_or(&empty)));
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        let empty = ServiceSpec::default();
        let new_spec = self.spec.as_ref().unwrap_or(&empty);
        let old_spec = old.spec.as_ref().unwrap_or(&empty);
        errs.extend(validate_cluster_ips_update(new_spec, old_spec));
        if needs_health_check(old_spec)
            && needs_health_check(new_spec)
            && new_spec.health_check_node_port != old_spec.health_check_node_port
        {
            errs.push(FieldError::forbidden(
                &FieldPath::new("spec").child("healthCheckNodePort"),
                "field is immutable",
            ));
        }
        errs.extend(self.validate());
        errs
    }
}

fn service_type(spec: &ServiceSpec) -> &str {
    spec.type_.as_deref().unwrap_or("ClusterIP")
}

fn is_headless(spec: &ServiceSpec) -> bool {
    spec.cluster_ip.as_deref() == Some("None")
        || spec.cluster_ips.as_ref().and_then(|ips| ips.first()).is_some_and(|ip| ip == "None")
}

fn externally_accessible(spec: &ServiceSpec) -> bool {
    matches!(service_type(spec), "LoadBalancer" | "NodePort")
        || (service_type(spec) == "ClusterIP"
            && spec.external_ips.as_ref().is_some_and(|ips| !ips.is_empty()))
}

fn needs_health_check(spec: &ServiceSpec) -> bool {
    service_type(spec) == "LoadBalancer" && spec.external_traffic_policy.as_deref() == Some("Local")
}

/// The effective cluster IPs: `clusterIPs`, or `[clusterIP]` when only that is set (the server keeps the two
/// in sync).
fn effective_cluster_ips(spec: &ServiceSpec) -> Vec<String> {
    match (&spec.cluster_ips, spec.cluster_ip.as_deref()) {
        (Some(ips), _) if !ips.is_empty() => ips.clone(),
        (_, Some(ip)) if !ip.is_empty() => vec![ip.to_owned()],
        _ => Vec::new(),
    }
}

fn validate_service_spec(spec: &ServiceSpec) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let spec_path = FieldPath::new("spec");
    let ports = spec.ports.as_deref().unwrap_or_default();
    let ports_path = spec_path.child("ports");
    let kind = service_type(spec);
    if ports.is_empty() && !is_headless(spec) && kind != "ExternalName" {
        errs.push(FieldError::required(&ports_path, ""));
    }
    let ips = effective_cluster_ips(spec);
    match kind {
        "LoadBalancer" => {
            for (i, port) in ports.iter().enumerate() {
                if port.port == KUBELET_PORT {
                    errs.push(FieldError::invalid(
                        &ports_path.index(i),
                        port.port,
                        format!("may not expose port {KUBELET_PORT} externally since it is used by kubelet"),
                    ));
                }
            }
            if is_headless(spec) {
                errs.push(FieldError::invalid(
                    &spec_path.child("clusterIPs").index(0),
                    "None",
                    "may not be set to 'None' for LoadBalancer services",
                ));
            }
        }
        "NodePort" if is_headless(spec) => {
            errs.push(FieldError::invalid(
                &spec_path.child("clusterIPs").index(0),
                "None",
                "may not be set to 'None' for NodePort services",
            ));
        }
        "ExternalName" => {
            if !ips.is_empty() {
                errs.push(FieldError::forbidden(
                    &spec_path.child("clusterIPs"),
                    "may not be set for ExternalName services",
                ));
            }
            if spec.ip_families.as_ref().is_some_and(|f| !f.is_empty()) {
                errs.push(FieldError::forbidden(
                    &spec_path.child("ipFamilies"),
                    "may not be set for ExternalName services",
                ));
            }
            if spec.ip_family_policy.is_some() {
                errs.push(FieldError::forbidden(
                    &spec_path.child("ipFamilyPolicy"),
                    "may not be set for ExternalName services",
                ));
            }
            // A CNAME may end with a dot to mark it fully qualified.
            let cname = spec.external_name.as_deref().unwrap_or_default();
            let cname = cname.strip_suffix('.').unwrap_or(cname);
            if cname.is_empty() {
                errs.push(FieldError::required(&spec_path.child("externalName"), ""));
            } else {
                let field = spec_path.child("externalName");
                errs.extend(
                    is_dns1123_subdomain(cname).into_iter().map(|m| FieldError::invalid(&field, cname, m)),
                );
            }
        }
        _ => {}
    }
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        errs.extend(validate_service_port(port, ports.len() > 1, &mut names, &ports_path.index(i)));
    }
    if spec.selector.is_some() {
        errs.extend(validate_labels(spec.selector.as_ref(), &spec_path.child("selector")));
    }
    let affinity = spec.session_affinity.as_deref().unwrap_or("None");
    let affinity_path = spec_path.child("sessionAffinity");
    if affinity.is_empty() {
        errs.push(FieldError::required(&affinity_path, ""));
    } else if !["ClientIP", "None"].contains(&affinity) {
        errs.push(FieldError::not_supported(&affinity_path, affinity, &["ClientIP", "None"]));
    }
    let config_path = spec_path.child("sessionAffinityConfig");
    if affinity == "ClientIP" {
        // Defaulting fills the timeout; an explicitly invalid one is reported.
        let timeout = spec
            .session_affinity_config
            .as_ref()
            .and_then(|c| c.client_ip.as_ref())
            .and_then(|c| c.timeout_seconds);
        if let Some(timeout) = timeout.filter(|t| *t <= 0 || *t > MAX_CLIENT_IP_AFFINITY_SECONDS) {
            errs.push(FieldError::invalid(
                &config_path.child("clientIP").child("timeoutSeconds"),
                timeout,
                format!("must be greater than 0 and less than {MAX_CLIENT_IP_AFFINITY_SECONDS}"),
            ));
        }
    } else if affinity == "None" && spec.session_affinity_config.is_some() {
        errs.push(FieldError::forbidden(&config_path, "must not be set when session affinity is None"));
    }
    if kind != "ExternalName" {
        errs.extend(validate_cluster_ip_fields(spec, &ips));
    }
    for (i, ip) in spec.external_ips.iter().flatten().enumerate() {
        let ip_errs = validate_ip(&spec_path.child("externalIPs").index(i), ip);
        if ip_errs.is_empty() {
            errs.extend(validate_non_special_ip(ip, &spec_path.child("externalIPs").index(i)));
        } else {
            errs.extend(ip_errs);
        }
    }
    if kind.is_empty() {
        errs.push(FieldError::required(&spec_path.child("type"), ""));
    } else if !SERVICE_TYPES.contains(&kind) {
        errs.push(FieldError::not_supported(&spec_path.child("type"), kind, &SERVICE_TYPES));
    }
    for (i, port) in ports.iter().enumerate() {
        let Some(node_port) = port.node_port.filter(|p| *p != 0) else { continue };
        let field = ports_path.index(i).child("nodePort");
        if kind == "ClusterIP" {
            errs.push(FieldError::forbidden(&field, "may not be used when `type` is 'ClusterIP'"));
        } else if !(NODE_PORT_RANGE.0..=NODE_PORT_RANGE.1).contains(&node_port) {
            // The node-port allocator's message.
            errs.push(FieldError::invalid(
                &field,
                node_port,
                format!(
                    "provided port is not in the valid range. The range of valid ports is {}-{}",
                    NODE_PORT_RANGE.0, NODE_PORT_RANGE.1
                ),
            ));
        }
    }
    let mut node_ports = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let Some(node_port) = port.node_port.filter(|p| *p != 0) else { continue };
        if !node_ports.insert((port.protocol.as_deref().unwrap_or("TCP"), node_port)) {
            errs.push(FieldError::duplicate(&ports_path.index(i).child("nodePort"), node_port));
        }
    }
    let mut seen = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let protocol = port.protocol.as_deref().unwrap_or("TCP");
        if !seen.insert((protocol, port.port)) {
            // Kubernetes echoes its internal ServicePort key with only protocol and port set.
            let key = json!({"Name": "", "Protocol": protocol, "AppProtocol": null, "Port": port.port, "TargetPort": 0, "NodePort": 0});
            errs.push(FieldError::duplicate(&ports_path.index(i), key));
        }
    }
    let ranges = spec.load_balancer_source_ranges.as_deref().unwrap_or_default();
    if !ranges.is_empty() {
        // Kubernetes spells this path with a capital L.
        let field = spec_path.child("LoadBalancerSourceRanges");
        if kind != "LoadBalancer" {
            errs.push(FieldError::forbidden(&field, "may only be used when `type` is 'LoadBalancer'"));
        }
        for (i, range) in ranges.iter().enumerate() {
            errs.extend(validate_cidr(&field.index(i), range.trim()));
        }
    }
    if spec.allocate_load_balancer_node_ports.is_some() && kind != "LoadBalancer" {
        errs.push(FieldError::forbidden(
            &spec_path.child("allocateLoadBalancerNodePorts"),
            "may only be used when `type` is 'LoadBalancer'",
        ));
    }
    if let Some(policy) = spec.external_traffic_policy.as_deref() {
        let field = spec_path.child("externalTrafficPolicy");
        if !externally_accessible(spec) {
            if !policy.is_empty() {
                errs.push(FieldError::invalid(
                    &field,
                    policy,
                    "may only be set for externally-accessible services",
                ));
            }
        } else if !["Cluster", "Local"].contains(&policy) {
            errs.push(FieldError::not_supported(&field, policy, &["Cluster", "Local"]));
        }
    }
    if let Some(port) = spec.health_check_node_port.filter(|p| *p != 0) {
        let field = spec_path.child("healthCheckNodePort");
        if needs_health_check(spec) {
            errs.extend(
                is_valid_port_num(i64::from(port)).into_iter().map(|m| FieldError::invalid(&field, port, m)),
            );
        } else {
            errs.push(FieldError::invalid(
                &field,
                port,
                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            ));
        }
    }
    if let Some(policy) = spec.internal_traffic_policy.as_deref()
        && !["Cluster", "Local"].contains(&policy)
    {
        errs.push(FieldError::not_supported(
            &spec_path.child("internalTrafficPolicy"),
            policy,
            &["Cluster", "Local"],
        ));
    }
    if let Some(distribution) = spec.traffic_distribution.as_deref() {
        let supported = ["PreferClose", "PreferSameZone", "PreferSameNode"];
        if !supported.contains(&distribution) {
            errs.push(FieldError::not_supported(
                &spec_path.child("trafficDistribution"),
                distribution,
                &supported,
            ));
        }
    }
    errs
}

fn validate_service_port(
    port: &ServicePort,
    require_name: bool,
    names: &mut BTreeSet<String>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = port.name.as_deref().unwrap_or_default();
    if require_name && name.is_empty() {
        errs.push(FieldError::required(&path.child("name"), ""));
    } else if !name.is_empty() {
        errs.extend(
            is_dns1123_label(name).into_iter().map(|m| FieldError::invalid(&path.child("name"), name, m)),
        );
        if !names.insert(name.to_owned()) {
            errs.push(FieldError::duplicate(&path.child("name"), name));
        }
    }
    errs.extend(
        is_valid_port_num(i64::from(port.port))
            .into_iter()
            .map(|m| FieldError::invalid(&path.child("port"), port.port, m)),
    );
    if let Some(protocol) = port.protocol.as_deref() {
        if protocol.is_empty() {
            errs.push(FieldError::required(&path.child("protocol"), ""));
        } else if !PROTOCOLS.contains(&protocol) {
            errs.push(FieldError::not_supported(&path.child("protocol"), protocol, &PROTOCOLS));
        }
    }
    // An unset targetPort defaults to the port; zero or "" means the same.
    match &port.target_port {
        None | Some(IntOrString::Int(0)) => {}
        Some(IntOrString::String(s)) if s.is_empty() => {}
        Some(target) => errs.extend(validate_port_num_or_name(target, &path.child("targetPort"))),
    }
    if let Some(app_protocol) = &port.app_protocol {
        let field = path.child("appProtocol");
        errs.extend(
            is_qualified_name(app_protocol).into_iter().map(|m| FieldError::invalid(&field, app_protocol, m)),
        );
    }
    errs
}

/// `ValidateServiceClusterIPsRelatedFields`, minus the clusterIP/clusterIPs sync the server performs.
fn validate_cluster_ip_fields(spec: &ServiceSpec, ips: &[String]) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let spec_path = FieldPath::new("spec");
    let ips_path = spec_path.child("clusterIPs");
    if let (Some(ip), Some(list)) =
        (spec.cluster_ip.as_deref().filter(|ip| !ip.is_empty()), spec.cluster_ips.as_ref())
        && list.first().is_some_and(|first| first != ip)
    {
        errs.push(FieldError::invalid(&ips_path, list, "first value must match `clusterIP`"));
    }
    let mut seen = BTreeSet::new();
    for (i, family) in spec.ip_families.iter().flatten().enumerate() {
        let field = spec_path.child("ipFamilies").index(i);
        if !["IPv4", "IPv6"].contains(&family.as_str()) {
            errs.push(FieldError::not_supported(&field, family, &["IPv4", "IPv6"]));
        }
        if !seen.insert(family.as_str()) {
            errs.push(FieldError::duplicate(&field, family));
        }
    }
    if let Some(policy) = spec.ip_family_policy.as_deref() {
        let supported = ["PreferDualStack", "RequireDualStack", "SingleStack"];
        if !supported.contains(&policy) {
            errs.push(FieldError::not_supported(&spec_path.child("ipFamilyPolicy"), policy, &supported));
        }
    }
    let mut invalid = false;
    for (i, ip) in ips.iter().enumerate() {
        if i == 0 && ip == "None" {
            if ips.len() > 1 {
                invalid = true;
                errs.push(FieldError::invalid(&ips_path, ips, "'None' must be the first and only value"));
            }
            continue;
        }
        let ip_errs = validate_ip(&ips_path.index(i), ip);
        invalid |= !ip_errs.is_empty();
        errs.extend(ip_errs);
    }
    if ips.len() > 2 {
        errs.push(FieldError::invalid(&ips_path, ips, "may only hold up to 2 values"));
    }
    if invalid {
        return errs;
    }
    if let [first, second] = ips
        && first.contains(':') == second.contains(':')
    {
        errs.push(FieldError::invalid(&ips_path, ips, "may specify no more than one IP for each IP family"));
    }
    if !is_headless(spec) {
        for (i, (ip, family)) in ips.iter().zip(spec.ip_families.iter().flatten()).enumerate() {
            let is_v6 = ip.contains(':');
            if family == "IPv4" && is_v6 {
                errs.push(FieldError::invalid(
                    &ips_path.index(i),
                    ip,
                    format!("expected an IPv4 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
            if family == "IPv6" && !is_v6 {
                errs.push(FieldError::invalid(
                    &ips_path.index(i),
                    ip,
                    format!("expected an IPv6 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
        }
    }
    errs
}

/// `validateUpgradeDowngradeClusterIPs`: allocated cluster IPs never change (a secondary may be added or
/// dropped), except to and from `ExternalName`.
fn validate_cluster_ips_update(new: &ServiceSpec, old: &ServiceSpec) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if service_type(new) == "ExternalName"
        || service_type(old) == "ExternalName"
        || (is_headless(new) && is_headless(old))
    {
        return errs;
    }
    let path = FieldPath::new("spec").child("clusterIPs");
    let (new_ips, old_ips) = (effective_cluster_ips(new), effective_cluster_ips(old));
    if new_ips.len() == old_ips.len() {
        for (i, (new_ip, old_ip)) in new_ips.iter().zip(&old_ips).enumerate() {
            if new_ip != old_ip {
                errs.push(FieldError::invalid(&path.index(i), &new_ips, "may not change once set"));
            }
        }
    } else if old_ips.len() > new_ips.len() {
        match (new_ips.first(), old_ips.first()) {
            (None, _) => {
                errs.push(FieldError::invalid(
                    &path.index(0),
                    &new_ips,
                    "primary clusterIP can not be unset",
                ));
            }
            (Some(new_ip), Some(old_ip)) if new_ip != old_ip => {
                errs.push(FieldError::invalid(&path.index(0), &new_ips, "may not change once set"));
            }
            _ => {}
        }
    } else if let (Some(new_ip), Some(old_ip)) = (new_ips.first(), old_ips.first())
        && new_ip != old_ip
    {
        errs.push(FieldError::invalid(&path.index(0), &new_ips, "may not change once set"));
    }
    errs
}

/// `ValidateNonSpecialIP`: no unspecified, loopback or link-local addresses.
pub(crate) fn validate_non_special_ip(ip: &str, path: &FieldPath) -> Vec<FieldError> {
    special_ip_errors(ip, path, false)
}

/// An EndpointSlice address: [`validate_non_special_ip`], except that loopback addresses are allowed. Wharf's pod
/// addresses are loopback addresses (see ARCHITECTURE.md), and node agents route to them; Kubernetes refuses them
/// because kube-proxy would send such traffic to the node itself.
pub(crate) fn validate_endpoint_address(ip: &str, path: &FieldPath) -> Vec<FieldError> {
    special_ip_errors(ip, path, true)
}

fn special_ip_errors(ip: &str, path: &FieldPath, loopback_allowed: bool) -> Vec<FieldError> {
    let Ok(addr) = ip.parse::<std::net::IpAddr>() else {
        return vec![FieldError::invalid(path, ip, "must be a valid IP address")];
    };
    let mut errs = Vec::new();
    if addr.is_unspecified() {
        errs.push(FieldError::invalid(path, ip, format!("may not be unspecified ({ip})")));
    }
    if addr.is_loopback() && !loopback_allowed {
        errs.push(FieldError::invalid(path, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)"));
    }
    let link_local_unicast = match addr {
        std::net::IpAddr::V4(v4) => v4.is_link_local(),
        std::net::IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    };
    if link_local_unicast {
        errs.push(FieldError::invalid(
            path,
            ip,
            "may not be in the link-local range (169.254.0.0/16, fe80::/10)",
        ));
    }
    let link_local_multicast = match addr {
        std::net::IpAddr::V4(v4) => v4.octets()[..3] == [224, 0, 0],
        std::net::IpAddr::V6(v6) => (v6.segments()[0] & 0xff0f) == 0xff02,
    };
    if link_local_multicast {
        errs.push(FieldError::invalid(
            path,
            ip,
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::test_support::{Edit, check_cases, from_json, messages, with};
    use serde_json::{Value, json};

    fn service() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "type": "ClusterIP", "sessionAffinity": "None",
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                               {"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}]},
        })
    }

    fn check(value: &Value) -> Vec<String> {
        messages(&from_json::<Service>(value.clone()).validate())
    }

    #[test]
    fn valid_services() {
        assert_eq!(check(&service()), Vec::<String>::new());
        let node_port =
            with(&service(), &[("/spec/type", json!("NodePort")), ("/spec/ports/0/nodePort", json!(30080))]);
        assert_eq!(check(&node_port), Vec::<String>::new());
        let external = json!({"metadata": {"name": "db", "namespace": "d"}, "spec": {"type": "ExternalName", "externalName": "db.example.com."}});
        assert_eq!(check(&external), Vec::<String>::new());
        let headless = json!({"metadata": {"name": "h", "namespace": "d"}, "spec": {"clusterIP": "None", "clusterIPs": ["None"]}});
        assert_eq!(check(&headless), Vec::<String>::new());
        let allocated = with(
            &service(),
            &[
                ("/spec/clusterIP", json!("10.96.0.10")),
                ("/spec/clusterIPs", json!(["10.96.0.10"])),
                ("/spec/ipFamilies", json!(["IPv4"])),
                ("/spec/ipFamilyPolicy", json!("SingleStack")),
            ],
        );
        assert_eq!(check(&allocated), Vec::<String>::new());
    }

    #[test]
    fn broken_services() {
        let base = service();
        let cases: Vec<(Vec<Edit>, Vec<&str>)> = vec![
            (
                vec![("/metadata/name", json!("web.v1"))],
                vec!["metadata.name: Invalid value: \"web.v1\": must not contain dots"],
            ),
            (vec![("/spec/ports", json!([]))], vec!["spec.ports: Required value"]),
            (
                vec![("/spec/ports/0/port", json!(0))],
                vec!["spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"],
            ),
            (
                vec![("/spec/ports/0/port", json!(70000))],
                vec!["spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"],
            ),
            (vec![("/spec/ports/0/name", Value::Null)], vec!["spec.ports[0].name: Required value"]),
            (
                vec![("/spec/ports/1/name", json!("http"))],
                vec!["spec.ports[1].name: Duplicate value: \"http\""],
            ),
            (
                vec![("/spec/ports/1/port", json!(80))],
                vec![
                    "spec.ports[1]: Duplicate value: {\"AppProtocol\":null,\"Name\":\"\",\"NodePort\":0,\"Port\":80,\"Protocol\":\"TCP\",\"TargetPort\":0}",
                ],
            ),
            (
                vec![("/spec/ports/0/protocol", json!("ICMP"))],
                vec![
                    "spec.ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                ],
            ),
            (
                vec![("/spec/ports/0/targetPort", json!(99999))],
                vec![
                    "spec.ports[0].targetPort: Invalid value: 99999: must be between 1 and 65535, inclusive",
                ],
            ),
            (
                vec![("/spec/ports/1/targetPort", json!("HTTPS"))],
                vec![
                    "spec.ports[1].targetPort: Invalid value: \"HTTPS\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                    "spec.ports[1].targetPort: Invalid value: \"HTTPS\": must contain at least one letter (a-z)",
                ],
            ),
            (
                vec![("/spec/type", json!("Ingress"))],
                vec![
                    "spec.type: Unsupported value: \"Ingress\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
                ],
            ),
            (
                vec![("/spec/ports/0/nodePort", json!(30080))],
                vec!["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
            ),
            (
                vec![("/spec/type", json!("NodePort")), ("/spec/ports/0/nodePort", json!(80))],
                vec![
                    "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767",
                ],
            ),
            (
                vec![
                    ("/spec/type", json!("NodePort")),
                    ("/spec/ports/0/nodePort", json!(30080)),
                    ("/spec/ports/1/nodePort", json!(30080)),
                ],
                vec!["spec.ports[1].nodePort: Duplicate value: 30080"],
            ),
            (
                vec![("/spec/type", json!("LoadBalancer")), ("/spec/ports/0/port", json!(10250))],
                vec![
                    "spec.ports[0]: Invalid value: 10250: may not expose port 10250 externally since it is used by kubelet",
                ],
            ),
            (
                vec![("/spec/type", json!("NodePort")), ("/spec/clusterIP", json!("None"))],
                vec![
                    "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services",
                ],
            ),
            (vec![("/spec/type", json!("ExternalName"))], vec!["spec.externalName: Required value"]),
            (
                vec![
                    ("/spec/type", json!("ExternalName")),
                    ("/spec/externalName", json!("Bad_Name")),
                    ("/spec/clusterIP", json!("10.0.0.1")),
                ],
                vec![
                    "spec.clusterIPs: Forbidden: may not be set for ExternalName services",
                    "spec.externalName: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                ],
            ),
            (
                vec![("/spec/sessionAffinity", json!("Cookie"))],
                vec![
                    "spec.sessionAffinity: Unsupported value: \"Cookie\": supported values: \"ClientIP\", \"None\"",
                ],
            ),
            (
                vec![("/spec/sessionAffinityConfig", json!({"clientIP": {"timeoutSeconds": 10}}))],
                vec!["spec.sessionAffinityConfig: Forbidden: must not be set when session affinity is None"],
            ),
            (
                vec![
                    ("/spec/sessionAffinity", json!("ClientIP")),
                    ("/spec/sessionAffinityConfig", json!({"clientIP": {"timeoutSeconds": 0}})),
                ],
                vec![
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be greater than 0 and less than 86400",
                ],
            ),
            (
                vec![("/spec/clusterIP", json!("10.0.0"))],
                vec![
                    "spec.clusterIPs[0]: Invalid value: \"10.0.0\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                ],
            ),
            (
                vec![("/spec/clusterIPs", json!(["10.0.0.1", "10.0.0.2"]))],
                vec![
                    "spec.clusterIPs: Invalid value: [\"10.0.0.1\",\"10.0.0.2\"]: may specify no more than one IP for each IP family",
                ],
            ),
            (
                vec![("/spec/clusterIP", json!("10.0.0.1")), ("/spec/clusterIPs", json!(["10.0.0.2"]))],
                vec!["spec.clusterIPs: Invalid value: [\"10.0.0.2\"]: first value must match `clusterIP`"],
            ),
            (
                vec![("/spec/clusterIP", json!("10.0.0.1")), ("/spec/ipFamilies", json!(["IPv6"]))],
                vec![
                    "spec.clusterIPs[0]: Invalid value: \"10.0.0.1\": expected an IPv6 value as indicated by `ipFamilies[0]`",
                ],
            ),
            (
                vec![("/spec/ipFamilies", json!(["IPv5"]))],
                vec!["spec.ipFamilies[0]: Unsupported value: \"IPv5\": supported values: \"IPv4\", \"IPv6\""],
            ),
            (
                vec![("/spec/ipFamilyPolicy", json!("DualStack"))],
                vec![
                    "spec.ipFamilyPolicy: Unsupported value: \"DualStack\": supported values: \"PreferDualStack\", \"RequireDualStack\", \"SingleStack\"",
                ],
            ),
            (
                vec![("/spec/externalIPs", json!(["127.0.0.1"]))],
                vec![
                    "spec.externalIPs[0]: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)",
                ],
            ),
            (
                vec![("/spec/externalTrafficPolicy", json!("Local"))],
                vec![
                    "spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set for externally-accessible services",
                ],
            ),
            (
                vec![("/spec/type", json!("NodePort")), ("/spec/externalTrafficPolicy", json!("Nearby"))],
                vec![
                    "spec.externalTrafficPolicy: Unsupported value: \"Nearby\": supported values: \"Cluster\", \"Local\"",
                ],
            ),
            (
                vec![("/spec/internalTrafficPolicy", json!("Node"))],
                vec![
                    "spec.internalTrafficPolicy: Unsupported value: \"Node\": supported values: \"Cluster\", \"Local\"",
                ],
            ),
            (
                vec![("/spec/healthCheckNodePort", json!(30000))],
                vec![
                    "spec.healthCheckNodePort: Invalid value: 30000: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
                ],
            ),
            (
                vec![("/spec/loadBalancerSourceRanges", json!(["10.0.0.0/8"]))],
                vec![
                    "spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'",
                ],
            ),
            (
                vec![("/spec/allocateLoadBalancerNodePorts", json!(true))],
                vec![
                    "spec.allocateLoadBalancerNodePorts: Forbidden: may only be used when `type` is 'LoadBalancer'",
                ],
            ),
            (
                vec![("/spec/selector", json!({"app": "-x"}))],
                vec![
                    "spec.selector: Invalid value: \"-x\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                ],
            ),
        ];
        check_cases(cases, |edits| check(&with(&base, edits)));
    }

    #[test]
    fn cluster_ip_is_immutable_once_set() {
        let old: Service = from_json(with(
            &service(),
            &[("/spec/clusterIP", json!("10.96.0.10")), ("/spec/clusterIPs", json!(["10.96.0.10"]))],
        ));
        let run = |edits: &Vec<Edit>| {
            let new: Service = from_json(with(&service(), edits));
            messages(&new.validate_update(&old))
        };
        let cases: Vec<(Vec<Edit>, Vec<&str>)> = vec![
            (
                vec![("/spec/clusterIP", json!("10.96.0.10")), ("/spec/clusterIPs", json!(["10.96.0.10"]))],
                vec![],
            ),
            (vec![("/spec/clusterIP", json!("10.96.0.10"))], vec![]),
            (
                vec![("/spec/clusterIP", json!("10.96.0.11")), ("/spec/clusterIPs", json!(["10.96.0.11"]))],
                vec!["spec.clusterIPs[0]: Invalid value: [\"10.96.0.11\"]: may not change once set"],
            ),
            (vec![], vec!["spec.clusterIPs[0]: Invalid value: []: primary clusterIP can not be unset"]),
            (
                vec![
                    ("/spec/type", json!("ExternalName")),
                    ("/spec/externalName", json!("a.b")),
                    ("/spec/ports", json!([])),
                ],
                vec![],
            ),
        ];
        check_cases(cases, run);
        let unallocated: Service = from_json(service());
        let allocated: Service = from_json(with(&service(), &[("/spec/clusterIP", json!("10.96.0.10"))]));
        assert!(allocated.validate_update(&unallocated).is_empty());
    }

    #[test]
    fn special_ips() {
        let p = FieldPath::new("ip");
        assert!(validate_non_special_ip("10.1.2.3", &p).is_empty());
        assert_eq!(validate_non_special_ip("0.0.0.0", &p)[0].detail, "may not be unspecified (0.0.0.0)");
        assert_eq!(
            validate_non_special_ip("169.254.1.1", &p)[0].detail,
            "may not be in the link-local range (169.254.0.0/16, fe80::/10)"
        );
        assert_eq!(
            validate_non_special_ip("fe80::1", &p)[0].detail,
            "may not be in the link-local range (169.254.0.0/16, fe80::/10)"
        );
        assert_eq!(
            validate_non_special_ip("224.0.0.5", &p)[0].detail,
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"
        );
        assert_eq!(validate_non_special_ip("x", &p)[0].detail, "must be a valid IP address");
    }
}
