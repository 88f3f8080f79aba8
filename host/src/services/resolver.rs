//! Service discovery for guests: the names Kubernetes' DNS serves (`svc`, `svc.ns`, `svc.ns.svc`,
//! `svc.ns.svc.cluster.local`) and cluster IPs, answered from the agent's caches of Services and EndpointSlices.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::reflector::Store;

use api::netpol::{Denied, Direction};

use super::dial::Dialer;
use super::links::service_links;
use super::policy::Policies;
use super::relay::Relay;
use super::table::{self, Backend, Memberships};
use crate::runtime::{Directory, Lookup, ServiceDirectory};

/// Finds the endpoint a guest's connection to a Service should reach. Cheap to clone.
#[derive(Clone)]
pub struct Resolver {
    pub(super) services: Store<Service>,
    pub(super) slices: Store<EndpointSlice>,
    pub(super) turn: Arc<AtomicUsize>,
    pub(super) dialer: Arc<Dialer>,
    pub(super) relay: Arc<Relay>,
    pub(super) memberships: Arc<RwLock<Memberships>>,
    pub(super) policies: Policies,
}

impl Resolver {
    /// The endpoint for `host:port` asked from a pod in `namespace`: `None` when `host` names no Service,
    /// `Some(Err)` when it names one with no ready endpoint for that port.
    pub fn endpoint(&self, namespace: &str, host: &str, port: u16) -> Option<Result<Backend, String>> {
        let service = self.find(namespace, host)?;
        let spec = service.spec.as_ref()?;
        let (service_namespace, name) = names(&service);
        let Some(service_port) = spec
            .ports
            .iter()
            .flatten()
            .find(|p| p.port == i32::from(port) && p.protocol.as_deref().unwrap_or("TCP") == "TCP")
        else {
            return Some(Err(format!("Service {service_namespace}/{name} has no port {port}")));
        };
        let backends = self.backends(&service, service_port.name.as_deref().unwrap_or_default());
        if backends.is_empty() {
            return Some(Err(format!("Service {service_namespace}/{name} has no ready endpoint")));
        }
        Some(Ok(backends[self.turn.fetch_add(1, Ordering::Relaxed) % backends.len()].clone()))
    }

    /// Where the guest of the pod at `source` in `namespace` connecting to `host:port` is sent: to a Service's
    /// endpoint, or to a pod of another node through this agent's relay; `None` for anything else. A connection
    /// the NetworkPolicies do not allow is refused.
    pub fn route(
        &self,
        namespace: &str,
        source: Option<(IpAddr, &OnDenied)>,
        host: &str,
        port: u16,
    ) -> Option<Result<SocketAddr, String>> {
        let (backend, routed) = match self.endpoint(namespace, host, port) {
            Some(Ok(backend)) => (backend, true),
            Some(Err(why)) => return Some(Err(why)),
            None => {
                let ip: IpAddr = host.parse().ok()?;
                let node: Option<Arc<str>> = self.dialer.owner(ip).map(Into::into);
                let routed = node.is_some();
                (Backend { addr: SocketAddr::new(ip, port), node }, routed)
            }
        };
        if let Err(why) = self.permit(source, backend.addr) {
            return Some(Err(why));
        }
        // Anything but a Service or another node's pod is connected to as asked.
        if !routed {
            return None;
        }
        if !self.dialer.tunnels(&backend) {
            return Some(Ok(backend.addr));
        }
        Some(self.relay.address_for(&backend).map_err(|e| format!("cannot relay to {}: {e}", backend.addr)))
    }

    /// Whether the NetworkPolicies allow the pod at `source` to connect to `destination`; a refusal is also told
    /// to the source's `OnDenied`.
    fn permit(&self, source: Option<(IpAddr, &OnDenied)>, destination: SocketAddr) -> Result<(), String> {
        let Some((source, denied)) = source else { return Ok(()) };
        self.policies.check(source, destination).map_err(|refusal| {
            let why = describe(&refusal, destination);
            denied(&refusal, &why);
            why
        })
    }

    /// What a lookup of `name` from `namespace` answers, when it is a Service's name.
    pub fn lookup(&self, namespace: &str, name: &str) -> Option<Lookup> {
        if name.parse::<IpAddr>().is_ok() {
            return None;
        }
        let service = self.find(namespace, name)?;
        let spec = service.spec.as_ref()?;
        if spec.type_.as_deref() == Some("ExternalName") {
            return spec.external_name.clone().map(Lookup::Alias);
        }
        match spec.cluster_ip.as_deref() {
            Some("None") => {
                // Headless: a ready endpoint's own address, a different one each time.
                let port =
                    spec.ports.iter().flatten().next().and_then(|p| p.name.as_deref()).unwrap_or_default();
                let backends = self.backends(&service, port);
                if backends.is_empty() {
                    return Some(Lookup::Unresolvable);
                }
                let backend = &backends[self.turn.fetch_add(1, Ordering::Relaxed) % backends.len()];
                Some(Lookup::Address(backend.addr.ip()))
            }
            Some(ip) => ip.parse().ok().map(Lookup::Address),
            None => Some(Lookup::Unresolvable),
        }
    }

    /// The Services (in its namespace) whose endpoints include the pod `namespace/pod`.
    pub fn services_of(&self, namespace: &str, pod: &str) -> Arc<[String]> {
        let memberships = self.memberships.read().unwrap_or_else(PoisonError::into_inner);
        memberships.get(&(namespace.to_owned(), pod.to_owned())).cloned().unwrap_or_else(|| Arc::from([]))
    }

    /// The directory of the pod at `pod_ip` in `namespace`; `denied` hears of every connection its
    /// NetworkPolicies refuse.
    pub fn directory(&self, namespace: &str, pod_ip: Option<IpAddr>, denied: OnDenied) -> Directory {
        Arc::new(PodDirectory { resolver: self.clone(), namespace: namespace.to_owned(), pod_ip, denied })
    }

    /// Whether the cache holds the Service `namespace/name`.
    pub fn knows(&self, namespace: &str, name: &str) -> bool {
        self.find(namespace, &format!("{name}.{namespace}")).is_some()
    }

    /// The Service environment variables of a container in `namespace`.
    pub fn links(&self, namespace: &str) -> Vec<(String, String)> {
        let services = self.services.state();
        service_links(
            services.iter().map(AsRef::as_ref).filter(|s| s.metadata.namespace.as_deref() == Some(namespace)),
        )
    }

    /// The endpoints of `service`'s port `port_name` (for a headless Service without ports, `""`).
    fn backends(&self, service: &Service, port_name: &str) -> Vec<Backend> {
        let (namespace, name) = names(service);
        let slices = self.slices.state();
        let own: Vec<&EndpointSlice> = slices
            .iter()
            .map(AsRef::as_ref)
            .filter(|s| {
                s.metadata.namespace.as_deref() == Some(namespace)
                    && s.metadata.labels.as_ref().and_then(|l| l.get("kubernetes.io/service-name"))
                        == Some(&name.to_owned())
            })
            .collect();
        table::backends(&own, port_name)
    }

    fn find(&self, namespace: &str, host: &str) -> Option<Arc<Service>> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            let ip = ip.to_string();
            return self
                .services
                .find(|s| s.spec.as_ref().and_then(|spec| spec.cluster_ip.as_deref()) == Some(ip.as_str()));
        }
        let host = host.trim_end_matches('.');
        let labels: Vec<&str> = host.split('.').collect();
        let (name, in_namespace) = match labels.as_slice() {
            [name] => (*name, namespace),
            [name, ns] | [name, ns, "svc"] | [name, ns, "svc", "cluster", "local"] => (*name, *ns),
            _ => return None,
        };
        self.services.find(|s| {
            s.metadata.name.as_deref() == Some(name) && s.metadata.namespace.as_deref() == Some(in_namespace)
        })
    }
}

/// What a pod's owner is told about each connection its NetworkPolicies refuse: the refusal and a sentence.
pub type OnDenied = Arc<dyn Fn(&Denied, &str) + Send + Sync>;

/// A refusal as a sentence, for the guest's pod events.
pub fn describe(refusal: &Denied, destination: SocketAddr) -> String {
    let side = match refusal.direction {
        Direction::Ingress => "ingress to",
        Direction::Egress => "egress to",
    };
    format!("NetworkPolicy {} allows no {side} {destination}", refusal.policies.join(", "))
}

fn names(service: &Service) -> (&str, &str) {
    (
        service.metadata.namespace.as_deref().unwrap_or_default(),
        service.metadata.name.as_deref().unwrap_or_default(),
    )
}

/// The cluster as one pod sees it.
struct PodDirectory {
    resolver: Resolver,
    namespace: String,
    pod_ip: Option<IpAddr>,
    denied: OnDenied,
}

impl ServiceDirectory for PodDirectory {
    fn pod_ip(&self) -> Option<IpAddr> {
        self.pod_ip
    }

    fn route(&self, host: &str, port: u16) -> Option<Result<SocketAddr, String>> {
        self.resolver.route(&self.namespace, self.pod_ip.map(|ip| (ip, &self.denied)), host, port)
    }

    fn lookup(&self, name: &str) -> Option<Lookup> {
        self.resolver.lookup(&self.namespace, name)
    }
}
