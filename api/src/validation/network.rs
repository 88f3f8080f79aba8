//! `NetworkPolicies` and `EndpointSlices`.

use std::collections::BTreeSet;
use std::net::IpAddr;

use k8s_openapi::api::discovery::v1::{Endpoint, EndpointPort, EndpointSlice};
use k8s_openapi::api::networking::v1::{IPBlock, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{
    NameRule, immutable, validate_label_selector, validate_labels, validate_object_meta_update,
};
use super::names::{
    is_dns1123_label, is_dns1123_subdomain, is_qualified_name, is_valid_port_name, is_valid_port_num,
    parse_cidr,
};
use super::service::validate_endpoint_address;
use super::{FieldError, FieldPath, Validate, validate_object_meta};

const PROTOCOLS: [&str; 3] = ["SCTP", "TCP", "UDP"];
const ADDRESS_TYPES: [&str; 3] = ["FQDN", "IPv4", "IPv6"];
const MAX_ENDPOINTS: usize = 1000;
const MAX_ADDRESSES: usize = 100;
const MAX_PORTS: usize = 20000;
const MAX_TOPOLOGY_LABELS: usize = 16;

impl Validate for NetworkPolicy {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, NameRule::Dns1123Subdomain);
        let Some(spec) = &self.spec else { return errs };
        let path = FieldPath::new("spec");
        errs.extend(validate_label_selector(spec.pod_selector.as_ref(), &path.child("podSelector")));
        for (i, rule) in spec.ingress.iter().flatten().enumerate() {
            let rule_path = path.child("ingress").index(i);
            for (j, port) in rule.ports.iter().flatten().enumerate() {
                errs.extend(validate_policy_port(port, &rule_path.child("ports").index(j)));
            }
            for (j, peer) in rule.from.iter().flatten().enumerate() {
                errs.extend(validate_peer(peer, &rule_path.child("from").index(j)));
            }
        }
        for (i, rule) in spec.egress.iter().flatten().enumerate() {
            let rule_path = path.child("egress").index(i);
            for (j, port) in rule.ports.iter().flatten().enumerate() {
                errs.extend(validate_policy_port(port, &rule_path.child("ports").index(j)));
            }
            for (j, peer) in rule.to.iter().flatten().enumerate() {
                errs.extend(validate_peer(peer, &rule_path.child("to").index(j)));
            }
        }
        let types = spec.policy_types.as_deref().unwrap_or_default();
        let types_path = path.child("policyTypes");
        if types.len() > 2 {
            errs.push(FieldError::invalid(&types_path, types, "may not specify more than two policyTypes"));
            return errs;
        }
        for (i, policy_type) in types.iter().enumerate() {
            if !["Ingress", "Egress"].contains(&policy_type.as_str()) {
                errs.push(FieldError::not_supported(
                    &types_path.index(i),
                    policy_type,
                    &["Ingress", "Egress"],
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

fn validate_policy_port(port: &NetworkPolicyPort, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(protocol) = port.protocol.as_deref()
        && !PROTOCOLS.contains(&protocol)
    {
        errs.push(FieldError::not_supported(&path.child("protocol"), protocol, &["TCP", "UDP", "SCTP"]));
    }
    match &port.port {
        Some(IntOrString::Int(n)) => {
            errs.extend(
                is_valid_port_num(i64::from(*n))
                    .into_iter()
                    .map(|m| FieldError::invalid(&path.child("port"), *n, m)),
            );
        }
        Some(IntOrString::String(s)) => {
            errs.extend(
                is_valid_port_name(s).into_iter().map(|m| FieldError::invalid(&path.child("port"), s, m)),
            );
        }
        None => {}
    }
    if let Some(end) = port.end_port {
        match &port.port {
            None => errs.push(FieldError::required(&path.child("port"), "when endPort is specified")),
            Some(IntOrString::String(s)) => {
                errs.push(FieldError::invalid(
                    &path.child("endPort"),
                    s,
                    "may not be specified when `port` is non-numeric",
                ));
            }
            Some(IntOrString::Int(start)) if end < *start => {
                errs.push(FieldError::invalid(
                    &path.child("endPort"),
                    end,
                    "must be greater than or equal to `port`",
                ));
            }
            Some(IntOrString::Int(_)) => {
                errs.extend(
                    is_valid_port_num(i64::from(end))
                        .into_iter()
                        .map(|m| FieldError::invalid(&path.child("endPort"), end, m)),
                );
            }
        }
    }
    errs
}

fn validate_peer(peer: &NetworkPolicyPeer, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut peers = 0;
    if let Some(selector) = &peer.pod_selector {
        peers += 1;
        errs.extend(validate_label_selector(Some(selector), &path.child("podSelector")));
    }
    if let Some(selector) = &peer.namespace_selector {
        peers += 1;
        errs.extend(validate_label_selector(Some(selector), &path.child("namespaceSelector")));
    }
    if let Some(block) = &peer.ip_block {
        peers += 1;
        errs.extend(validate_ip_block(block, &path.child("ipBlock")));
    }
    if peers == 0 {
        errs.push(FieldError::required(path, "must specify a peer"));
    } else if peers > 1 && peer.ip_block.is_some() {
        errs.push(FieldError::forbidden(path, "may not specify both ipBlock and another peer"));
    }
    errs
}

fn validate_ip_block(block: &IPBlock, path: &FieldPath) -> Vec<FieldError> {
    let invalid = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";
    if block.cidr.is_empty() {
        return vec![FieldError::required(&path.child("cidr"), "")];
    }
    let Some(cidr) = parse_cidr(&block.cidr) else {
        return vec![FieldError::invalid(&path.child("cidr"), &block.cidr, invalid)];
    };
    let mut errs = Vec::new();
    for (i, except) in block.except.iter().flatten().enumerate() {
        let field = path.child("except").index(i);
        let Some(inner) = parse_cidr(except) else {
            errs.push(FieldError::invalid(&field, except, invalid));
            return errs;
        };
        if !cidr.contains(inner.addr) || cidr.prefix >= inner.prefix {
            errs.push(FieldError::invalid(&field, except, "must be a strict subset of `cidr`"));
        }
    }
    errs
}

impl Validate for EndpointSlice {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, NameRule::Dns1123Subdomain);
        let address_type = self.address_type.as_str();
        let type_path = FieldPath::new("addressType");
        if address_type.is_empty() {
            errs.push(FieldError::required(&type_path, ""));
        } else if !ADDRESS_TYPES.contains(&address_type) {
            errs.push(FieldError::not_supported(&type_path, address_type, &ADDRESS_TYPES));
        }
        errs.extend(validate_endpoints(self.endpoints.as_deref().unwrap_or_default(), address_type));
        errs.extend(validate_endpoint_ports(self.ports.as_deref().unwrap_or_default()));
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        errs.extend(self.validate());
        if self.address_type != old.address_type {
            errs.push(immutable(&FieldPath::new("addressType"), &self.address_type));
        }
        errs
    }
}

fn validate_endpoints(endpoints: &[Endpoint], address_type: &str) -> Vec<FieldError> {
    let path = FieldPath::new("endpoints");
    if endpoints.len() > MAX_ENDPOINTS {
        return vec![FieldError::too_many(&path, endpoints.len(), MAX_ENDPOINTS)];
    }
    let mut errs = Vec::new();
    for (i, endpoint) in endpoints.iter().enumerate() {
        let ep_path = path.index(i);
        let addr_path = ep_path.child("addresses");
        if endpoint.addresses.is_empty() {
            errs.push(FieldError::required(&addr_path, "must contain at least 1 address"));
        } else if endpoint.addresses.len() > MAX_ADDRESSES {
            errs.push(FieldError::too_many(&addr_path, endpoint.addresses.len(), MAX_ADDRESSES));
        }
        for (j, address) in endpoint.addresses.iter().enumerate() {
            let field = addr_path.index(j);
            match address_type {
                "IPv4" | "IPv6" => {
                    let want_v4 = address_type == "IPv4";
                    match address.parse::<IpAddr>() {
                        Ok(ip) if ip.is_ipv4() == want_v4 => {
                            errs.extend(validate_endpoint_address(address, &field));
                        }
                        _ => errs.push(FieldError::invalid(
                            &field,
                            address,
                            format!("must be a valid {address_type} address"),
                        )),
                    }
                }
                "FQDN" => errs.extend(validate_fqdn(address, &field)),
                _ => {}
            }
        }
        if let Some(node) = endpoint.node_name.as_deref() {
            let field = ep_path.child("nodeName");
            errs.extend(is_dns1123_subdomain(node).into_iter().map(|m| FieldError::invalid(&field, node, m)));
        }
        let topology_path = ep_path.child("deprecatedTopology");
        if endpoint.deprecated_topology.as_ref().is_some_and(|t| t.len() > MAX_TOPOLOGY_LABELS) {
            let count = endpoint.deprecated_topology.as_ref().map_or(0, std::collections::BTreeMap::len);
            errs.push(FieldError::too_many(&topology_path, count, MAX_TOPOLOGY_LABELS));
        }
        errs.extend(validate_labels(endpoint.deprecated_topology.as_ref(), &topology_path));
        if let Some(hostname) = endpoint.hostname.as_deref() {
            let field = ep_path.child("hostname");
            errs.extend(
                is_dns1123_label(hostname).into_iter().map(|m| FieldError::invalid(&field, hostname, m)),
            );
        }
    }
    errs
}

/// `validation.IsFullyQualifiedDomainName`: a subdomain of at least two labels, an optional trailing dot.
fn validate_fqdn(name: &str, path: &FieldPath) -> Vec<FieldError> {
    if name.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    let msgs = is_dns1123_subdomain(name);
    if !msgs.is_empty() {
        return vec![FieldError::invalid(path, name, msgs.join(","))];
    }
    if !name.contains('.') {
        return vec![FieldError::invalid(
            path,
            name,
            "should be a domain with at least two segments separated by dots",
        )];
    }
    for label in name.split('.') {
        let msgs = is_dns1123_label(label);
        if !msgs.is_empty() {
            return vec![FieldError::invalid(path, label, msgs.join(","))];
        }
    }
    Vec::new()
}

fn validate_endpoint_ports(ports: &[EndpointPort]) -> Vec<FieldError> {
    let path = FieldPath::new("ports");
    if ports.len() > MAX_PORTS {
        return vec![FieldError::too_many(&path, ports.len(), MAX_PORTS)];
    }
    let mut errs = Vec::new();
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let port_path = path.index(i);
        let name = port.name.as_deref().unwrap_or_default();
        if !name.is_empty() {
            errs.extend(
                is_dns1123_label(name)
                    .into_iter()
                    .map(|m| FieldError::invalid(&port_path.child("name"), name, m)),
            );
        }
        if !names.insert(name) {
            errs.push(FieldError::duplicate(&port_path.child("name"), name));
        }
        if let Some(number) = port.port {
            errs.extend(
                is_valid_port_num(i64::from(number))
                    .into_iter()
                    .map(|m| FieldError::invalid(&port_path.child("port"), number, m)),
            );
        }
        match port.protocol.as_deref() {
            Some(protocol) if !PROTOCOLS.contains(&protocol) => {
                errs.push(FieldError::not_supported(&port_path.child("protocol"), protocol, &PROTOCOLS));
            }
            _ => {}
        }
        if let Some(app_protocol) = &port.app_protocol {
            let field = port_path.child("appProtocol");
            errs.extend(
                is_qualified_name(app_protocol)
                    .into_iter()
                    .map(|m| FieldError::invalid(&field, app_protocol, m)),
            );
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::test_support::{Edit, check_cases, from_json, messages, with};
    use serde_json::{Value, json};

    fn policy() -> Value {
        json!({"metadata": {"name": "allow-web", "namespace": "default"},
               "spec": {"podSelector": {"matchLabels": {"app": "web"}},
                        "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "frontend"}}},
                                              {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
                                     "ports": [{"protocol": "TCP", "port": 80, "endPort": 90}, {"port": "http"}]}],
                        "egress": [{"to": [{"namespaceSelector": {}}]}],
                        "policyTypes": ["Ingress", "Egress"]}})
    }

    #[test]
    fn network_policies() {
        let base = policy();
        let run = |edits: &Vec<Edit>| messages(&from_json::<NetworkPolicy>(with(&base, edits)).validate());
        let cases: Vec<(Vec<Edit>, Vec<&str>)> = vec![
            (vec![], vec![]),
            (
                vec![("/spec/ingress/0/ports/0/protocol", json!("ICMP"))],
                vec![
                    "spec.ingress[0].ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"TCP\", \"UDP\", \"SCTP\"",
                ],
            ),
            (
                vec![("/spec/ingress/0/ports/0/port", json!(0))],
                vec![
                    "spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                ],
            ),
            (
                vec![("/spec/ingress/0/ports/0/endPort", json!(70))],
                vec![
                    "spec.ingress[0].ports[0].endPort: Invalid value: 70: must be greater than or equal to `port`",
                ],
            ),
            (
                vec![("/spec/ingress/0/ports/1/endPort", json!(70))],
                vec![
                    "spec.ingress[0].ports[1].endPort: Invalid value: \"http\": may not be specified when `port` is non-numeric",
                ],
            ),
            (
                vec![("/spec/ingress/0/from/0", json!({}))],
                vec!["spec.ingress[0].from[0]: Required value: must specify a peer"],
            ),
            (
                vec![("/spec/ingress/0/from/1/podSelector", json!({}))],
                vec!["spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer"],
            ),
            (
                vec![("/spec/ingress/0/from/1/ipBlock/cidr", json!("10.0.0.0"))],
                vec![
                    "spec.ingress[0].from[1].ipBlock.cidr: Invalid value: \"10.0.0.0\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                ],
            ),
            (
                vec![("/spec/ingress/0/from/1/ipBlock/except/0", json!("192.168.0.0/16"))],
                vec![
                    "spec.ingress[0].from[1].ipBlock.except[0]: Invalid value: \"192.168.0.0/16\": must be a strict subset of `cidr`",
                ],
            ),
            (
                vec![("/spec/ingress/0/from/1/ipBlock/cidr", json!(""))],
                vec!["spec.ingress[0].from[1].ipBlock.cidr: Required value"],
            ),
            (
                vec![("/spec/policyTypes/1", json!("Sideways"))],
                vec![
                    "spec.policyTypes[1]: Unsupported value: \"Sideways\": supported values: \"Ingress\", \"Egress\"",
                ],
            ),
            (
                vec![("/spec/policyTypes", json!(["Ingress", "Egress", "Ingress"]))],
                vec![
                    "spec.policyTypes: Invalid value: [\"Ingress\",\"Egress\",\"Ingress\"]: may not specify more than two policyTypes",
                ],
            ),
            (
                vec![("/spec/podSelector", json!({"matchExpressions": [{"key": "a", "operator": "In"}]}))],
                vec![
                    "spec.podSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
                ],
            ),
        ];
        check_cases(cases, run);
    }

    fn slice() -> Value {
        json!({"metadata": {"name": "web-abc", "namespace": "default", "labels": {"kubernetes.io/service-name": "web"}},
               "addressType": "IPv4",
               "endpoints": [{"addresses": ["10.244.1.5"], "conditions": {"ready": true}, "nodeName": "node-1", "hostname": "web-0"}],
               "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]})
    }

    #[test]
    fn endpoint_slices() {
        let base = slice();
        let run = |edits: &Vec<Edit>| messages(&from_json::<EndpointSlice>(with(&base, edits)).validate());
        let cases: Vec<(Vec<Edit>, Vec<&str>)> = vec![
            (vec![], vec![]),
            (
                vec![("/addressType", json!("IPv5"))],
                vec![
                    "addressType: Unsupported value: \"IPv5\": supported values: \"FQDN\", \"IPv4\", \"IPv6\"",
                ],
            ),
            (vec![("/addressType", json!(""))], vec!["addressType: Required value"]),
            (
                vec![("/endpoints/0/addresses", json!([]))],
                vec!["endpoints[0].addresses: Required value: must contain at least 1 address"],
            ),
            (
                vec![("/endpoints/0/addresses/0", json!("fd00::1"))],
                vec!["endpoints[0].addresses[0]: Invalid value: \"fd00::1\": must be a valid IPv4 address"],
            ),
            // Pod addresses are loopback addresses here (Kubernetes refuses them).
            (vec![("/endpoints/0/addresses/0", json!("127.64.0.2"))], vec![]),
            (
                vec![("/endpoints/0/addresses/0", json!("169.254.1.1"))],
                vec![
                    "endpoints[0].addresses[0]: Invalid value: \"169.254.1.1\": may not be in the link-local range (169.254.0.0/16, fe80::/10)",
                ],
            ),
            (
                vec![("/addressType", json!("FQDN")), ("/endpoints/0/addresses/0", json!("db.example.com"))],
                vec![],
            ),
            (
                vec![("/addressType", json!("FQDN")), ("/endpoints/0/addresses/0", json!("localhost"))],
                vec![
                    "endpoints[0].addresses[0]: Invalid value: \"localhost\": should be a domain with at least two segments separated by dots",
                ],
            ),
            (
                vec![("/endpoints/0/hostname", json!("web.0"))],
                vec!["endpoints[0].hostname: Invalid value: \"web.0\": must not contain dots"],
            ),
            (
                vec![("/ports/0/protocol", json!("HTTP"))],
                vec![
                    "ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                ],
            ),
            (
                vec![("/ports/1", json!({"name": "http", "port": 9090}))],
                vec!["ports[1].name: Duplicate value: \"http\""],
            ),
            (
                vec![("/ports/0/port", json!(0))],
                vec!["ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"],
            ),
        ];
        check_cases(cases, run);
        let too_many: EndpointSlice = from_json(with(
            &base,
            &[("/endpoints", Value::Array(vec![json!({"addresses": ["10.0.0.1"]}); 1001]))],
        ));
        assert_eq!(
            messages(&too_many.validate()),
            vec!["endpoints: Too many: 1001: must have at most 1000 items"]
        );
        let old: EndpointSlice = from_json(base.clone());
        let retyped: EndpointSlice =
            from_json(with(&base, &[("/addressType", json!("FQDN")), ("/endpoints", json!([]))]));
        assert_eq!(
            messages(&retyped.validate_update(&old)),
            vec!["addressType: Invalid value: \"FQDN\": field is immutable"]
        );
    }
}
