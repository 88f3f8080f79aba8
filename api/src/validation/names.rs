//! Syntax of names, keys and values (DNS labels, label keys, config keys, ports, IPs), with Kubernetes'
//! messages.
//!
//! Each `is_*` function returns the list of problems (empty when valid) as Kubernetes words them, so callers
//! wrap each message into a [`FieldError`] for their field. Lengths are in bytes, as in Go.

use std::net::IpAddr;

use super::{FieldError, FieldPath};

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \
                                 '-', and must start and end with an alphanumeric character";
const DNS1123_LABEL_MAX: usize = 63;
const DNS1123_SUBDOMAIN_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric \
                                     characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_MAX: usize = 253;
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start \
                                 with an alphabetic character, and end with an alphanumeric character";
const LABEL_KEY_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_KEY_MAX: usize = 63;
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', \
                               '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_MAX: usize = 63;
const CONFIG_KEY_FMT: &str = "[-._a-zA-Z0-9]+";
const CONFIG_KEY_MSG: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";
const ENV_VAR_FMT: &str = "[-._a-zA-Z][-._a-zA-Z0-9]*";
const ENV_VAR_MSG: &str = "a valid environment variable name must consist of alphabetic characters, digits, '_', \
                           '-', or '.', and must not start with a digit";
const RELAXED_ENV_VAR_MSG: &str =
    "a valid environment variable name must consist only of printable ASCII characters other than '='";
const PERCENT_FMT: &str = "[0-9]+%";
const PERCENT_MSG: &str = "a valid percent string must be a numeric string followed by an ending '%'";
const HTTP_HEADER_FMT: &str = "[-A-Za-z0-9]+";
const HTTP_HEADER_MSG: &str = "a valid HTTP header must consist of alphanumeric characters or '-'";

/// `msg (e.g. 'a' or 'b', regex used for validation is 're')`, Kubernetes' `RegexError`.
pub(crate) fn regex_error(msg: &str, re: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{re}')");
    }
    let examples: Vec<String> = examples.iter().map(|e| format!("'{e}', ")).collect();
    format!("{msg} (e.g. {}regex used for validation is '{re}')", examples.join(" or "))
}

/// `util/validation.MaxLenError`, used for DNS names and config keys.
fn max_len_chars(max: usize) -> String {
    format!("must be no more than {max} characters")
}

/// `validate/content.MaxLenError`, used for label keys and values.
fn max_len_bytes(max: usize) -> String {
    format!("must be no more than {max} bytes")
}

/// `must be between lo and hi, inclusive`.
pub(crate) fn inclusive_range_error(lo: i64, hi: i64) -> String {
    format!("must be between {lo} and {hi}, inclusive")
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// Matches `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
fn matches_dns1123_label(value: &str) -> bool {
    let b = value.as_bytes();
    match (b.first(), b.last()) {
        (Some(&first), Some(&last)) => {
            is_lower_alnum(first) && is_lower_alnum(last) && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
        }
        _ => false,
    }
}

fn matches_dns1123_subdomain(value: &str) -> bool {
    value.split('.').all(matches_dns1123_label)
}

/// Matches `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
fn matches_label_key_name(value: &str) -> bool {
    let b = value.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// A DNS-1123 label (63 bytes of `[a-z0-9-]`, alphanumeric at both ends): namespace, container, port and
/// volume names.
pub fn is_dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX {
        errs.push(max_len_chars(DNS1123_LABEL_MAX));
    }
    if !matches_dns1123_label(value) {
        if matches_dns1123_subdomain(value) {
            errs.push("must not contain dots".to_owned());
        } else {
            errs.push(regex_error(DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, &["my-name", "123-abc"]));
        }
    }
    errs
}

/// A DNS-1123 subdomain (253 bytes of dot-separated labels): the name of most objects.
pub fn is_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        errs.push(max_len_chars(DNS1123_SUBDOMAIN_MAX));
    }
    if !matches_dns1123_subdomain(value) {
        errs.push(regex_error(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, &["example.com"]));
    }
    errs
}

/// Like [`is_dns1123_subdomain`] but with `bytes` in the length message, as label-key prefixes report it.
fn is_dns1123_subdomain_content(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        errs.push(max_len_bytes(DNS1123_SUBDOMAIN_MAX));
    }
    if !matches_dns1123_subdomain(value) {
        errs.push(regex_error(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, &["example.com"]));
    }
    errs
}

/// A DNS-1035 label (starts with a letter): Service names.
pub fn is_dns1035_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX {
        errs.push(max_len_chars(DNS1123_LABEL_MAX));
    }
    let b = value.as_bytes();
    let ok = match (b.first(), b.last()) {
        (Some(first), Some(&last)) => {
            first.is_ascii_lowercase()
                && is_lower_alnum(last)
                && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
        }
        _ => false,
    };
    if !ok {
        errs.push(regex_error(DNS1035_LABEL_MSG, DNS1035_LABEL_FMT, &["my-name", "abc-123"]));
    }
    errs
}

/// A qualified name (label key, annotation key, finalizer): an optional DNS-subdomain prefix and `/`, then a
/// 63-byte name of alphanumerics, `-`, `_` and `.`.
pub fn is_qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_owned());
            } else {
                errs.extend(
                    is_dns1123_subdomain_content(prefix).into_iter().map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(LABEL_KEY_MSG, LABEL_KEY_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_owned());
    } else if name.len() > LABEL_KEY_MAX {
        errs.push(format!("name part {}", max_len_bytes(LABEL_KEY_MAX)));
    }
    if !matches_label_key_name(name) {
        errs.push(format!(
            "name part {}",
            regex_error(LABEL_KEY_MSG, LABEL_KEY_FMT, &["MyName", "my.name", "123-abc"])
        ));
    }
    errs
}

/// A label value: empty, or up to 63 bytes of alphanumerics, `-`, `_` and `.`, alphanumeric at both ends.
pub fn is_label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_VALUE_MAX {
        errs.push(max_len_bytes(LABEL_VALUE_MAX));
    }
    if !value.is_empty() && !matches_label_key_name(value) {
        errs.push(regex_error(LABEL_VALUE_MSG, LABEL_VALUE_FMT, &["MyValue", "my_value", "12345"]));
    }
    errs
}

/// `must not be '.'` and friends: keys that would escape a volume directory.
fn has_chdir_prefix(value: &str) -> Option<String> {
    if value == "." {
        Some("must not be '.'".to_owned())
    } else if value == ".." {
        Some("must not be '..'".to_owned())
    } else if value.starts_with("..") {
        Some("must not start with '..'".to_owned())
    } else {
        None
    }
}

/// A `ConfigMap` or Secret key: up to 253 bytes of `[-._a-zA-Z0-9]`, not `.`, `..` or `..`-prefixed.
pub fn is_config_map_key(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        errs.push(max_len_chars(DNS1123_SUBDOMAIN_MAX));
    }
    let ok = !value.is_empty()
        && value.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'));
    if !ok {
        errs.push(regex_error(CONFIG_KEY_MSG, CONFIG_KEY_FMT, &["key.name", "KEY_NAME", "key-name"]));
    }
    errs.extend(has_chdir_prefix(value));
    errs
}

/// The historical environment-variable name rule, `[-._a-zA-Z][-._a-zA-Z0-9]*`.
pub fn is_env_var_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let b = value.as_bytes();
    let ok = match b.first() {
        Some(first) => {
            (first.is_ascii_alphabetic() || matches!(first, b'-' | b'.' | b'_'))
                && b.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
        }
        None => false,
    };
    if !ok {
        errs.push(regex_error(ENV_VAR_MSG, ENV_VAR_FMT, &["my.env-name", "MY_ENV.NAME", "MyEnvName1"]));
    }
    errs.extend(has_chdir_prefix(value));
    errs
}

/// The environment-variable name rule Kubernetes enforces since `RelaxedEnvironmentVariableValidation`
/// became GA (1.34): any printable ASCII except `=`.
pub fn is_relaxed_env_var_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.is_empty() {
        errs.push("environment variable name must be non-empty".to_owned());
    }
    if value.chars().any(|c| !(c.is_ascii_graphic() || c == ' ') || c == '=') {
        errs.push(RELAXED_ENV_VAR_MSG.to_owned());
    }
    errs
}

/// A port number, 1 to 65535.
pub fn is_valid_port_num(port: i64) -> Vec<String> {
    if (1..=65535).contains(&port) { Vec::new() } else { vec![inclusive_range_error(1, 65535)] }
}

/// A port name (IANA service name): up to 15 of `[-a-z0-9]`, at least one letter, no `--`, no hyphen at the
/// ends.
pub fn is_valid_port_name(port: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if port.len() > 15 {
        errs.push(max_len_chars(15));
    }
    if port.is_empty() || !port.bytes().all(|c| is_lower_alnum(c) || c == b'-') {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_owned());
    }
    if !port.bytes().any(|c| c.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".to_owned());
    }
    if port.contains("--") {
        errs.push("must not contain consecutive hyphens".to_owned());
    }
    if port.starts_with('-') || port.ends_with('-') {
        errs.push("must not begin or end with a hyphen".to_owned());
    }
    errs
}

/// A percentage, `[0-9]+%`.
pub fn is_valid_percent(value: &str) -> Vec<String> {
    match value.strip_suffix('%') {
        Some(digits) if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) => Vec::new(),
        _ => vec![regex_error(PERCENT_MSG, PERCENT_FMT, &["1%", "93%"])],
    }
}

/// An HTTP header name, `[-A-Za-z0-9]+`.
pub(crate) fn is_http_header_name(value: &str) -> Vec<String> {
    if !value.is_empty() && value.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
        Vec::new()
    } else {
        vec![regex_error(HTTP_HEADER_MSG, HTTP_HEADER_FMT, &["X-Header-Name"])]
    }
}

/// An IP address in canonical form (`10.9.8.7`, `2001:db8::ffff`), as `validation.IsValidIP` checks it.
pub fn validate_ip(path: &FieldPath, value: &str) -> Vec<FieldError> {
    match value.parse::<IpAddr>() {
        Err(_) => vec![FieldError::invalid(
            path,
            value,
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        )],
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_some() => {
            vec![FieldError::invalid(path, value, "must not be an IPv4-mapped IPv6 address")]
        }
        Ok(ip) if ip.to_string() != value => {
            vec![FieldError::invalid(path, value, format!("must be in canonical form (\"{ip}\")"))]
        }
        Ok(_) => Vec::new(),
    }
}

/// A parsed CIDR: the network address and prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cidr {
    pub(crate) addr: IpAddr,
    pub(crate) prefix: u8,
}

impl Cidr {
    fn bits(self) -> u8 {
        if self.addr.is_ipv4() { 32 } else { 128 }
    }

    fn as_u128(addr: IpAddr) -> u128 {
        match addr {
            IpAddr::V4(v4) => u128::from(u32::from(v4)),
            IpAddr::V6(v6) => u128::from(v6),
        }
    }

    fn mask(self) -> u128 {
        let bits = u32::from(self.bits());
        let prefix = u32::from(self.prefix);
        let all = if bits == 32 { u128::from(u32::MAX) } else { u128::MAX };
        if prefix == 0 { 0 } else { all & !(all.checked_shr(prefix).unwrap_or(0)) }
    }

    fn network(self) -> u128 {
        Self::as_u128(self.addr) & self.mask()
    }

    /// Whether `other` lies inside this network (same family).
    pub(crate) fn contains(self, other: IpAddr) -> bool {
        self.addr.is_ipv4() == other.is_ipv4() && Self::as_u128(other) & self.mask() == self.network()
    }

    fn has_host_bits(self) -> bool {
        Self::as_u128(self.addr) != self.network()
    }
}

pub(crate) fn parse_cidr(value: &str) -> Option<Cidr> {
    let (ip, prefix) = value.split_once('/')?;
    let addr: IpAddr = ip.parse().ok()?;
    if prefix.is_empty() || !prefix.bytes().all(|c| c.is_ascii_digit()) || prefix.len() > 3 {
        return None;
    }
    let prefix: u8 = prefix.parse().ok()?;
    let cidr = Cidr { addr, prefix };
    (prefix <= cidr.bits()).then_some(cidr)
}

/// A CIDR in canonical form (`10.9.8.0/24`), as `validation.IsValidCIDR` checks it.
pub fn validate_cidr(path: &FieldPath, value: &str) -> Vec<FieldError> {
    let Some(cidr) = parse_cidr(value) else {
        return vec![FieldError::invalid(
            path,
            value,
            "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
        )];
    };
    if let IpAddr::V6(v6) = cidr.addr
        && v6.to_ipv4_mapped().is_some()
    {
        return vec![FieldError::invalid(path, value, "must not have an IPv4-mapped IPv6 address")];
    }
    if cidr.has_host_bits() {
        return vec![FieldError::invalid(path, value, "must not have bits set beyond the prefix length")];
    }
    let canonical = format!("{}/{}", cidr.addr, cidr.prefix);
    if canonical != value {
        return vec![FieldError::invalid(
            path,
            value,
            format!("must be in canonical form (\"{canonical}\")"),
        )];
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \
                                 '-' or '.', and must start and end with an alphanumeric character (e.g. \
                                 'example.com', regex used for validation is \
                                 '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    const LABEL_ERR: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', \
                             and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', \
                             regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

    #[test]
    fn dns1123_subdomain() {
        for ok in ["a", "example.com", "a-b.c-d", "0", "x".repeat(253).as_str()] {
            assert!(is_dns1123_subdomain(ok).is_empty(), "{ok}");
        }
        assert_eq!(is_dns1123_subdomain("Web"), vec![SUBDOMAIN_ERR]);
        for bad in ["", "-a", "a-", "a..b", ".a", "a.", "a_b", "é"] {
            assert_eq!(is_dns1123_subdomain(bad), vec![SUBDOMAIN_ERR], "{bad}");
        }
        assert_eq!(is_dns1123_subdomain(&"a".repeat(254)), vec!["must be no more than 253 characters"]);
    }

    #[test]
    fn dns1123_label() {
        assert!(is_dns1123_label("web-1").is_empty());
        assert!(is_dns1123_label(&"a".repeat(63)).is_empty());
        assert_eq!(is_dns1123_label("a.b"), vec!["must not contain dots"]);
        // Kubernetes' RegexError leaves a double space before each " or "; kept verbatim.
        let expected = LABEL_ERR.to_owned();
        assert_eq!(is_dns1123_label("Web"), vec![expected.clone()]);
        assert_eq!(is_dns1123_label(""), vec![expected.clone()]);
        assert_eq!(is_dns1123_label(&"a".repeat(64)), vec!["must be no more than 63 characters"]);
        assert_eq!(is_dns1123_label(&format!("-{}", "a".repeat(63))).len(), 2);
    }

    #[test]
    fn dns1035_label() {
        assert!(is_dns1035_label("web").is_empty());
        let expected = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with \
                        an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or \
                        'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
        assert_eq!(is_dns1035_label("1web"), vec![expected]);
        assert_eq!(is_dns1035_label("web-"), vec![expected]);
    }

    #[test]
    fn regex_error_format() {
        assert_eq!(regex_error("m", "r", &[]), "m (regex used for validation is 'r')");
        assert_eq!(
            regex_error("m", "r", &["a", "b"]),
            "m (e.g. 'a',  or 'b', regex used for validation is 'r')"
        );
    }

    #[test]
    fn qualified_names() {
        for ok in ["app", "app.kubernetes.io/name", "A_b.c-D", "x/y", "a"] {
            assert!(is_qualified_name(ok).is_empty(), "{ok}");
        }
        let name_err = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and \
                        end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex \
                        used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
            .to_owned();
        assert_eq!(is_qualified_name("-app"), vec![name_err.clone()]);
        assert_eq!(is_qualified_name(""), vec!["name part must be non-empty".to_owned(), name_err.clone()]);
        assert_eq!(is_qualified_name("/app"), vec!["prefix part must be non-empty"]);
        assert_eq!(is_qualified_name("Example.com/app"), vec![format!("prefix part {SUBDOMAIN_ERR}")]);
        assert_eq!(is_qualified_name(&"a".repeat(64)), vec!["name part must be no more than 63 bytes"]);
        let too_many = is_qualified_name("a/b/c");
        assert_eq!(too_many.len(), 1);
        assert!(too_many[0].starts_with("a valid label key must consist of"), "{}", too_many[0]);
        assert!(
            too_many[0]
                .ends_with("with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')")
        );
    }

    #[test]
    fn label_values() {
        for ok in ["", "v1", "a.b_c-d", &"a".repeat(63)] {
            assert!(is_label_value(ok).is_empty(), "{ok}");
        }
        let expected = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or \
                        '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or \
                        'my_value',  or '12345', regex used for validation is \
                        '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
        assert_eq!(is_label_value("-x"), vec![expected]);
        assert_eq!(is_label_value("a b"), vec![expected]);
        assert_eq!(is_label_value(&"a".repeat(64)), vec!["must be no more than 63 bytes"]);
    }

    #[test]
    fn config_map_keys() {
        for ok in ["a", "key.name", "KEY_NAME", "key-name", ".dotfile", "tls.crt"] {
            assert!(is_config_map_key(ok).is_empty(), "{ok}");
        }
        let regex = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. \
                     'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
        assert_eq!(is_config_map_key("a/b"), vec![regex]);
        assert_eq!(is_config_map_key(""), vec![regex]);
        assert_eq!(is_config_map_key("."), vec!["must not be '.'"]);
        assert_eq!(is_config_map_key(".."), vec!["must not be '..'"]);
        assert_eq!(is_config_map_key("..data"), vec!["must not start with '..'"]);
        assert_eq!(is_config_map_key(&"a".repeat(254)), vec!["must be no more than 253 characters"]);
    }

    #[test]
    fn env_var_names() {
        assert!(is_env_var_name("MY_VAR.x-1").is_empty());
        assert!(!is_env_var_name("1VAR").is_empty());
        assert!(!is_env_var_name("A B").is_empty());
        assert!(is_relaxed_env_var_name("1VAR with space!").is_empty());
        assert_eq!(
            is_relaxed_env_var_name("A=B"),
            vec![
                "a valid environment variable name must consist only of printable ASCII characters other than '='"
            ]
        );
        assert_eq!(is_relaxed_env_var_name("é").len(), 1);
        assert_eq!(is_relaxed_env_var_name(""), vec!["environment variable name must be non-empty"]);
    }

    #[test]
    fn ports() {
        assert!(is_valid_port_num(1).is_empty());
        assert!(is_valid_port_num(65535).is_empty());
        assert_eq!(is_valid_port_num(0), vec!["must be between 1 and 65535, inclusive"]);
        assert_eq!(is_valid_port_num(65536), vec!["must be between 1 and 65535, inclusive"]);
        assert!(is_valid_port_name("http").is_empty());
        assert!(is_valid_port_name("h2-c").is_empty());
        assert_eq!(is_valid_port_name("123"), vec!["must contain at least one letter (a-z)"]);
        assert_eq!(is_valid_port_name("a--b"), vec!["must not contain consecutive hyphens"]);
        assert_eq!(is_valid_port_name("-ab"), vec!["must not begin or end with a hyphen"]);
        assert_eq!(is_valid_port_name("abcdefghijklmnop"), vec!["must be no more than 15 characters"]);
        assert_eq!(
            is_valid_port_name("HTTP"),
            vec![
                "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                "must contain at least one letter (a-z)"
            ]
        );
    }

    #[test]
    fn percents() {
        assert!(is_valid_percent("25%").is_empty());
        for bad in ["%", "25", "2.5%", "-1%"] {
            assert_eq!(
                is_valid_percent(bad),
                vec![
                    "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or \
                     '93%', regex used for validation is '[0-9]+%')"
                ],
                "{bad}"
            );
        }
    }

    #[test]
    fn ips() {
        let p = FieldPath::new("spec").child("clusterIP");
        assert!(validate_ip(&p, "10.0.0.1").is_empty());
        assert!(validate_ip(&p, "2001:db8::1").is_empty());
        assert_eq!(
            validate_ip(&p, "10.0.0").first().map(ToString::to_string).as_deref(),
            Some(
                "spec.clusterIP: Invalid value: \"10.0.0\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
            )
        );
        assert_eq!(
            validate_ip(&p, "2001:DB8::1").first().map(ToString::to_string).as_deref(),
            Some(
                "spec.clusterIP: Invalid value: \"2001:DB8::1\": must be in canonical form (\"2001:db8::1\")"
            )
        );
        assert_eq!(validate_ip(&p, "::ffff:1.2.3.4")[0].detail, "must not be an IPv4-mapped IPv6 address");
    }

    #[test]
    fn cidrs() {
        let p = FieldPath::new("cidr");
        assert!(validate_cidr(&p, "10.0.0.0/8").is_empty());
        assert!(validate_cidr(&p, "0.0.0.0/0").is_empty());
        assert!(validate_cidr(&p, "2001:db8::/64").is_empty());
        assert_eq!(
            validate_cidr(&p, "10.0.0.1/8")[0].detail,
            "must not have bits set beyond the prefix length"
        );
        assert_eq!(
            validate_cidr(&p, "10.0.0.0/33")[0].detail,
            "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
        );
        assert_eq!(
            validate_cidr(&p, "10.0.0.0")[0].detail,
            "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
        );
        let net = parse_cidr("10.0.0.0/8").expect("test data");
        assert!(net.contains("10.1.2.3".parse().expect("test data")));
        assert!(!net.contains("11.0.0.1".parse().expect("test data")));
        assert!(!net.contains("::1".parse().expect("test data")));
    }
}
