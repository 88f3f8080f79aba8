//! The routing table of a node's Service proxy, as kube-proxy computes it: from Services and their
//! EndpointSlices, which ports to listen on (node ports, and the ports of LoadBalancer Services) and where each
//! sends connections. Pure.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;

/// An endpoint: a pod's address and port, and the node that runs it (`None` for an address of a hand-written
/// EndpointSlice without `nodeName`, reached as it is).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Backend {
    /// Where the pod listens.
    pub addr: SocketAddr,
    /// The node that runs it.
    pub node: Option<Arc<str>>,
}

/// Where one frontend's connections go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `namespace/name:port-name`, for logs.
    pub service: String,
    /// Endpoints to balance over: the ready ones, or, when none is ready, those still serving while they
    /// terminate (as kube-proxy falls back to them).
    pub backends: Vec<Backend>,
    /// Whether the port speaks HTTP (named `http` or with an `http` app protocol): a connection with no backend
    /// then gets a 503 rather than being closed.
    pub http: bool,
    /// `sessionAffinity: ClientIP`: a client keeps its backend.
    pub client_affinity: bool,
}

/// Listening port to route.
pub type Table = BTreeMap<u16, Route>;

/// The routes of every NodePort and LoadBalancer Service port that has a node port.
pub fn routes<'a>(services: impl IntoIterator<Item = &'a Service>, slices: &[&EndpointSlice]) -> Table {
    let mut table = Table::new();
    for service in services {
        let Some(spec) = service.spec.as_ref() else { continue };
        if !matches!(spec.type_.as_deref(), Some("NodePort" | "LoadBalancer")) {
            continue;
        }
        let namespace = service.namespace().unwrap_or_default();
        let own: Vec<&EndpointSlice> = slices
            .iter()
            .copied()
            .filter(|s| {
                s.namespace().as_deref() == Some(namespace.as_str())
                    && s.labels().get("kubernetes.io/service-name") == service.metadata.name.as_ref()
            })
            .collect();
        let load_balancer =
            spec.type_.as_deref() == Some("LoadBalancer") && spec.load_balancer_class.is_none();
        for port in spec.ports.iter().flatten() {
            let name = port.name.clone().unwrap_or_default();
            if port.protocol.as_deref().unwrap_or("TCP") != "TCP" {
                continue;
            }
            let http = name == "http"
                || port.app_protocol.as_deref().is_some_and(|p| p == "http" || p == "kubernetes.io/http");
            let route = Route {
                service: format!("{namespace}/{}:{name}", service.name_any()),
                backends: backends(&own, &name),
                http,
                client_affinity: spec.session_affinity.as_deref() == Some("ClientIP"),
            };
            // A LoadBalancer also listens on its own port, as k3s' built-in load balancer does; the first Service
            // to claim a port keeps it.
            if load_balancer && let Ok(service_port) = u16::try_from(port.port) {
                table.entry(service_port).or_insert_with(|| route.clone());
            }
            if let Some(node_port) = port.node_port.and_then(|p| u16::try_from(p).ok()) {
                table.insert(node_port, route);
            }
        }
    }
    table
}

/// The endpoints of the slices' port called `port_name`.
pub(crate) fn backends(slices: &[&EndpointSlice], port_name: &str) -> Vec<Backend> {
    let mut ready = Vec::new();
    let mut serving = Vec::new();
    for slice in slices {
        let port = slice
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref().unwrap_or_default() == port_name)
            .and_then(|p| p.port)
            .and_then(|p| u16::try_from(p).ok());
        let Some(port) = port else { continue };
        for endpoint in slice.endpoints.iter().flatten() {
            let conditions = endpoint.conditions.clone().unwrap_or_default();
            let Some(ip) = endpoint.addresses.first().and_then(|a| a.parse().ok()) else { continue };
            let backend = Backend {
                addr: SocketAddr::new(ip, port),
                node: endpoint.node_name.as_deref().map(Arc::from),
            };
            // Unset `ready` means ready, as in Kubernetes.
            if conditions.ready != Some(false) {
                ready.push(backend);
            } else if conditions.serving == Some(true) {
                serving.push(backend);
            }
        }
    }
    let mut chosen = if ready.is_empty() { serving } else { ready };
    chosen.sort();
    chosen.dedup();
    chosen
}

/// The Services each pod is an endpoint of, by (namespace, pod name), from the slices' `targetRef`s.
pub type Memberships = HashMap<(String, String), Arc<[String]>>;

/// [`Memberships`] of `slices`.
pub fn memberships(slices: &[&EndpointSlice]) -> Memberships {
    let mut sets: HashMap<(String, String), BTreeSet<String>> = HashMap::new();
    for slice in slices {
        let Some(service) = slice.labels().get("kubernetes.io/service-name") else { continue };
        let namespace = slice.namespace().unwrap_or_default();
        for endpoint in slice.endpoints.iter().flatten() {
            let Some(target) = &endpoint.target_ref else { continue };
            if target.kind.as_deref() == Some("Pod")
                && let Some(pod) = &target.name
            {
                sets.entry((namespace.clone(), pod.clone())).or_default().insert(service.clone());
            }
        }
    }
    sets.into_iter().map(|(pod, services)| (pod, services.into_iter().collect())).collect()
}

/// Every endpoint of every port of `slice`, whatever its conditions.
pub(crate) fn all_backends(slice: &EndpointSlice) -> Vec<Backend> {
    let ports: Vec<u16> =
        slice.ports.iter().flatten().filter_map(|p| p.port.and_then(|p| u16::try_from(p).ok())).collect();
    let mut all = Vec::new();
    for endpoint in slice.endpoints.iter().flatten() {
        let Some(ip) = endpoint.addresses.first().and_then(|a| a.parse().ok()) else { continue };
        let node: Option<Arc<str>> = endpoint.node_name.as_deref().map(Arc::from);
        all.extend(ports.iter().map(|port| Backend { addr: SocketAddr::new(ip, *port), node: node.clone() }));
    }
    all
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn service(spec: Value) -> Service {
        serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "d"}, "spec": spec})).unwrap()
    }

    fn slice(endpoints: Value) -> EndpointSlice {
        serde_json::from_value(json!({
            "metadata": {"name": "web-1", "namespace": "d", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": 8080}], "endpoints": endpoints}))
        .unwrap()
    }

    #[test]
    fn node_ports_route_to_ready_endpoints_or_else_to_serving_ones() {
        let svc = service(json!({"type": "NodePort", "sessionAffinity": "ClientIP",
            "ports": [{"name": "http", "port": 80, "nodePort": 30080}]}));
        let endpoints = slice(json!([
            {"addresses": ["127.64.0.2"], "conditions": {"ready": true}, "nodeName": "node-a"},
            {"addresses": ["127.64.0.3"], "conditions": {"ready": false, "serving": true, "terminating": true}},
            {"addresses": ["127.64.0.4"]},
        ]));
        let table = routes([&svc], &[&endpoints]);
        let route = &table[&30080];
        let addrs: Vec<String> = route.backends.iter().map(|b| b.addr.to_string()).collect();
        assert_eq!(addrs, ["127.64.0.2:8080", "127.64.0.4:8080"]);
        assert_eq!(route.backends[0].node.as_deref(), Some("node-a"));
        assert!(route.http && route.client_affinity);

        let draining =
            slice(json!([{"addresses": ["127.64.0.3"], "conditions": {"ready": false, "serving": true}}]));
        assert_eq!(
            routes([&svc], &[&draining])[&30080].backends.len(),
            1,
            "terminating but serving, as a fallback"
        );
        let none =
            slice(json!([{"addresses": ["127.64.0.3"], "conditions": {"ready": false, "serving": false}}]));
        assert!(routes([&svc], &[&none])[&30080].backends.is_empty());
    }

    #[test]
    fn pods_belong_to_the_services_whose_slices_name_them() {
        let mut other =
            slice(json!([{"addresses": ["127.64.0.2"], "targetRef": {"kind": "Pod", "name": "a"}}]));
        other.metadata.labels = Some([("kubernetes.io/service-name".to_owned(), "all".to_owned())].into());
        let web = slice(json!([
            {"addresses": ["127.64.0.2"], "targetRef": {"kind": "Pod", "name": "a"}},
            {"addresses": ["10.0.0.9"]},
        ]));
        let members = memberships(&[&web, &other]);
        assert_eq!(members.len(), 1);
        assert_eq!(&*members[&("d".to_owned(), "a".to_owned())], ["all".to_owned(), "web".to_owned()]);
    }

    #[test]
    fn only_node_port_and_load_balancer_services_get_routes() {
        let cluster_ip = service(json!({"type": "ClusterIP", "ports": [{"port": 80}]}));
        let udp = service(
            json!({"type": "NodePort", "ports": [{"port": 53, "protocol": "UDP", "nodePort": 30053}]}),
        );
        assert!(routes([&cluster_ip, &udp], &[]).is_empty());
        let lb = service(
            json!({"type": "LoadBalancer", "ports": [{"name": "db", "port": 5432, "nodePort": 31000}]}),
        );
        let table = routes([&lb], &[]);
        assert!(!table[&31000].http);
    }
}
