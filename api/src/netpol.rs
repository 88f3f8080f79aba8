//! NetworkPolicy (networking.k8s.io/v1) semantics, pure: whether a connection between two endpoints is allowed
//! by the cluster's policies, as Kubernetes defines it.
//!
//! - A pod selected by no policy of a direction (one whose `policyTypes` includes it) is open in that direction.
//! - Policies are additive: a connection is allowed in a direction when any rule of any policy selecting the pod
//!   for that direction matches it; there are no deny rules.
//! - A connection must be allowed both as the source's egress and as the destination's ingress. An endpoint that
//!   is not a pod (an address outside the cluster) has no policies of its own.
//! - `policyTypes` defaults to `Ingress`, plus `Egress` when the policy has egress rules.
//! - A peer with `podSelector` alone selects pods of the policy's namespace; with `namespaceSelector` alone, every
//!   pod of the namespaces it selects; with both, the pods it selects in those namespaces; `ipBlock` selects
//!   addresses (with `except`), pods included.
//! - A port is a number (with `endPort`, a range) or the name of a container port of the destination pod; the
//!   protocol defaults to TCP; a rule without ports matches every port, one without peers every peer.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use k8s_openapi::api::core::v1::ContainerPort;
use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::selector::LabelSelector;

/// One end of a connection.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    /// Its address.
    pub ip: IpAddr,
    /// The pod at that address, when it is one.
    pub pod: Option<PodInfo<'a>>,
}

/// What policies look at in a pod.
#[derive(Debug, Clone, Copy)]
pub struct PodInfo<'a> {
    /// Its namespace.
    pub namespace: &'a str,
    /// Its labels.
    pub labels: &'a BTreeMap<String, String>,
    /// Its namespace's labels.
    pub namespace_labels: &'a BTreeMap<String, String>,
    /// Its containers' ports (for named ports).
    pub ports: &'a [ContainerPort],
}

/// The connection's destination port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port<'a> {
    /// The port number.
    pub number: u16,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: &'a str,
}

/// The direction a policy restricts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Connections a pod accepts.
    Ingress,
    /// Connections a pod opens.
    Egress,
}

/// Why a connection is refused: the direction, and the policies that selected the pod without allowing it
/// (`namespace/name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// Which side refused it.
    pub direction: Direction,
    /// The policies that isolate that side.
    pub policies: Vec<String>,
}

/// A NetworkPolicy as checks read it: its selectors and CIDRs parsed once, when it changes, not per connection.
/// A selector or CIDR that does not parse matches nothing (validation refuses those).
#[derive(Debug, Clone)]
pub struct Compiled {
    /// `namespace/name`.
    name: String,
    namespace: String,
    pod_selector: LabelSelector,
    restricts_ingress: bool,
    restricts_egress: bool,
    ingress: Vec<Rule>,
    egress: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Rule {
    /// Empty: every peer.
    peers: Vec<Peer>,
    /// Empty: every port.
    ports: Vec<NetworkPolicyPort>,
}

#[derive(Debug, Clone)]
enum Peer {
    Block {
        cidr: IpNet,
        except: Vec<IpNet>,
    },
    /// Pods of the namespaces `namespaces` selects (the policy's own without it) that `pods` selects (all without
    /// it).
    Pods {
        namespaces: Option<LabelSelector>,
        pods: Option<LabelSelector>,
    },
    Nothing,
}

impl Compiled {
    /// Parses `policy`.
    pub fn new(policy: &NetworkPolicy) -> Self {
        let namespace = policy.metadata.namespace.clone().unwrap_or_default();
        let name = format!("{namespace}/{}", policy.metadata.name.as_deref().unwrap_or_default());
        let spec = policy.spec.clone().unwrap_or_default();
        // `podSelector` is required; `{}` selects every pod.
        let pod_selector = spec.pod_selector.as_ref().map_or_else(LabelSelector::everything, parse_selector);
        let (restricts_ingress, restricts_egress) = match &spec.policy_types {
            Some(types) => (types.iter().any(|t| t == "Ingress"), types.iter().any(|t| t == "Egress")),
            None => (true, spec.egress.as_ref().is_some_and(|rules| !rules.is_empty())),
        };
        let ingress =
            spec.ingress.iter().flatten().map(|r| Rule::new(r.from.as_deref(), r.ports.as_deref())).collect();
        let egress =
            spec.egress.iter().flatten().map(|r| Rule::new(r.to.as_deref(), r.ports.as_deref())).collect();
        Self { name, namespace, pod_selector, restricts_ingress, restricts_egress, ingress, egress }
    }

    /// Whether the policy applies to `pod` in `direction`.
    fn isolates(&self, pod: &PodInfo<'_>, direction: Direction) -> bool {
        let restricts = match direction {
            Direction::Ingress => self.restricts_ingress,
            Direction::Egress => self.restricts_egress,
        };
        restricts && self.namespace == pod.namespace && self.pod_selector.matches(pod.labels)
    }
}

impl Rule {
    fn new(peers: Option<&[NetworkPolicyPeer]>, ports: Option<&[NetworkPolicyPort]>) -> Self {
        Self {
            peers: peers.into_iter().flatten().map(Peer::new).collect(),
            ports: ports.map(<[NetworkPolicyPort]>::to_vec).unwrap_or_default(),
        }
    }

    fn matches(
        &self,
        namespace: &str,
        peer: &Endpoint<'_>,
        destination: Option<&PodInfo<'_>>,
        port: Port<'_>,
    ) -> bool {
        (self.peers.is_empty() || self.peers.iter().any(|p| p.matches(namespace, peer)))
            && ports_match(&self.ports, destination, port)
    }
}

impl Peer {
    fn new(peer: &NetworkPolicyPeer) -> Self {
        if let Some(block) = &peer.ip_block {
            let Ok(cidr) = block.cidr.parse::<IpNet>() else { return Self::Nothing };
            let except = block.except.iter().flatten().filter_map(|e| e.parse().ok()).collect();
            return Self::Block { cidr, except };
        }
        if peer.namespace_selector.is_none() && peer.pod_selector.is_none() {
            return Self::Nothing;
        }
        Self::Pods {
            namespaces: peer.namespace_selector.as_ref().map(parse_selector),
            pods: peer.pod_selector.as_ref().map(parse_selector),
        }
    }

    /// Whether `endpoint` is this peer, for a policy in `namespace`.
    fn matches(&self, namespace: &str, endpoint: &Endpoint<'_>) -> bool {
        match self {
            Self::Block { cidr, except } => {
                cidr.contains(&endpoint.ip) && !except.iter().any(|e| e.contains(&endpoint.ip))
            }
            Self::Pods { namespaces, pods } => endpoint.pod.is_some_and(|pod| {
                let in_namespace = match namespaces {
                    None => pod.namespace == namespace,
                    Some(selector) => selector.matches(pod.namespace_labels),
                };
                in_namespace && pods.as_ref().is_none_or(|s| s.matches(pod.labels))
            }),
            Self::Nothing => false,
        }
    }
}

fn parse_selector(selector: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector) -> LabelSelector {
    LabelSelector::from_k8s(selector).unwrap_or_else(|_| LabelSelector::nothing())
}

/// Whether `policies` (all of the cluster's) allow a connection from `source` to `destination` at `port`.
pub fn allowed(
    policies: &[Compiled],
    source: &Endpoint<'_>,
    destination: &Endpoint<'_>,
    port: Port<'_>,
) -> Result<(), Denied> {
    if let Some(pod) = source.pod {
        judge(policies, &pod, Direction::Egress, |policy| {
            policy
                .egress
                .iter()
                .any(|rule| rule.matches(&policy.namespace, destination, destination.pod.as_ref(), port))
        })?;
    }
    if let Some(pod) = destination.pod {
        judge(policies, &pod, Direction::Ingress, |policy| {
            policy.ingress.iter().any(|rule| rule.matches(&policy.namespace, source, Some(&pod), port))
        })?;
    }
    Ok(())
}

/// The verdict of the policies isolating `pod` in `direction`: allowed when none does or one of them has a rule
/// for which `matches` holds.
fn judge(
    policies: &[Compiled],
    pod: &PodInfo<'_>,
    direction: Direction,
    matches: impl Fn(&Compiled) -> bool,
) -> Result<(), Denied> {
    let mut isolating = policies.iter().filter(|p| p.isolates(pod, direction)).peekable();
    if isolating.peek().is_none() {
        return Ok(());
    }
    let mut names = Vec::new();
    for policy in isolating {
        if matches(policy) {
            return Ok(());
        }
        names.push(policy.name.clone());
    }
    Err(Denied { direction, policies: names })
}

/// Whether a rule's ports (absent or empty: every port) include `port`; named ports resolve against the
/// destination pod's container ports.
fn ports_match(ports: &[NetworkPolicyPort], destination: Option<&PodInfo<'_>>, port: Port<'_>) -> bool {
    if ports.is_empty() {
        return true;
    }
    ports.iter().any(|rule| {
        if rule.protocol.as_deref().unwrap_or("TCP") != port.protocol {
            return false;
        }
        match &rule.port {
            None => true,
            Some(IntOrString::Int(first)) => {
                let last = rule.end_port.unwrap_or(*first);
                (*first..=last).contains(&i32::from(port.number))
            }
            Some(IntOrString::String(name)) => destination.is_some_and(|pod| {
                pod.ports.iter().any(|p| {
                    p.name.as_deref() == Some(name.as_str())
                        && p.container_port == i32::from(port.number)
                        && p.protocol.as_deref().unwrap_or("TCP") == port.protocol
                })
            }),
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// [`allowed`] over policies compiled for the call.
    fn check(
        policies: &[&NetworkPolicy],
        source: &Endpoint<'_>,
        destination: &Endpoint<'_>,
        port: Port<'_>,
    ) -> Result<(), Denied> {
        let compiled: Vec<Compiled> = policies.iter().map(|p| Compiled::new(p)).collect();
        allowed(&compiled, source, destination, port)
    }

    fn policy(namespace: &str, name: &str, spec: Value) -> NetworkPolicy {
        serde_json::from_value(json!({"metadata": {"name": name, "namespace": namespace}, "spec": spec}))
            .unwrap()
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    struct Pod {
        ip: IpAddr,
        namespace: &'static str,
        labels: BTreeMap<String, String>,
        namespace_labels: BTreeMap<String, String>,
        ports: Vec<ContainerPort>,
    }

    impl Pod {
        fn new(ip: &str, namespace: &'static str, app: &str, team: &str) -> Self {
            let ports = vec![serde_json::from_value(json!({"name": "http", "containerPort": 8080})).unwrap()];
            Self {
                ip: ip.parse().unwrap(),
                namespace,
                labels: labels(&[("app", app)]),
                namespace_labels: labels(&[("team", team), ("kubernetes.io/metadata.name", namespace)]),
                ports,
            }
        }

        fn endpoint(&self) -> Endpoint<'_> {
            Endpoint {
                ip: self.ip,
                pod: Some(PodInfo {
                    namespace: self.namespace,
                    labels: &self.labels,
                    namespace_labels: &self.namespace_labels,
                    ports: &self.ports,
                }),
            }
        }
    }

    fn outside(ip: &str) -> Endpoint<'static> {
        Endpoint { ip: ip.parse().unwrap(), pod: None }
    }

    const TCP: &str = "TCP";

    fn at(number: u16) -> Port<'static> {
        Port { number, protocol: TCP }
    }

    #[test]
    fn without_policies_everything_is_open() {
        let (web, db) =
            (Pod::new("127.64.0.2", "shop", "web", "a"), Pod::new("127.64.0.3", "shop", "db", "a"));
        assert_eq!(check(&[], &web.endpoint(), &db.endpoint(), at(5432)), Ok(()));
    }

    #[test]
    fn ingress_rules_select_peers_by_pod_namespace_or_both() {
        let db = Pod::new("127.64.0.3", "shop", "db", "a");
        let web = Pod::new("127.64.0.2", "shop", "web", "a");
        let stranger = Pod::new("127.64.0.4", "shop", "other", "a");
        let ops_web = Pod::new("127.64.1.2", "ops", "web", "b");
        let ops_other = Pod::new("127.64.1.3", "ops", "other", "b");
        let by_pod = policy(
            "shop",
            "db-from-web",
            json!({"podSelector": {"matchLabels": {"app": "db"}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]}),
        );
        let policies = [&by_pod];
        assert_eq!(check(&policies, &web.endpoint(), &db.endpoint(), at(5432)), Ok(()));
        let denied = check(&policies, &stranger.endpoint(), &db.endpoint(), at(5432)).unwrap_err();
        assert_eq!(
            denied,
            Denied { direction: Direction::Ingress, policies: vec!["shop/db-from-web".into()] }
        );
        // A pod selector alone means the policy's own namespace.
        assert!(check(&policies, &ops_web.endpoint(), &db.endpoint(), at(5432)).is_err());
        // Pods the policy does not select stay open.
        assert_eq!(check(&policies, &stranger.endpoint(), &web.endpoint(), at(8080)), Ok(()));

        let by_namespace = policy(
            "shop",
            "db-from-team-b",
            json!({"podSelector": {"matchLabels": {"app": "db"}},
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "b"}}}]}]}),
        );
        assert_eq!(check(&[&by_namespace], &ops_other.endpoint(), &db.endpoint(), at(5432)), Ok(()));
        assert!(check(&[&by_namespace], &web.endpoint(), &db.endpoint(), at(5432)).is_err());

        let both = policy(
            "shop",
            "db-from-team-b-web",
            json!({"podSelector": {"matchLabels": {"app": "db"}},
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "b"}},
                                   "podSelector": {"matchLabels": {"app": "web"}}}]}]}),
        );
        assert_eq!(check(&[&both], &ops_web.endpoint(), &db.endpoint(), at(5432)), Ok(()));
        assert!(check(&[&both], &ops_other.endpoint(), &db.endpoint(), at(5432)).is_err());
        // Policies add up: either one lets the connection in.
        assert_eq!(check(&[&by_pod, &by_namespace], &web.endpoint(), &db.endpoint(), at(5432)), Ok(()));
        assert_eq!(check(&[&by_pod, &by_namespace], &ops_other.endpoint(), &db.endpoint(), at(5432)), Ok(()));
    }

    #[test]
    fn ports_are_numbers_ranges_or_names_of_the_destination() {
        let db = Pod::new("127.64.0.3", "shop", "db", "a");
        let web = Pod::new("127.64.0.2", "shop", "web", "a");
        let ranged = policy(
            "shop",
            "ranged",
            json!({"podSelector": {}, "ingress": [{"ports": [
            {"port": 5432}, {"port": 9000, "endPort": 9010}, {"port": "http"}, {"protocol": "UDP", "port": 53}]}]}),
        );
        let policies = [&ranged];
        for open in [5432, 9000, 9005, 9010, 8080] {
            assert_eq!(check(&policies, &web.endpoint(), &db.endpoint(), at(open)), Ok(()), "{open}");
        }
        for closed in [5433, 8999, 9011, 53] {
            assert!(check(&policies, &web.endpoint(), &db.endpoint(), at(closed)).is_err(), "{closed}");
        }
        assert_eq!(
            check(&policies, &web.endpoint(), &db.endpoint(), Port { number: 53, protocol: "UDP" }),
            Ok(())
        );
        // A named port needs a pod that names it.
        let named = policy(
            "shop",
            "named",
            json!({"podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"ports": [{"port": "http"}]}]}),
        );
        assert_eq!(check(&[&named], &web.endpoint(), &db.endpoint(), at(8080)), Ok(()));
        assert!(check(&[&named], &web.endpoint(), &outside("192.0.2.1"), at(8080)).is_err());
    }

    #[test]
    fn egress_and_ip_blocks_with_exceptions() {
        let web = Pod::new("127.64.0.2", "shop", "web", "a");
        let db = Pod::new("127.64.0.3", "shop", "db", "a");
        let egress = policy(
            "shop",
            "web-out",
            json!({"podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]},
                       {"to": [{"podSelector": {"matchLabels": {"app": "db"}}}], "ports": [{"port": 5432}]}]}),
        );
        let policies = [&egress];
        assert_eq!(check(&policies, &web.endpoint(), &outside("10.2.3.4"), at(443)), Ok(()));
        let denied = check(&policies, &web.endpoint(), &outside("10.1.2.3"), at(443)).unwrap_err();
        assert_eq!(denied.direction, Direction::Egress);
        assert!(check(&policies, &web.endpoint(), &outside("192.0.2.1"), at(443)).is_err());
        assert_eq!(check(&policies, &web.endpoint(), &db.endpoint(), at(5432)), Ok(()));
        assert!(check(&policies, &web.endpoint(), &db.endpoint(), at(5433)).is_err());
        // An Ingress-only policy (the default type) does not restrict egress.
        let ingress_only = policy("shop", "deny-in", json!({"podSelector": {}}));
        assert_eq!(check(&[&ingress_only], &web.endpoint(), &outside("192.0.2.1"), at(443)), Ok(()));
        assert!(check(&[&ingress_only], &outside("192.0.2.1"), &web.endpoint(), at(8080)).is_err());
        // Egress rules make a policy restrict egress without policyTypes.
        let implied = policy(
            "shop",
            "implied",
            json!({"podSelector": {},
            "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]}),
        );
        assert!(check(&[&implied], &web.endpoint(), &outside("192.0.2.1"), at(443)).is_err());
    }

    #[test]
    fn both_ends_must_allow() {
        let web = Pod::new("127.64.0.2", "shop", "web", "a");
        let db = Pod::new("127.64.0.3", "shop", "db", "a");
        let web_out = policy(
            "shop",
            "web-out",
            json!({"podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Egress"], "egress": [{}]}),
        );
        let db_in = policy(
            "shop",
            "db-in",
            json!({"podSelector": {"matchLabels": {"app": "db"}},
            "policyTypes": ["Ingress"]}),
        );
        let denied = check(&[&web_out, &db_in], &web.endpoint(), &db.endpoint(), at(5432)).unwrap_err();
        assert_eq!(denied, Denied { direction: Direction::Ingress, policies: vec!["shop/db-in".into()] });
        // An empty egress rule allows everything; a policy with no ingress rules allows nothing in.
        assert_eq!(check(&[&web_out], &web.endpoint(), &db.endpoint(), at(5432)), Ok(()));
    }
}
