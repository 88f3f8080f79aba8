//! A pod's egress allow-list: the destinations outside the cluster its guests may reach, from the pod annotation
//! [`ALLOWED_HOSTS_ANNOTATION`]. Destinations inside the cluster (Services, pods) are NetworkPolicies' business and
//! need no entry.
//!
//! The annotation is a list of `scheme://host[:port]` entries separated by commas or whitespace:
//! - scheme: `http` and `https` for outgoing `wasi:http` requests, `tcp` and `udp` for `wasi:sockets`, `*` for all;
//! - host: a DNS name (matched whole, without case), `*.example.com` (any name below `example.com`), an IP address
//!   (`[...]` for IPv6), a CIDR (`10.0.0.0/8`) or `*`;
//! - port: a number or `*`; optional for `http` (80) and `https` (443), required otherwise.
//!
//! Matching is strict: a request to `https://api.example.com` matches neither `http://api.example.com` nor
//! `https://api.example.com:8443` nor `https://example.com`.

/// The namespace and name of the ConfigMap of cluster egress settings, which every node reads.
pub const EGRESS_CONFIG: (&str, &str) = ("kube-system", "wharf-egress");

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// The pod annotation holding the allow-list.
pub const ALLOWED_HOSTS_ANNOTATION: &str = "wharf.dev/allowed-hosts";

/// How a guest reaches a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// A `wasi:http` request over plain HTTP.
    Http,
    /// A `wasi:http` request over TLS.
    Https,
    /// A `wasi:sockets` TCP connection.
    Tcp,
    /// `wasi:sockets` UDP datagrams.
    Udp,
}

impl Scheme {
    /// Its name in an entry.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which hosts an entry names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Hosts {
    Any,
    /// One name, lower case, without a trailing dot.
    Name(String),
    /// Names ending in this suffix (with its leading dot), lower case.
    Below(String),
    Network(IpNet),
}

/// One entry of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// `None` for `*`.
    scheme: Option<Scheme>,
    hosts: Hosts,
    /// `None` for `*`.
    port: Option<u16>,
}

impl Entry {
    fn matches_scheme(&self, scheme: Scheme) -> bool {
        self.scheme.is_none_or(|own| own == scheme)
    }

    fn matches_port(&self, port: u16) -> bool {
        self.port.is_none_or(|own| own == port)
    }

    fn matches_name(&self, name: &str) -> bool {
        let name = normalise(name);
        match &self.hosts {
            Hosts::Any => true,
            Hosts::Name(own) => *own == name,
            Hosts::Below(suffix) => name.len() > suffix.len() && name.ends_with(suffix.as_str()),
            Hosts::Network(net) => name.parse::<IpAddr>().is_ok_and(|ip| net.contains(&ip)),
        }
    }

    fn matches_address(&self, ip: IpAddr) -> bool {
        match &self.hosts {
            Hosts::Any => true,
            Hosts::Network(net) => net.contains(&ip),
            Hosts::Name(_) | Hosts::Below(_) => false,
        }
    }

    /// Whether the entry names hosts by name (so their addresses are known only after a lookup).
    fn by_name(&self) -> bool {
        matches!(self.hosts, Hosts::Name(_) | Hosts::Below(_))
    }
}

impl FromStr for Entry {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("{text:?}: {why}");
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| bad("expected scheme://host[:port], e.g. https://example.com"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "*" => None,
            "http" => Some(Scheme::Http),
            "https" => Some(Scheme::Https),
            "tcp" => Some(Scheme::Tcp),
            "udp" => Some(Scheme::Udp),
            _ => return Err(bad("the scheme must be http, https, tcp, udp or *")),
        };
        let (host, port) = split_port(rest).ok_or_else(|| bad("the host is missing"))?;
        let path = |part: &str| part.contains(['/', '?', '#', '@']) && part.parse::<IpNet>().is_err();
        if path(host) || port.is_some_and(path) {
            return Err(bad("an entry names a host and a port, not a path or user"));
        }
        let port = match (port, scheme) {
            (Some("*"), _) => None,
            (Some(number), _) => {
                Some(number.parse::<u16>().map_err(|_| bad("the port must be a number up to 65535 or *"))?)
            }
            (None, Some(Scheme::Http)) => Some(80),
            (None, Some(Scheme::Https)) => Some(443),
            (None, _) => return Err(bad("a port (or *) is needed for this scheme")),
        };
        let hosts = parse_hosts(host)
            .ok_or_else(|| bad("the host must be a DNS name, *.name, an IP address, a CIDR or *"))?;
        Ok(Self { scheme, hosts, port })
    }
}

/// `host[:port]`, an IPv6 host (or network) in brackets.
fn split_port(text: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = match text.strip_prefix('[') {
        Some(inner) => {
            let (host, after) = inner.split_once(']')?;
            (host, if after.is_empty() { None } else { Some(after.strip_prefix(':')?) })
        }
        None => match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        },
    };
    (!host.is_empty()).then_some((host, port))
}

fn parse_hosts(host: &str) -> Option<Hosts> {
    if host == "*" {
        return Some(Hosts::Any);
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(Hosts::Network(IpNet::from(ip)));
    }
    if let Ok(net) = host.parse::<IpNet>() {
        return Some(Hosts::Network(net.trunc()));
    }
    let name = normalise(host);
    if let Some(parent) = name.strip_prefix("*.") {
        return is_dns_name(parent).then(|| Hosts::Below(format!(".{parent}")));
    }
    is_dns_name(&name).then_some(Hosts::Name(name))
}

fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// A pod's allow-list; empty (nothing outside the cluster) without the annotation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    entries: Vec<Entry>,
}

impl AllowedHosts {
    /// The list in an annotation's value.
    pub fn parse(text: &str) -> Result<Self, String> {
        let entries = text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    /// The list of a pod with these annotations.
    pub fn of(annotations: Option<&std::collections::BTreeMap<String, String>>) -> Result<Self, String> {
        match annotations.and_then(|a| a.get(ALLOWED_HOSTS_ANNOTATION)) {
            Some(text) => {
                Self::parse(text).map_err(|e| format!("annotation {ALLOWED_HOSTS_ANNOTATION}: {e}"))
            }
            None => Ok(Self::default()),
        }
    }

    /// Whether nothing outside the cluster is allowed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `scheme://host:port` is allowed, `host` being the name (or address) the guest dialled.
    pub fn allows(&self, scheme: Scheme, host: &str, port: u16) -> bool {
        self.entries.iter().any(|e| e.matches_scheme(scheme) && e.matches_port(port) && e.matches_name(host))
    }

    /// Whether an address the guest found by itself is allowed by an entry naming it (or its network).
    pub fn allows_address(&self, scheme: Scheme, ip: IpAddr, port: u16) -> bool {
        self.entries.iter().any(|e| e.matches_scheme(scheme) && e.matches_port(port) && e.matches_address(ip))
    }

    /// Whether a `wasi:sockets` guest may look `name` up: an entry for sockets names it.
    pub fn allows_lookup(&self, name: &str) -> bool {
        self.entries.iter().any(|e| {
            (e.matches_scheme(Scheme::Tcp) || e.matches_scheme(Scheme::Udp))
                && e.by_name()
                && e.matches_name(name)
                || e.hosts == Hosts::Any
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> AllowedHosts {
        AllowedHosts::parse(text).unwrap()
    }

    #[test]
    fn matching_is_strict_in_scheme_host_and_port() {
        let hosts = list("https://api.example.com, http://plain.example.com:8080");
        assert!(hosts.allows(Scheme::Https, "api.example.com", 443));
        assert!(
            hosts.allows(Scheme::Https, "API.Example.com.", 443),
            "names match without case or the root dot"
        );
        assert!(!hosts.allows(Scheme::Http, "api.example.com", 443), "another scheme");
        assert!(!hosts.allows(Scheme::Https, "api.example.com", 8443), "another port");
        assert!(!hosts.allows(Scheme::Https, "example.com", 443), "a parent");
        assert!(!hosts.allows(Scheme::Https, "evil.api.example.com", 443), "a child");
        assert!(!hosts.allows(Scheme::Https, "api.example.com.evil.net", 443), "a longer name");
        assert!(hosts.allows(Scheme::Http, "plain.example.com", 8080));
        assert!(!hosts.allows(Scheme::Http, "plain.example.com", 80));
        assert!(!hosts.allows(Scheme::Tcp, "api.example.com", 443), "sockets need their own entry");
    }

    #[test]
    fn wildcards_addresses_and_networks() {
        let hosts = list(
            "https://*.example.com:*\ntcp://10.1.0.0/16:5432 udp://[fd00::1]:53 tcp://[fd00:1::/64]:22 *://*:7000",
        );
        assert!(hosts.allows(Scheme::Https, "a.example.com", 8443));
        assert!(hosts.allows(Scheme::Https, "a.b.example.com", 443));
        assert!(!hosts.allows(Scheme::Https, "example.com", 443), "*. needs a label before the name");
        assert!(hosts.allows(Scheme::Tcp, "10.1.2.3", 5432));
        assert!(hosts.allows_address(Scheme::Tcp, "10.1.2.3".parse().unwrap(), 5432));
        assert!(!hosts.allows_address(Scheme::Tcp, "10.2.0.1".parse().unwrap(), 5432));
        assert!(hosts.allows_address(Scheme::Udp, "fd00::1".parse().unwrap(), 53));
        assert!(!hosts.allows_address(Scheme::Tcp, "fd00::1".parse().unwrap(), 53));
        assert!(hosts.allows_address(Scheme::Tcp, "fd00:1::9".parse().unwrap(), 22));
        assert!(hosts.allows(Scheme::Udp, "anything.net", 7000));
        assert!(hosts.allows_address(Scheme::Tcp, "192.0.2.1".parse().unwrap(), 7000));
        assert!(!hosts.allows_address(Scheme::Https, "192.0.2.1".parse().unwrap(), 443));
    }

    #[test]
    fn names_resolve_only_when_an_entry_for_sockets_names_them() {
        let hosts = list("https://web.example.com tcp://db.example.com:5432");
        assert!(hosts.allows_lookup("db.example.com"));
        assert!(!hosts.allows_lookup("web.example.com"), "wasi:http requests are resolved by the host");
        assert!(!hosts.allows_lookup("other.example.com"));
        assert!(!AllowedHosts::default().allows_lookup("db.example.com"));
        // An address found by looking up an allowed name is not allowed by the name's entry alone.
        assert!(!hosts.allows_address(Scheme::Tcp, "192.0.2.1".parse().unwrap(), 5432));
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        for (text, expected) in [
            ("example.com", "expected scheme://host[:port]"),
            ("ftp://example.com:21", "the scheme must be"),
            ("tcp://db.example.com", "a port (or *) is needed"),
            ("https://example.com:99999", "the port must be a number"),
            ("https://example.com/path", "not a path or user"),
            ("https://user@example.com", "not a path or user"),
            ("https://exa mple.com", "expected scheme://host"),
            ("https://-bad-.com", "the host must be"),
            ("https://:443", "the host is missing"),
        ] {
            let error = AllowedHosts::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
        assert_eq!(list(" , ").entries.len(), 0);
    }
}
