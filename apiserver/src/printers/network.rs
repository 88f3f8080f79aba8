//! Printers of the networking kinds: services, endpoint slices and network policies.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::Value;

use super::fields::{
    created, field, format_label_selector, format_labels, int, list, list_with_more, name, non_empty,
    strings, text,
};
use super::{AGE, Column, NAME, column, wide};

pub(super) const SERVICE_COLUMNS: &[Column] = &[
    NAME,
    column("Type", "string", doc::SERVICE_TYPE),
    column("Cluster-IP", "string", doc::SERVICE_CLUSTER_IP),
    column("External-IP", "string", doc::SERVICE_EXTERNAL_IPS),
    column("Port(s)", "string", doc::SERVICE_PORTS),
    AGE,
    wide("Selector", "string", doc::SERVICE_SELECTOR),
];

pub(super) fn service_cells(service: &Value, now: Timestamp) -> Vec<Value> {
    // spec.type defaults to ClusterIP and spec.clusterIPs to [spec.clusterIP] on create.
    let kind = non_empty(text(service, "/spec/type")).unwrap_or("ClusterIP");
    let cluster_ip = match list(service, "/spec/clusterIPs").first() {
        Some(first) => first.as_str().unwrap_or(""),
        None => non_empty(text(service, "/spec/clusterIP")).unwrap_or("<none>"),
    };
    let external_ips: Vec<&str> = strings(service, "/spec/externalIPs").collect();
    let external_ip = match kind {
        "ClusterIP" | "NodePort" if external_ips.is_empty() => "<none>".to_owned(),
        "ClusterIP" | "NodePort" => external_ips.join(","),
        "LoadBalancer" => {
            // The API server renders the wide form, so ingress addresses are not clipped.
            let ingress: BTreeSet<&str> = list(service, "/status/loadBalancer/ingress")
                .iter()
                .filter_map(|i| non_empty(text(i, "/ip")).or_else(|| non_empty(text(i, "/hostname"))))
                .collect();
            let all: Vec<&str> = ingress.into_iter().chain(external_ips).collect();
            if all.is_empty() { "<pending>".to_owned() } else { all.join(",") }
        }
        "ExternalName" => text(service, "/spec/externalName").to_owned(),
        _ => "<unknown>".to_owned(),
    };
    let ports: Vec<String> = list(service, "/spec/ports")
        .iter()
        .map(|port| {
            let protocol = non_empty(text(port, "/protocol")).unwrap_or("TCP");
            match int(port, "/nodePort") {
                node_port if node_port > 0 => format!("{}:{node_port}/{protocol}", int(port, "/port")),
                _ => format!("{}/{protocol}", int(port, "/port")),
            }
        })
        .collect();
    let ports = if ports.is_empty() { "<none>".to_owned() } else { ports.join(",") };
    vec![
        name(service).into(),
        kind.into(),
        cluster_ip.into(),
        external_ip.into(),
        ports.into(),
        created(service, now).into(),
        format_labels(field(service, "/spec/selector")).into(),
    ]
}

pub(super) const ENDPOINTSLICE_COLUMNS: &[Column] = &[
    NAME,
    column("AddressType", "string", doc::ENDPOINTSLICE_ADDRESS_TYPE),
    column("Ports", "string", doc::ENDPOINTSLICE_PORTS),
    column("Endpoints", "string", doc::ENDPOINTSLICE_ENDPOINTS),
    AGE,
];

pub(super) fn endpointslice_cells(slice: &Value, now: Timestamp) -> Vec<Value> {
    let ports = list(slice, "/ports").iter().map(|port| match field(port, "/port") {
        Some(number) => int(number, "").to_string(),
        None => field(port, "/name").and_then(Value::as_str).unwrap_or("*").to_owned(),
    });
    let addresses =
        list(slice, "/endpoints").iter().flat_map(|e| strings(e, "/addresses")).map(str::to_owned);
    vec![
        name(slice).into(),
        text(slice, "/addressType").into(),
        list_with_more(ports).into(),
        list_with_more(addresses).into(),
        created(slice, now).into(),
    ]
}

pub(super) const NETWORKPOLICY_COLUMNS: &[Column] =
    &[NAME, column("Pod-Selector", "string", doc::NETWORKPOLICY_POD_SELECTOR), AGE];

pub(super) fn networkpolicy_cells(policy: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(policy).into(),
        format_label_selector(field(policy, "/spec/podSelector")).into(),
        created(policy, now).into(),
    ]
}

/// Column descriptions: the Kubernetes API documentation strings (`SwaggerDoc()`) that printers.go uses.
mod doc {
    pub(super) const SERVICE_TYPE: &str = concat!(
        "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ",
        "ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal ",
        "IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that ",
        "is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If ",
        "clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of ",
        "endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on ",
        "every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on ",
        "NodePort and creates an external load-balancer (if supported in the current cloud) which routes ",
        "to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified ",
        "externalName. Several other fields do not apply to ExternalName services. More info: ",
        "https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types",
    );
    pub(super) const SERVICE_CLUSTER_IP: &str = concat!(
        "clusterIP is the IP address of the service and is usually assigned randomly. If an address is ",
        "specified manually, is in-range (as per system configuration), and is not in use, it will be ",
        "allocated to the service; otherwise creation of the service will fail. This field may not be ",
        "changed through updates unless the type field is also being changed to ExternalName (which ",
        "requires this field to be blank) or the type field is being changed from ExternalName (in which ",
        "case this field may optionally be specified, as describe above).  Valid values are \"None\", ",
        "empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless ",
        "service\" (no virtual IP), which is useful when direct endpoint connections are preferred and ",
        "proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this ",
        "field is specified when creating a Service of type ExternalName, creation will fail. This field ",
        "will be wiped when updating a Service to type ExternalName. More info: ",
        "https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
    );
    pub(super) const SERVICE_EXTERNAL_IPS: &str = concat!(
        "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic ",
        "for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ",
        "ensuring that traffic arrives at a node with this IP.  A common example is external ",
        "load-balancers that are not part of the Kubernetes system.",
    );
    pub(super) const SERVICE_PORTS: &str = concat!(
        "The list of ports that are exposed by this service. More info: ",
        "https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
    );
    pub(super) const SERVICE_SELECTOR: &str = concat!(
        "Route service traffic to pods with label keys and values matching this selector. If empty or not ",
        "present, the service is assumed to have an external process managing its endpoints, which ",
        "Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored ",
        "if type is ExternalName. More info: ",
        "https://kubernetes.io/docs/concepts/services-networking/service/",
    );
    pub(super) const NETWORKPOLICY_POD_SELECTOR: &str = concat!(
        "Selects the pods to which this NetworkPolicy object applies.  The array of ingress rules is ",
        "applied to any pods selected by this field. Multiple network policies can select the same set of ",
        "pods.  In this case, the ingress rules for each are combined additively. This field is NOT ",
        "optional and follows standard label selector semantics. An empty podSelector matches all pods in ",
        "this namespace.",
    );
    pub(super) const ENDPOINTSLICE_ADDRESS_TYPE: &str = concat!(
        "addressType specifies the type of address carried by this EndpointSlice. All addresses in this ",
        "slice must be the same type. This field is immutable after creation. The following address types ",
        "are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. ",
        "* FQDN: Represents a Fully Qualified Domain Name.",
    );
    pub(super) const ENDPOINTSLICE_PORTS: &str = concat!(
        "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must ",
        "have a unique name. When ports is empty, it indicates that there are no defined ports. When a ",
        "port is defined with a nil port value, it indicates \"all ports\". Each slice may include a ",
        "maximum of 100 ports.",
    );
    pub(super) const ENDPOINTSLICE_ENDPOINTS: &str = concat!(
        "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 ",
        "endpoints.",
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::printers::tests::{check_headers, check_rows, meta};

    #[test]
    fn headers_match_kubectl() {
        check_headers(&[
            ("services", &["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"], &["Selector"]),
            ("endpointslices", &["Name", "AddressType", "Ports", "Endpoints", "Age"], &[]),
            ("networkpolicies", &["Name", "Pod-Selector", "Age"], &[]),
        ]);
    }

    #[test]
    fn service_rows() {
        check_rows(
            "services",
            &[
                (
                    "cluster IP",
                    json!({
                        "metadata": meta("web"),
                        "spec": {
                            "type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                            "ports": [{ "port": 80, "targetPort": 8080, "protocol": "TCP" }],
                            "selector": { "app": "web" },
                        },
                    }),
                    json!(["web", "ClusterIP", "10.96.0.10", "<none>", "80/TCP", "5m", "app=web"]),
                ),
                (
                    "node port, several ports",
                    json!({
                        "metadata": meta("web-np"),
                        "spec": {
                            "type": "NodePort", "clusterIPs": ["10.96.0.11"],
                            "ports": [
                                { "name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP" },
                                { "name": "dns", "port": 53, "nodePort": 30053, "protocol": "UDP" },
                            ],
                            "selector": { "app": "web", "tier": "front" },
                        },
                    }),
                    json!([
                        "web-np",
                        "NodePort",
                        "10.96.0.11",
                        "<none>",
                        "80:30080/TCP,53:30053/UDP",
                        "5m",
                        "app=web,tier=front"
                    ]),
                ),
                (
                    "defaults: type, protocol and clusterIPs",
                    json!({
                        "metadata": meta("plain"),
                        "spec": { "clusterIP": "10.96.0.12", "ports": [{ "port": 8080 }] },
                    }),
                    json!(["plain", "ClusterIP", "10.96.0.12", "<none>", "8080/TCP", "5m", "<none>"]),
                ),
                (
                    "headless with external IPs",
                    json!({
                        "metadata": meta("db"),
                        "spec": {
                            "clusterIP": "None",
                            "clusterIPs": ["None"],
                            "externalIPs": ["1.2.3.4", "5.6.7.8"],
                        },
                    }),
                    json!(["db", "ClusterIP", "None", "1.2.3.4,5.6.7.8", "<none>", "5m", "<none>"]),
                ),
                (
                    "external name",
                    json!({
                        "metadata": meta("ext"),
                        "spec": { "type": "ExternalName", "externalName": "db.example.com" },
                    }),
                    json!(["ext", "ExternalName", "<none>", "db.example.com", "<none>", "5m", "<none>"]),
                ),
            ],
        );
    }

    #[test]
    fn load_balancer_service_rows() {
        check_rows(
            "services",
            &[
                (
                    "load balancer pending",
                    json!({
                        "metadata": meta("lb"),
                        "spec": {
                            "type": "LoadBalancer",
                            "clusterIPs": ["10.96.0.13"],
                            "ports": [{ "port": 443, "nodePort": 31443 }],
                        },
                    }),
                    json!(["lb", "LoadBalancer", "10.96.0.13", "<pending>", "443:31443/TCP", "5m", "<none>"]),
                ),
                (
                    "load balancer with ingress, sorted, not clipped",
                    json!({
                        "metadata": meta("lb2"),
                        "spec": {
                            "type": "LoadBalancer",
                            "clusterIPs": ["10.96.0.14"],
                            "externalIPs": ["9.9.9.9"],
                        },
                        "status": { "loadBalancer": { "ingress": [
                            { "hostname": "lb.example.com" }, { "ip": "203.0.113.10" },
                        ] } },
                    }),
                    json!([
                        "lb2",
                        "LoadBalancer",
                        "10.96.0.14",
                        "203.0.113.10,lb.example.com,9.9.9.9",
                        "<none>",
                        "5m",
                        "<none>"
                    ]),
                ),
            ],
        );
    }

    #[test]
    fn endpointslice_rows() {
        check_rows(
            "endpointslices",
            &[
                (
                    "ports and addresses",
                    json!({
                        "metadata": meta("web-abc12"),
                        "addressType": "IPv4",
                        "ports": [
                            { "name": "http", "port": 8080, "protocol": "TCP" },
                            { "name": "metrics" },
                            {},
                        ],
                        "endpoints": [
                            { "addresses": ["10.0.0.1"] },
                            { "addresses": ["10.0.0.2", "10.0.0.3"] },
                            { "addresses": ["10.0.0.4"] },
                        ],
                    }),
                    json!([
                        "web-abc12",
                        "IPv4",
                        "8080,metrics,*",
                        "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...",
                        "5m"
                    ]),
                ),
                (
                    "empty",
                    json!({ "metadata": meta("empty"), "addressType": "IPv6" }),
                    json!(["empty", "IPv6", "<unset>", "<unset>", "5m"]),
                ),
            ],
        );
    }

    #[test]
    fn networkpolicy_rows() {
        check_rows(
            "networkpolicies",
            &[
                (
                    "selects pods",
                    json!({
                        "metadata": meta("deny"),
                        "spec": { "podSelector": { "matchLabels": { "app": "db" } } },
                    }),
                    json!(["deny", "app=db", "5m"]),
                ),
                (
                    "selects every pod",
                    json!({ "metadata": meta("all"), "spec": { "podSelector": {} } }),
                    json!(["all", "<none>", "5m"]),
                ),
            ],
        );
    }
}
