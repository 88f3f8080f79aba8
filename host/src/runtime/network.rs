//! Everything a pod's guests may reach, judged in one place for every path out of the sandbox: `wasi:http`
//! requests, `wasi:sockets` connects, datagrams and name lookups.
//!
//! Destinations inside the cluster (Services, pods) are routed by the pod's [`Directory`] and judged by the
//! NetworkPolicies. Destinations outside need an entry of the pod's allow-list ([`AllowedHosts`]) and then the
//! policies' consent for every address: names are resolved by the host, never by the guest, and
//! - a `wasi:http` request goes to an address the host resolved and checked itself, so a name cannot change its
//!   answer between the check and the connection (DNS rebinding);
//! - a `wasi:sockets` guest may look up only names its allow-list gives to sockets, and may connect only to an
//!   address it was allowed by number or that a lookup of an allowed name answered, on that entry's port.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use api::egress::{AllowedHosts, Scheme};

use super::directory::{Directory, Lookup, Protocol, Route};

/// How many looked-up addresses a pod remembers; a pod that looks up more starts afresh.
const LEARNED_LIMIT: usize = 4096;

/// What the pod's owner is told of each destination its allow-list refuses: a sentence.
pub type OnRefused = Arc<dyn Fn(&str) + Send + Sync>;

/// Why a guest's connection, datagram or lookup was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A Service without a ready endpoint, or the NetworkPolicies.
    Cluster(String),
    /// Outside the cluster and not on the pod's allow-list.
    NotAllowed(String),
    /// On the allow-list, but the policies allow none of its addresses.
    Policy(String),
    /// Outside the cluster, but the namespace's egress rules forbid it: a protected network without an egress
    /// address, or an egress address no node can hold.
    Egress(String),
    /// The name has no address.
    Unresolvable(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (Self::Cluster(why)
        | Self::NotAllowed(why)
        | Self::Policy(why)
        | Self::Egress(why)
        | Self::Unresolvable(why)) = self;
        f.write_str(why)
    }
}

/// What a name lookup of a `wasi:sockets` guest asks the resolver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolve {
    /// An address, answered as it is.
    Address(IpAddr),
    /// A name outside the cluster, which the pod may reach: its answers are remembered as this name's.
    Outside(Arc<str>),
}

/// Where a `wasi:http` request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dial {
    /// Inside the cluster: this address.
    Inside(SocketAddr),
    /// Outside: these addresses, each resolved and checked by the host, to be tried in order.
    Outside(Vec<SocketAddr>),
}

/// A pod's network: its directory, its allow-list and the addresses its guests' lookups answered.
pub struct PodNetwork {
    directory: Directory,
    allowed: AllowedHosts,
    /// Addresses that lookups of allowed names answered, with the name.
    learned: Mutex<HashMap<IpAddr, Arc<str>>>,
    refused: OnRefused,
}

impl PodNetwork {
    /// The network of a pod with `directory` and `allowed`; `refused` hears of every allow-list refusal.
    pub fn new(directory: Directory, allowed: AllowedHosts, refused: OnRefused) -> Self {
        Self { directory, allowed, learned: Mutex::default(), refused }
    }

    /// The pod's own address.
    pub fn pod_ip(&self) -> Option<IpAddr> {
        self.directory.pod_ip()
    }

    /// What a guest's lookup of `name` resolves: a Service's address, or a name outside the cluster the pod may
    /// reach over sockets.
    pub fn lookup(&self, name: &str) -> Result<Resolve, Refusal> {
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Ok(Resolve::Address(ip));
        }
        let outside = match self.directory.lookup(name) {
            Some(Lookup::Address(ip)) => return Ok(Resolve::Address(ip)),
            Some(Lookup::Unresolvable) => {
                return Err(Refusal::Unresolvable(format!("Service {name} has no ready endpoint")));
            }
            Some(Lookup::Alias(external)) => external,
            None => name.to_owned(),
        };
        if let Ok(ip) = outside.parse::<IpAddr>() {
            return Ok(Resolve::Address(ip));
        }
        if self.allowed.allows_lookup(&outside) {
            return Ok(Resolve::Outside(outside.into()));
        }
        Err(self.not_allowed(format!("{outside} is not in the pod's allowed hosts for sockets")))
    }

    /// Remembers that a lookup of `name` answered `ip` (never an address no name may lead to).
    pub fn learn(&self, name: &Arc<str>, ip: IpAddr) {
        if unroutable(ip) {
            return;
        }
        let mut learned = self.learned.lock().unwrap_or_else(PoisonError::into_inner);
        if learned.len() >= LEARNED_LIMIT && !learned.contains_key(&ip) {
            learned.clear();
        }
        learned.insert(ip, name.clone());
    }

    /// Where a guest's TCP connection to `remote` goes.
    pub fn connect(&self, remote: SocketAddr) -> Result<SocketAddr, Refusal> {
        match self.directory.route(&remote.ip().to_string(), remote.port()).map_err(Refusal::Cluster)? {
            Route::Inside(target) => Ok(target),
            Route::Outside => {
                self.outside_address(Scheme::Tcp, remote)?;
                self.directory.outside(remote, Protocol::Tcp).map_err(|r| self.reported(r))
            }
        }
    }

    /// Whether a guest may send datagrams to `remote`.
    pub fn send_datagram(&self, remote: SocketAddr) -> Result<(), Refusal> {
        if self.directory.is_inside(remote.ip()) {
            return self.directory.permit(remote, Protocol::Udp).map_err(Refusal::Policy);
        }
        self.outside_address(Scheme::Udp, remote)?;
        self.directory.outside(remote, Protocol::Udp).map(|_| ()).map_err(|r| self.reported(r))
    }

    /// Opens a connection to `destination`, an address [`Self::dial`] gave outside the cluster.
    pub fn open_outside(&self, destination: SocketAddr) -> super::directory::Opening {
        self.directory.open_outside(destination)
    }

    /// Where a `wasi:http` request for `scheme://host:port` goes: routed inside the cluster, or resolved by the
    /// host and checked address by address outside it.
    pub async fn dial(&self, scheme: Scheme, host: &str, port: u16) -> Result<Dial, Refusal> {
        let outside = match self.directory.route(host, port).map_err(Refusal::Cluster)? {
            Route::Inside(target) => return Ok(Dial::Inside(target)),
            Route::Outside => match self.directory.lookup(host) {
                Some(Lookup::Alias(external)) => external,
                _ => host.to_owned(),
            },
        };
        if !self.allowed.allows(scheme, &outside, port) {
            return Err(
                self.not_allowed(format!("{scheme}://{outside}:{port} is not in the pod's allowed hosts"))
            );
        }
        let resolved: Vec<SocketAddr> = match outside.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((outside.as_str(), port))
                .await
                .map_err(|e| Refusal::Unresolvable(format!("cannot resolve {outside}: {e}")))?
                .collect(),
        };
        self.checked(&outside, resolved)
    }

    /// Where a request to `name`, which resolved to `resolved`, goes: the addresses the policies allow, or the
    /// cluster's route when an answer is a cluster address; a refusal when there is none.
    fn checked(&self, name: &str, resolved: Vec<SocketAddr>) -> Result<Dial, Refusal> {
        let mut refusal = Refusal::Unresolvable(format!("{name} has no address"));
        let mut allowed = Vec::with_capacity(resolved.len());
        for address in resolved {
            if unroutable(address.ip()) {
                refusal = self
                    .not_allowed(format!("{name} resolves to {}, which no name may lead to", address.ip()));
                continue;
            }
            // An allowed name whose answer is a cluster address is judged, and routed, as the cluster's.
            if self.directory.is_inside(address.ip()) {
                match self.directory.route(&address.ip().to_string(), address.port()) {
                    Ok(Route::Inside(target)) => return Ok(Dial::Inside(target)),
                    Ok(Route::Outside) => {}
                    Err(why) => {
                        refusal = Refusal::Policy(why);
                        continue;
                    }
                }
            }
            match self.directory.outside(address, Protocol::Tcp) {
                Ok(_) => allowed.push(address),
                Err(why) => refusal = why,
            }
        }
        if allowed.is_empty() { Err(self.reported(refusal)) } else { Ok(Dial::Outside(allowed)) }
    }

    /// `refusal`, told to the pod's owner when it is the namespace's egress rules' (the policies' are told by the
    /// directory).
    fn reported(&self, refusal: Refusal) -> Refusal {
        if let Refusal::Egress(why) = &refusal {
            (self.refused)(why);
        }
        refusal
    }

    /// Whether the allow-list lets a guest reach an address outside the cluster it found itself: by number, or
    /// as the answer of a lookup of an allowed name.
    fn outside_address(&self, scheme: Scheme, remote: SocketAddr) -> Result<(), Refusal> {
        if self.allowed.allows_address(scheme, remote.ip(), remote.port()) {
            return Ok(());
        }
        let name = self.learned.lock().unwrap_or_else(PoisonError::into_inner).get(&remote.ip()).cloned();
        match name {
            Some(name) if self.allowed.allows(scheme, &name, remote.port()) => Ok(()),
            Some(name) => Err(self.not_allowed(format!(
                "{scheme}://{name}:{} ({remote}) is not in the pod's allowed hosts",
                remote.port()
            ))),
            None => Err(self.not_allowed(format!("{scheme}://{remote} is not in the pod's allowed hosts"))),
        }
    }

    fn not_allowed(&self, why: String) -> Refusal {
        (self.refused)(&why);
        Refusal::NotAllowed(why)
    }
}

/// Addresses a name outside the cluster may not lead a guest to (an entry may still name them by number):
/// unspecified, link-local (cloud metadata services live there) and multicast.
fn unroutable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_unspecified() || v4.is_link_local() || v4.is_multicast() || v4.is_broadcast(),
        IpAddr::V6(v6) => v6.is_unspecified() || v6.is_unicast_link_local() || v6.is_multicast(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::super::directory::ServiceDirectory;
    use super::*;

    /// A cluster of pods in 10.0.0.0/24 with a Service `db` at 10.96.0.10:5432 and an `ExternalName` Service
    /// `ext` for 192.0.2.7, whose policies refuse 192.0.2.66 and anything on port 25.
    struct Cluster;

    impl ServiceDirectory for Cluster {
        fn pod_ip(&self) -> Option<IpAddr> {
            "10.0.0.2".parse().ok()
        }
        fn route(&self, host: &str, port: u16) -> Result<Route, String> {
            match (host, port) {
                ("db" | "10.96.0.10", 5432) => Ok(Route::Inside("10.0.0.9:5432".parse().unwrap())),
                ("db" | "10.96.0.10", _) => Err("Service default/db has no such port".into()),
                _ if host.parse::<IpAddr>().is_ok_and(|ip| self.is_inside(ip)) => {
                    Ok(Route::Inside(SocketAddr::new(host.parse().unwrap(), port)))
                }
                _ => Ok(Route::Outside),
            }
        }
        fn permit(&self, destination: SocketAddr, _: Protocol) -> Result<(), String> {
            if destination.ip().to_string() == "192.0.2.66" || destination.port() == 25 {
                return Err(format!("NetworkPolicy default/out allows no egress to {destination}"));
            }
            Ok(())
        }
        fn outside(&self, destination: SocketAddr, protocol: Protocol) -> Result<SocketAddr, Refusal> {
            self.permit(destination, protocol).map_err(Refusal::Policy)?;
            Ok(destination)
        }
        fn open_outside(&self, destination: SocketAddr) -> super::super::directory::Opening {
            Box::pin(async move {
                let stream = tokio::net::TcpStream::connect(destination).await?;
                Ok(Box::new(stream) as Box<dyn super::super::directory::Io>)
            })
        }
        fn is_inside(&self, ip: IpAddr) -> bool {
            ip.to_string().starts_with("10.")
        }
        fn lookup(&self, name: &str) -> Option<Lookup> {
            match name {
                "db" => Some(Lookup::Address("10.96.0.10".parse().unwrap())),
                "ext" => Some(Lookup::Alias("192.0.2.7".into())),
                _ => None,
            }
        }
    }

    fn network(allowed: &str) -> (PodNetwork, Arc<AtomicUsize>) {
        let refusals = Arc::new(AtomicUsize::new(0));
        let counted = refusals.clone();
        let refused: OnRefused = Arc::new(move |_| {
            counted.fetch_add(1, Ordering::Relaxed);
        });
        (PodNetwork::new(Arc::new(Cluster), AllowedHosts::parse(allowed).unwrap(), refused), refusals)
    }

    fn at(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_cluster_needs_no_entry_and_the_outside_needs_one() {
        let (net, refusals) = network("tcp://192.0.2.0/24:5432");
        assert_eq!(net.connect(at("10.96.0.10:5432")), Ok(at("10.0.0.9:5432")), "a Service");
        assert_eq!(net.connect(at("10.0.0.3:8080")), Ok(at("10.0.0.3:8080")), "a pod");
        assert!(matches!(net.connect(at("10.96.0.10:80")), Err(Refusal::Cluster(_))));
        assert_eq!(net.connect(at("192.0.2.7:5432")), Ok(at("192.0.2.7:5432")), "allowed by number");
        assert!(matches!(net.connect(at("192.0.2.7:5433")), Err(Refusal::NotAllowed(_))), "another port");
        assert!(matches!(net.connect(at("127.0.0.1:6443")), Err(Refusal::NotAllowed(_))), "the node");
        assert!(
            matches!(net.connect(at("192.0.2.66:5432")), Err(Refusal::Policy(_))),
            "allowed, but not by policy"
        );
        assert_eq!(refusals.load(Ordering::Relaxed), 2, "allow-list refusals are reported");
        assert!(net.send_datagram(at("10.0.0.3:53")).is_ok(), "datagrams inside the cluster");
        assert!(
            matches!(net.send_datagram(at("192.0.2.7:5432")), Err(Refusal::NotAllowed(_))),
            "tcp entry, udp"
        );
    }

    #[test]
    fn sockets_reach_looked_up_addresses_only_through_allowed_names() {
        let (net, _) = network("tcp://db.example.com:5432 udp://*.dns.example:53");
        assert_eq!(net.lookup("db"), Ok(Resolve::Address("10.96.0.10".parse().unwrap())));
        assert_eq!(
            net.lookup("ext"),
            Ok(Resolve::Address("192.0.2.7".parse().unwrap())),
            "an alias's address"
        );
        assert_eq!(net.lookup("db.example.com"), Ok(Resolve::Outside("db.example.com".into())));
        assert!(matches!(net.lookup("evil.example.com"), Err(Refusal::NotAllowed(_))));
        // Before the lookup answered it, the database's address is no one's.
        assert!(net.connect(at("192.0.2.8:5432")).is_err());
        net.learn(&"db.example.com".into(), "192.0.2.8".parse().unwrap());
        assert_eq!(net.connect(at("192.0.2.8:5432")), Ok(at("192.0.2.8:5432")));
        assert!(net.connect(at("192.0.2.8:22")).is_err(), "only the entry's port");
        assert!(net.send_datagram(at("192.0.2.8:53")).is_err(), "nor another scheme's entry");
        // A name never leads to a link-local address (a metadata service).
        net.learn(&"db.example.com".into(), "169.254.169.254".parse().unwrap());
        assert!(net.connect(at("169.254.169.254:5432")).is_err());
        // A rebound answer is judged again by the policies.
        net.learn(&"db.example.com".into(), "192.0.2.66".parse().unwrap());
        assert!(matches!(net.connect(at("192.0.2.66:5432")), Err(Refusal::Policy(_))));
    }

    #[tokio::test]
    async fn requests_go_to_checked_addresses_of_allowed_authorities() {
        let (net, _) =
            network("http://192.0.2.7 https://192.0.2.66 http://192.0.2.7:25 http://localhost:8080");
        assert_eq!(net.dial(Scheme::Http, "db", 5432).await, Ok(Dial::Inside(at("10.0.0.9:5432"))));
        // An ExternalName Service's target is what the allow-list must name.
        assert_eq!(net.dial(Scheme::Http, "ext", 80).await, Ok(Dial::Outside(vec![at("192.0.2.7:80")])));
        assert!(matches!(net.dial(Scheme::Https, "ext", 443).await, Err(Refusal::NotAllowed(_))), "scheme");
        assert!(matches!(net.dial(Scheme::Https, "192.0.2.66", 443).await, Err(Refusal::Policy(_))));
        assert!(matches!(net.dial(Scheme::Http, "192.0.2.7", 25).await, Err(Refusal::Policy(_))));
        let Ok(Dial::Outside(local)) = net.dial(Scheme::Http, "localhost", 8080).await else {
            panic!("localhost resolves");
        };
        assert!(local.iter().all(|a| a.ip().is_loopback() && a.port() == 8080), "{local:?}");
    }
}
