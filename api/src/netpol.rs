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

/// Whether `policies` (all of the cluster's) allow a connection from `source` to `destination` at `port`.
pub fn allowed(
    policies: &[&NetworkPolicy],
    source: &Endpoint<'_>,
    destination: &Endpoint<'_>,
    port: Port<'_>,
) -> Result<(), Denied> {
    if let Some(pod) = source.pod {
        judge(policies, &pod, Direction::Egress, |rules| egress_matches(rules, destination, port))?;
    }
    if let Some(pod) = destination.pod {
        judge(policies, &pod, Direction::Ingress, |rules| ingress_matches(rules, source, &pod, port))?;
    }
    Ok(())
}

/// The verdict of the policies isolating `pod` in `direction`: allowed when none does or one of them has a rule
/// for which `matches` holds.
fn judge(
    policies: &[&NetworkPolicy],
    pod: &PodInfo<'_>,
    direction: Direction,
    matches: impl Fn(&NetworkPolicy) -> bool,
) -> Result<(), Denied> {
    let isolating: Vec<&NetworkPolicy> =
        policies.iter().copied().filter(|p| selects(p, pod) && restricts(p, direction)).collect();
    if isolating.is_empty() || isolating.iter().any(|p| matches(p)) {
        return Ok(());
    }
    let policies = isolating
        .iter()
        .map(|p| {
            format!(
                "{}/{}",
                p.metadata.namespace.as_deref().unwrap_or_default(),
                p.metadata.name.as_deref().unwrap_or_default()
            )
        })
        .collect();
    Err(Denied { direction, policies })
}

/// Whether the policy applies to `pod`: same namespace, and its `podSelector` (required; `{}` is every pod)
/// selects it.
fn selects(policy: &NetworkPolicy, pod: &PodInfo<'_>) -> bool {
    if policy.metadata.namespace.as_deref() != Some(pod.namespace) {
        return false;
    }
    let selector = policy.spec.as_ref().and_then(|s| s.pod_selector.as_ref());
    selector_matches(selector, pod.labels, true)
}

fn restricts(policy: &NetworkPolicy, direction: Direction) -> bool {
    let Some(spec) = &policy.spec else { return direction == Direction::Ingress };
    match &spec.policy_types {
        Some(types) => types.iter().any(|t| {
            t == match direction {
                Direction::Ingress => "Ingress",
                Direction::Egress => "Egress",
            }
        }),
        None => match direction {
            Direction::Ingress => true,
            Direction::Egress => spec.egress.as_ref().is_some_and(|rules| !rules.is_empty()),
        },
    }
}

fn ingress_matches(
    policy: &NetworkPolicy,
    source: &Endpoint<'_>,
    destination: &PodInfo<'_>,
    port: Port<'_>,
) -> bool {
    let namespace = policy.metadata.namespace.as_deref().unwrap_or_default();
    let rules = policy.spec.as_ref().and_then(|s| s.ingress.as_ref());
    rules.iter().flat_map(|r| r.iter()).any(|rule| {
        peers_match(rule.from.as_deref(), namespace, source)
            && ports_match(rule.ports.as_deref(), Some(destination), port)
    })
}

fn egress_matches(policy: &NetworkPolicy, destination: &Endpoint<'_>, port: Port<'_>) -> bool {
    let namespace = policy.metadata.namespace.as_deref().unwrap_or_default();
    let rules = policy.spec.as_ref().and_then(|s| s.egress.as_ref());
    rules.iter().flat_map(|r| r.iter()).any(|rule| {
        peers_match(rule.to.as_deref(), namespace, destination)
            && ports_match(rule.ports.as_deref(), destination.pod.as_ref(), port)
    })
}

/// Whether a rule's peers (absent or empty: everyone) include `endpoint`, for a policy in `namespace`.
fn peers_match(peers: Option<&[NetworkPolicyPeer]>, namespace: &str, endpoint: &Endpoint<'_>) -> bool {
    let Some(peers) = peers.filter(|p| !p.is_empty()) else { return true };
    peers.iter().any(|peer| peer_matches(peer, namespace, endpoint))
}

fn peer_matches(peer: &NetworkPolicyPeer, namespace: &str, endpoint: &Endpoint<'_>) -> bool {
    if let Some(block) = &peer.ip_block {
        let Ok(cidr) = block.cidr.parse::<IpNet>() else { return false };
        let excepted = block
            .except
            .iter()
            .flatten()
            .filter_map(|e| e.parse::<IpNet>().ok())
            .any(|e| e.contains(&endpoint.ip));
        return cidr.contains(&endpoint.ip) && !excepted;
    }
    let Some(pod) = endpoint.pod else { return false };
    match (&peer.namespace_selector, &peer.pod_selector) {
        (None, None) => false,
        (None, Some(pods)) => pod.namespace == namespace && selector_matches(Some(pods), pod.labels, false),
        (Some(namespaces), pods) => {
            selector_matches(Some(namespaces), pod.namespace_labels, false)
                && pods.as_ref().is_none_or(|s| selector_matches(Some(s), pod.labels, false))
        }
    }
}

/// Whether a selector matches `labels`; a selector that does not parse matches nothing (validation refuses those).
fn selector_matches(
    selector: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
    labels: &BTreeMap<String, String>,
    absent_is_everything: bool,
) -> bool {
    match selector {
        None => absent_is_everything,
        Some(selector) => LabelSelector::from_k8s(selector).is_ok_and(|s| s.matches(labels)),
    }
}

/// Whether a rule's ports (absent or empty: every port) include `port`; named ports resolve against the
/// destination pod's container ports.
fn ports_match(
    ports: Option<&[NetworkPolicyPort]>,
    destination: Option<&PodInfo<'_>>,
    port: Port<'_>,
) -> bool {
    let Some(ports) = ports.filter(|p| !p.is_empty()) else { return true };
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
        assert_eq!(allowed(&[], &web.endpoint(), &db.endpoint(), at(5432)), Ok(()));
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
        assert_eq!(allowed(&policies, &web.endpoint(), &db.endpoint(), at(5432)), Ok(()));
        let denied = allowed(&policies, &stranger.endpoint(), &db.endpoint(), at(5432)).unwrap_err();
        assert_eq!(
            denied,
            Denied { direction: Direction::Ingress, policies: vec!["shop/db-from-web".into()] }
        );
        // A pod selector alone means the policy's own namespace.
        assert!(allowed(&policies, &ops_web.endpoint(), &db.endpoint(), at(5432)).is_err());
        // Pods the policy does not select stay open.
        assert_eq!(allowed(&policies, &stranger.endpoint(), &web.endpoint(), at(8080)), Ok(()));

        let by_namespace = policy(
            "shop",
            "db-from-team-b",
            json!({"podSelector": {"matchLabels": {"app": "db"}},
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "b"}}}]}]}),
        );
        assert_eq!(allowed(&[&by_namespace], &ops_other.endpoint(), &db.endpoint(), at(5432)), Ok(()));
        assert!(allowed(&[&by_namespace], &web.endpoint(), &db.endpoint(), at(5432)).is_err());

        let both = policy(
            "shop",
            "db-from-team-b-web",
            json!({"podSelector": {"matchLabels": {"app": "db"}},
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "b"}},
                                   "podSelector": {"matchLabels": {"app": "web"}}}]}]}),
        );
        assert_eq!(allowed(&[&both], &ops_web.endpoint(), &db.endpoint(), at(5432)), Ok(()));
        assert!(allowed(&[&both], &ops_other.endpoint(), &db.endpoint(), at(5432)).is_err());
        // Policies add up: either one lets the connection in.
        assert_eq!(allowed(&[&by_pod, &by_namespace], &web.endpoint(), &db.endpoint(), at(5432)), Ok(()));
        assert_eq!(
            allowed(&[&by_pod, &by_namespace], &ops_other.endpoint(), &db.endpoint(), at(5432)),
            Ok(())
        );
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
            assert_eq!(allowed(&policies, &web.endpoint(), &db.endpoint(), at(open)), Ok(()), "{open}");
        }
        for closed in [5433, 8999, 9011, 53] {
            assert!(allowed(&policies, &web.endpoint(), &db.endpoint(), at(closed)).is_err(), "{closed}");
        }
        assert_eq!(
            allowed(&policies, &web.endpoint(), &db.endpoint(), Port { number: 53, protocol: "UDP" }),
            Ok(())
        );
        // A named port needs a pod that names it.
        let named = policy(
            "shop",
            "named",
            json!({"podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"ports": [{"port": "http"}]}]}),
        );
        assert_eq!(allowed(&[&named], &web.endpoint(), &db.endpoint(), at(8080)), Ok(()));
        assert!(allowed(&[&named], &web.endpoint(), &outside("192.0.2.1"), at(8080)).is_err());
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
        assert_eq!(allowed(&policies, &web.endpoint(), &outside("10.2.3.4"), at(443)), Ok(()));
        let denied = allowed(&policies, &web.endpoint(), &outside("10.1.2.3"), at(443)).unwrap_err();
        assert_eq!(denied.direction, Direction::Egress);
        assert!(allowed(&policies, &web.endpoint(), &outside("192.0.2.1"), at(443)).is_err());
        assert_eq!(allowed(&policies, &web.endpoint(), &db.endpoint(), at(5432)), Ok(()));
        assert!(allowed(&policies, &web.endpoint(), &db.endpoint(), at(5433)).is_err());
        // An Ingress-only policy (the default type) does not restrict egress.
        let ingress_only = policy("shop", "deny-in", json!({"podSelector": {}}));
        assert_eq!(allowed(&[&ingress_only], &web.endpoint(), &outside("192.0.2.1"), at(443)), Ok(()));
        assert!(allowed(&[&ingress_only], &outside("192.0.2.1"), &web.endpoint(), at(8080)).is_err());
        // Egress rules make a policy restrict egress without policyTypes.
        let implied = policy(
            "shop",
            "implied",
            json!({"podSelector": {},
            "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]}),
        );
        assert!(allowed(&[&implied], &web.endpoint(), &outside("192.0.2.1"), at(443)).is_err());
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
        let denied = allowed(&[&web_out, &db_in], &web.endpoint(), &db.endpoint(), at(5432)).unwrap_err();
        assert_eq!(denied, Denied { direction: Direction::Ingress, policies: vec!["shop/db-in".into()] });
        // An empty egress rule allows everything; a policy with no ingress rules allows nothing in.
        assert_eq!(allowed(&[&web_out], &web.endpoint(), &db.endpoint(), at(5432)), Ok(()));
    }
}
