//! Authentication: the user behind a request, from (in this order) a verified client certificate, a bearer
//! token (a ServiceAccount JWT, a bootstrap token, or one of the static tokens), or nobody.
//!
//! A request that presents a credential that is wrong (an unknown token, an expired or revoked ServiceAccount
//! token) gets 401 even when anonymous requests are allowed, as in Kubernetes: a client that meant to be someone
//! must learn that it is not.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use axum::http::{HeaderMap, header};
use serde_json::Value;

use super::UserInfo;
use super::tokens::ServiceAccountTokens;
use crate::error::ApiError;
use crate::registry::{Registry, kinds};
use crate::tls::PeerIdentity;

/// Who gets in.
pub struct Authenticator {
    /// Static bearer tokens: `--token-auth-file` and those handed to in-process components.
    static_tokens: RwLock<HashMap<String, Arc<UserInfo>>>,
    /// Whether requests without credentials are served as `system:anonymous`.
    anonymous: bool,
    service_accounts: Arc<ServiceAccountTokens>,
    registry: Registry,
}

/// 401 Unauthorized, as kube-apiserver words it (never saying which credential was wrong or why).
pub fn unauthorized() -> ApiError {
    ApiError { code: 401, reason: "Unauthorized", message: "Unauthorized".into(), details: None }
}

impl Authenticator {
    /// An authenticator with the tokens of `token_file` (kube-apiserver's `--token-auth-file` CSV format:
    /// `token,user,uid[,"group1,group2"]`).
    pub fn new(
        token_file: Option<&Path>,
        anonymous: bool,
        service_accounts: Arc<ServiceAccountTokens>,
        registry: Registry,
    ) -> Result<Self, String> {
        let static_tokens = match token_file {
            Some(path) => read_token_file(path)?,
            None => HashMap::new(),
        };
        Ok(Self { static_tokens: RwLock::new(static_tokens), anonymous, service_accounts, registry })
    }

    /// Registers a token for `user` (in-process components, the plain-HTTP admin).
    pub fn add_token(&self, token: String, user: UserInfo) {
        self.static_tokens
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(token, Arc::new(user));
    }

    /// The user behind a request, or 401.
    pub fn authenticate(
        &self,
        headers: &HeaderMap,
        certificate: Option<&PeerIdentity>,
    ) -> Result<Arc<UserInfo>, ApiError> {
        if let Some(certificate) = certificate {
            return Ok(Arc::new(UserInfo::new(certificate.name.clone(), certificate.groups.iter().cloned())));
        }
        match bearer(headers) {
            Some(token) => self.authenticate_token(token).ok_or_else(unauthorized),
            None if self.anonymous => Ok(Arc::new(UserInfo::anonymous())),
            None => Err(unauthorized()),
        }
    }

    /// The user a bearer token stands for, if it is valid (also TokenReview's answer).
    pub fn authenticate_token(&self, token: &str) -> Option<Arc<UserInfo>> {
        if token.split('.').count() == 3 {
            return self.service_accounts.authenticate(&self.registry, token).map(Arc::new);
        }
        if let Some(user) = self.bootstrap(token) {
            return Some(Arc::new(user));
        }
        self.static_tokens.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(token).cloned()
    }

    /// A bootstrap token `<id>.<secret>`: the Secret `kube-system/bootstrap-token-<id>` of type
    /// `bootstrap.kubernetes.io/token`, meant for authentication and not expired.
    fn bootstrap(&self, token: &str) -> Option<UserInfo> {
        let (id, secret) = parse_bootstrap_token(token)?;
        let rt = kinds::by_plural("", "v1", "secrets")?;
        let stored = self.registry.stored(rt, Some("kube-system"), &format!("bootstrap-token-{id}"))?;
        let object = stored.value();
        if object.get("type").and_then(Value::as_str) != Some(BOOTSTRAP_TOKEN_TYPE) {
            return None;
        }
        let data = |key: &str| -> Option<String> {
            let encoded = object.pointer(&format!("/data/{key}"))?.as_str()?;
            let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded).ok()?;
            String::from_utf8(bytes).ok()
        };
        let matches = data("token-id").as_deref() == Some(id)
            && data("token-secret").is_some_and(|s| constant_time_eq(s.as_bytes(), secret.as_bytes()))
            && data("usage-bootstrap-authentication").as_deref() == Some("true");
        if !matches || object.pointer("/metadata/deletionTimestamp").is_some_and(|t| !t.is_null()) {
            return None;
        }
        if let Some(expiration) = data("expiration") {
            let expires: jiff::Timestamp = expiration.parse().ok()?;
            if expires <= jiff::Timestamp::now() {
                return None;
            }
        }
        let mut groups = vec![BOOTSTRAPPERS.to_owned()];
        for group in data("auth-extra-groups").unwrap_or_default().split(',').map(str::trim) {
            if group.starts_with("system:bootstrappers:") && !groups.iter().any(|g| g == group) {
                groups.push(group.to_owned());
            }
        }
        Some(UserInfo::new(format!("system:bootstrap:{id}"), groups))
    }
}

/// The Secret type of bootstrap tokens.
pub const BOOTSTRAP_TOKEN_TYPE: &str = "bootstrap.kubernetes.io/token";
/// The group of every bootstrap token.
pub const BOOTSTRAPPERS: &str = "system:bootstrappers";

/// `abcdef.0123456789abcdef`: six and sixteen lowercase letters or digits.
pub fn parse_bootstrap_token(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.split_once('.')?;
    let valid = |part: &str, len: usize| {
        part.len() == len && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    (valid(id, 6) && valid(secret, 16)).then_some((id, secret))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Reads a token file: one `token,user,uid[,"group1,group2"]` line each; blank lines and `#` comments skipped.
fn read_token_file(path: &Path) -> Result<HashMap<String, Arc<UserInfo>>, String> {
    let shown = path.display();
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read --token-auth-file {shown}: {e}"))?;
    let mut tokens = HashMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields = csv_fields(line);
        let [token, user, uid, rest @ ..] = fields.as_slice() else {
            return Err(format!("{shown}:{}: expected token,user,uid[,\"groups\"]", number + 1));
        };
        if token.is_empty() || user.is_empty() {
            return Err(format!("{shown}:{}: the token and the user name must not be empty", number + 1));
        }
        let groups = rest.first().map_or_else(Vec::new, |g| {
            g.split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_owned).collect()
        });
        let mut info = UserInfo::new(user.clone(), groups);
        info.uid.clone_from(uid);
        tokens.insert(token.clone(), Arc::new(info));
    }
    Ok(tokens)
}

/// Splits one CSV line, honouring double quotes (`""` inside quotes is a quote).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                if let Some(field) = fields.last_mut() {
                    field.push('"');
                }
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            c => {
                if let Some(field) = fields.last_mut() {
                    field.push(c);
                }
            }
        }
    }
    fields.into_iter().map(|f| f.trim().to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_files_are_read_as_kube_apiserver_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.csv");
        std::fs::write(&path, "# admins\nt0ken,alice,u1,\"dev,ops\"\n\nplain,bob,u2\n").unwrap();
        let tokens = read_token_file(&path).unwrap();
        assert_eq!(tokens["t0ken"].name, "alice");
        assert_eq!(tokens["t0ken"].groups, ["dev", "ops", "system:authenticated"]);
        assert_eq!((tokens["plain"].uid.as_str(), tokens["plain"].groups.len()), ("u2", 1));
        std::fs::write(&path, "only-a-token\n").unwrap();
        assert!(read_token_file(&path).unwrap_err().contains("tokens.csv:1"));
    }

    #[test]
    fn bootstrap_tokens_have_kubeadm_shape() {
        assert_eq!(parse_bootstrap_token("abcdef.0123456789abcdef"), Some(("abcdef", "0123456789abcdef")));
        for bad in ["abcdef.0123456789abcde", "ABCDEF.0123456789abcdef", "abcdef0123456789abcdef", "a.b"] {
            assert_eq!(parse_bootstrap_token(bad), None, "{bad}");
        }
    }

    #[test]
    fn bearer_tokens_come_from_the_authorization_header() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(bearer(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers), None);
    }
}
