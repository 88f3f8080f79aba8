//! Service discovery for guests: the names Kubernetes' DNS serves (`svc`, `svc.ns`, `svc.ns.svc`,
//! `svc.ns.svc.cluster.local`) and cluster IPs, answered from the agent's caches of Services and EndpointSlices.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::reflector::Store;

use api::netpol::{Denied, Direction};

use super::dial::Dialer;
use super::egress::{self, EGRESS_ASSIGNABLE_LABEL, EGRESS_IP_ANNOTATION, EgressAddresses};
use super::links::service_links;
use super::policy::{self, PodEntry, Policies};
use super::relay::{Relay, Upstream};
use super::table::{self, Backend, Memberships};
use crate::runtime::{Directory, Io, Lookup, Opening, Protocol, Refusal, Route, ServiceDirectory};

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
    pub(super) egress: EgressAddresses,
}

impl Resolver {
    /// The endpoint for `host:port` asked from a pod in `namespace`: `None` when `host` names no Service,
    /// `Some(Err)` when it names one with no ready endpoint for that port.
    pub fn endpoint(&self, namespace: &str, host: &str, port: u16) -> Option<Result<Backend, String>> {
        let service = self.find(namespace, host)?;
        let spec = service.spec.as_ref()?;
        // An ExternalName Service names a host outside the cluster, reached as that host.
        if spec.type_.as_deref() == Some("ExternalName") {
            return None;
        }
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

    /// Where the guest of the pod at `source` in `namespace` connecting to `host:port` over TCP is sent: to a
    /// Service's endpoint, to a pod of this node, or to a pod of another node through this agent's relay; anything
    /// else is outside the cluster. A connection the NetworkPolicies do not allow is refused.
    pub fn route(
        &self,
        namespace: &str,
        source: Option<Source<'_>>,
        host: &str,
        port: u16,
    ) -> Result<Route, String> {
        let backend = if let Some(backend) = self.endpoint(namespace, host, port) {
            backend?
        } else {
            let Ok(ip) = host.parse::<IpAddr>() else { return Ok(Route::Outside) };
            if !self.dialer.in_pod_range(ip) {
                return Ok(Route::Outside);
            }
            Backend { addr: SocketAddr::new(ip, port), node: self.dialer.owner(ip).map(Into::into) }
        };
        self.permit(source, backend.addr, Protocol::Tcp)?;
        if !self.dialer.tunnels(&backend) {
            return Ok(Route::Inside(backend.addr));
        }
        self.relay
            .address_for(&Upstream::Endpoint(backend.clone()))
            .map(Route::Inside)
            .map_err(|e| format!("cannot relay to {}: {e}", backend.addr))
    }

    /// Whether the pod at `source` in `namespace` may reach `destination` outside the cluster over `protocol`,
    /// and where a guest's socket connects for it: the destination, or the relay that leaves from the namespace's
    /// egress address. A protected network is reachable only from namespaces with an egress address, and only
    /// TCP leaves from one.
    pub fn outside(
        &self,
        namespace: &str,
        source: Option<Source<'_>>,
        destination: SocketAddr,
        protocol: Protocol,
    ) -> Result<SocketAddr, Refusal> {
        let address = self.egress.address_of(namespace).map_err(Refusal::Egress)?;
        if address.is_none()
            && let Some(network) = self.egress.protected(destination.ip())
        {
            return Err(Refusal::Egress(format!(
                "{destination} is in the protected network {network}, which only namespaces with an egress address \
                 ({EGRESS_IP_ANNOTATION}) may reach; namespace {namespace} has none"
            )));
        }
        self.permit(source, destination, protocol).map_err(Refusal::Policy)?;
        let Some(address) = address else { return Ok(destination) };
        if protocol == Protocol::Udp {
            return Err(Refusal::Egress(format!(
                "datagrams cannot leave namespace {namespace} from its egress address {address}; only TCP does"
            )));
        }
        if egress::holder(&self.dialer.nodes(), address).is_none() {
            return Err(Refusal::Egress(format!(
                "no Ready node labelled {EGRESS_ASSIGNABLE_LABEL} can hold {address}, the egress address of \
                 namespace {namespace}"
            )));
        }
        self.relay
            .address_for(&Upstream::Egress { source: address, destination })
            .map_err(|e| Refusal::Egress(format!("cannot relay to {destination}: {e}")))
    }

    /// Opens a connection from a pod of `namespace` to `destination` outside the cluster, from the namespace's
    /// egress address when it has one.
    pub fn open_outside(&self, namespace: &str, destination: SocketAddr) -> Opening {
        let (address, dialer) = (self.egress.address_of(namespace), self.dialer.clone());
        Box::pin(async move {
            match address {
                Ok(Some(source)) => dialer.open_egress(source, destination).await,
                Ok(None) => {
                    let stream = tokio::net::TcpStream::connect(destination).await?;
                    let _ = stream.set_nodelay(true);
                    Ok(Box::new(stream) as Box<dyn Io>)
                }
                Err(why) => Err(io::Error::new(io::ErrorKind::PermissionDenied, why)),
            }
        })
    }

    /// The labels of the namespace `name` as last seen, when the cache holds it.
    pub fn namespace_labels(&self, name: &str) -> Option<std::collections::BTreeMap<String, String>> {
        self.egress.namespace_labels(name)
    }

    /// Whether `ip` is a pod's or a Service's address.
    pub fn is_inside(&self, ip: IpAddr) -> bool {
        self.dialer.in_pod_range(ip) || self.find("", &ip.to_string()).is_some()
    }

    /// Whether the NetworkPolicies allow the pod at `source` to reach `destination`; a refusal is also told to
    /// the source's `OnDenied`.
    fn permit(
        &self,
        source: Option<Source<'_>>,
        destination: SocketAddr,
        protocol: Protocol,
    ) -> Result<(), String> {
        let Some(Source { ip, pod, denied }) = source else { return Ok(()) };
        self.policies.check((ip, Some(pod)), destination, protocol.as_str()).map_err(|refusal| {
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

    /// The directory of `pod` (with its address in its status); `denied` hears of every connection its
    /// NetworkPolicies refuse.
    pub fn directory(&self, pod: &Pod, denied: OnDenied) -> Directory {
        let own = policy::entry(pod);
        Arc::new(PodDirectory {
            resolver: self.clone(),
            namespace: pod.metadata.namespace.clone().unwrap_or_else(|| "default".into()),
            source: own.map(|(ip, own)| (ip, Arc::new(own))),
            denied,
        })
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

/// A pod as the source of a connection: its address, what policies look at in it, and who hears of refusals.
pub struct Source<'a> {
    ip: IpAddr,
    pod: &'a PodEntry,
    denied: &'a OnDenied,
}

/// The cluster as one pod sees it.
struct PodDirectory {
    resolver: Resolver,
    namespace: String,
    /// The pod's address and what policies look at in it, as it started: its first connections may come before
    /// the agent's pod cache knows it.
    source: Option<(IpAddr, Arc<PodEntry>)>,
    denied: OnDenied,
}

impl PodDirectory {
    /// The pod as the source of a connection, when it has an address.
    fn source(&self) -> Option<Source<'_>> {
        self.source.as_ref().map(|(ip, pod)| Source { ip: *ip, pod, denied: &self.denied })
    }
}

impl ServiceDirectory for PodDirectory {
    fn pod_ip(&self) -> Option<IpAddr> {
        self.source.as_ref().map(|(ip, _)| *ip)
    }

    fn route(&self, host: &str, port: u16) -> Result<Route, String> {
        self.resolver.route(&self.namespace, self.source(), host, port)
    }

    fn permit(&self, destination: SocketAddr, protocol: Protocol) -> Result<(), String> {
        self.resolver.permit(self.source(), destination, protocol)
    }

    fn is_inside(&self, ip: IpAddr) -> bool {
        self.resolver.is_inside(ip)
    }

    fn outside(&self, destination: SocketAddr, protocol: Protocol) -> Result<SocketAddr, Refusal> {
        self.resolver.outside(&self.namespace, self.source(), destination, protocol)
    }

    fn open_outside(&self, destination: SocketAddr) -> Opening {
        self.resolver.open_outside(&self.namespace, destination)
    }

    fn lookup(&self, name: &str) -> Option<Lookup> {
        self.resolver.lookup(&self.namespace, name)
    }
}
