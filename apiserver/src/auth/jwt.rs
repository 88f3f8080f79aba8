//! ServiceAccount tokens: JWTs signed by the API server with ES256 (ECDSA P-256, SHA-256), in JWS
//! compact serialization, with the claims Kubernetes puts in bound ServiceAccount tokens, and the
//! OpenID discovery and JWKS documents that let others verify them.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, UnparsedPublicKey,
};
use rustls::pki_types::PrivatePkcs8KeyDer;
use rustls::pki_types::pem::PemObject;
use serde::Deserialize;
use serde_json::{Value, json};

/// The only signing algorithm: ECDSA P-256 with SHA-256.
pub const ALGORITHM: &str = "ES256";

/// How far clocks may disagree: tokens are accepted this many seconds past `exp` and before `nbf`/`iat`,
/// as Kubernetes does.
pub const LEEWAY_SECONDS: i64 = 60;

/// The DER SubjectPublicKeyInfo of a P-256 key up to its 65-byte uncompressed point.
const P256_SPKI_PREFIX: &[u8] = &[
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86,
    0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Why a token could not be made or was not accepted, or a key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// The token is not a well-formed JWS compact token with JSON header and claims.
    #[error("token is malformed ({0}); request a new token")]
    Malformed(String),
    /// The token names an algorithm other than ES256.
    #[error("token is signed with {0:?}, not ES256; use a token issued by this server")]
    UnsupportedAlgorithm(String),
    /// The token was signed by another key.
    #[error("token was signed by another key (kid {0:?}); use a token issued by this server")]
    UnknownKey(String),
    /// The signature does not verify.
    #[error("token signature is invalid; request a new token")]
    BadSignature,
    /// The token's `exp` is past, beyond the leeway.
    #[error("token has expired; request a new token")]
    Expired {
        /// Its `exp` (unix seconds).
        expired_at: i64,
    },
    /// The token's `nbf` or `iat` is in the future, beyond the leeway.
    #[error("token is not valid yet; check that the clocks of client and server agree")]
    NotYetValid {
        /// Its `nbf` or `iat` (unix seconds).
        valid_from: i64,
    },
    /// The signing key is not a PKCS#8 ECDSA P-256 key.
    #[error(
        "the signing key is not a PKCS#8 ECDSA P-256 key ({0}); supply a PEM PRIVATE KEY such as \
         `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` makes"
    )]
    Key(String),
    /// Claims to sign are not a JSON object.
    #[error("token claims must be a JSON object; pass an object")]
    ClaimsNotObject,
    /// Claims are not ServiceAccount claims.
    #[error("token claims are not Kubernetes ServiceAccount claims ({0}); use a ServiceAccount token")]
    Claims(String),
    /// The system random generator failed while signing or generating.
    #[error("the system random generator failed; check that the OS provides getrandom")]
    Random,
}

/// The result type of this module.
pub type Result<T, E = JwtError> = std::result::Result<T, E>;

/// The API server's ServiceAccount token key: signs and verifies ES256 tokens.
pub struct Signer {
    key: EcdsaKeyPair,
    kid: String,
    /// The uncompressed public point: 0x04 || X || Y.
    public: Vec<u8>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl Signer {
    /// Makes a new key; returns it and its PKCS#8 PEM (`PRIVATE KEY`) to persist.
    pub fn generate() -> Result<(Signer, String)> {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .map_err(|_| JwtError::Random)?;
        let signer = Self::from_pkcs8_der(pkcs8.as_ref())?;
        Ok((signer, pem_encode("PRIVATE KEY", pkcs8.as_ref())))
    }

    /// Loads a key from PKCS#8 PEM (`PRIVATE KEY`), as [`Signer::generate`] or OpenSSL writes it.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Signer> {
        let der =
            PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| JwtError::Key(e.to_string()))?;
        Self::from_pkcs8_der(der.secret_pkcs8_der())
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<Signer> {
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &SystemRandom::new())
            .map_err(|e| JwtError::Key(e.to_string()))?;
        let public = key.public_key().as_ref().to_vec();
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(&public);
        let kid = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, &spki));
        Ok(Signer { key, kid, public })
    }

    /// The key ID put in every token's header and in the JWKS: base64url(SHA-256(DER public key)).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key, DER SubjectPublicKeyInfo.
    pub fn public_key_der(&self) -> Vec<u8> {
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(&self.public);
        spki
    }

    /// Signs `claims` (a JSON object) into a compact JWS with header `{"alg":"ES256","kid":...}`.
    pub fn sign(&self, claims: &Value) -> Result<String> {
        if !claims.is_object() {
            return Err(JwtError::ClaimsNotObject);
        }
        let header = json!({"alg": ALGORITHM, "kid": self.kid});
        let mut token = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature =
            self.key.sign(&SystemRandom::new(), token.as_bytes()).map_err(|_| JwtError::Random)?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature.as_ref()));
        Ok(token)
    }

    /// Verifies `token` at `now` (unix seconds) and returns its claims: the header must say ES256 and,
    /// when it names a key, this key; the signature must verify; `exp` must not be past and `nbf`/`iat`
    /// not in the future, each by more than [`LEEWAY_SECONDS`]. Audience and issuer are for the caller.
    pub fn verify(&self, token: &str, now: i64) -> Result<Value> {
        let malformed = |what: &str| JwtError::Malformed(what.to_owned());
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("not three dot-separated parts"));
        };
        let header: Value = decode_json(header_b64, "header")?;
        let Some(header) = header.as_object() else {
            return Err(malformed("header is not a JSON object"));
        };
        match header.get("alg") {
            Some(Value::String(alg)) if alg == ALGORITHM => {}
            Some(Value::String(alg)) => return Err(JwtError::UnsupportedAlgorithm(alg.clone())),
            _ => return Err(malformed("header has no alg")),
        }
        match header.get("kid") {
            None => {}
            Some(Value::String(kid)) if *kid == self.kid => {}
            Some(Value::String(kid)) => return Err(JwtError::UnknownKey(kid.clone())),
            Some(_) => return Err(malformed("header kid is not a string")),
        }
        if header.contains_key("crit") {
            return Err(malformed("header has critical extensions"));
        }
        let signature =
            URL_SAFE_NO_PAD.decode(signature_b64).map_err(|_| malformed("signature is not base64url"))?;
        let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.public)
            .verify(signed.as_bytes(), &signature)
            .map_err(|_| JwtError::BadSignature)?;

        let claims: Value = decode_json(payload_b64, "claims")?;
        let Some(object) = claims.as_object() else {
            return Err(malformed("claims are not a JSON object"));
        };
        let time = |name: &str| match object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => {
                value.as_i64().map(Some).ok_or_else(|| malformed(&format!("{name} is not an integer")))
            }
        };
        if let Some(exp) = time("exp")?
            && exp.saturating_add(LEEWAY_SECONDS) < now
        {
            return Err(JwtError::Expired { expired_at: exp });
        }
        for name in ["nbf", "iat"] {
            if let Some(from) = time(name)?
                && now.saturating_add(LEEWAY_SECONDS) < from
            {
                return Err(JwtError::NotYetValid { valid_from: from });
            }
        }
        Ok(claims)
    }

    /// The JWKS document (`/openid/v1/jwks`) with this key.
    pub fn jwks(&self) -> Value {
        let (x, y) = self.public[1..].split_at(32);
        json!({"keys": [{
            "use": "sig",
            "kty": "EC",
            "kid": self.kid,
            "crv": "P-256",
            "alg": ALGORITHM,
            "x": URL_SAFE_NO_PAD.encode(x),
            "y": URL_SAFE_NO_PAD.encode(y),
        }]})
    }
}

/// The OpenID discovery document (`/.well-known/openid-configuration`) for tokens from `issuer`, whose
/// keys are at `jwks_uri` (kube-apiserver: its external address + `/openid/v1/jwks`).
pub fn openid_configuration(issuer: &str, jwks_uri: &str) -> Value {
    json!({
        "issuer": issuer,
        "jwks_uri": jwks_uri,
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
    })
}

/// The object a token is bound to: the token is valid only while that object exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundObject {
    /// Its kind: `Pod`, `Secret` or `Node` (written as `kubernetes.io.pod`, `.secret` or `.node`).
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its UID.
    pub uid: String,
}

/// The claims of a bound ServiceAccount token, shaped as Kubernetes 1.30+ shapes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountClaims {
    /// `iss`.
    pub issuer: String,
    /// `aud`.
    pub audiences: Vec<String>,
    /// `kubernetes.io.namespace`.
    pub namespace: String,
    /// `kubernetes.io.serviceaccount.name`.
    pub service_account_name: String,
    /// `kubernetes.io.serviceaccount.uid`.
    pub service_account_uid: String,
    /// The object the token is bound to, if any.
    pub bound: Option<BoundObject>,
    /// `kubernetes.io.node` (name, uid) of a token bound to a pod: the node the pod runs on. Ignored when
    /// `bound` is a node.
    pub node: Option<(String, String)>,
    /// `iat`, also written as `nbf` (unix seconds).
    pub issued_at: i64,
    /// `exp` (unix seconds).
    pub expires_at: i64,
    /// `jti`.
    pub token_id: String,
}

#[derive(Deserialize)]
struct RawClaims {
    #[serde(deserialize_with = "audiences")]
    aud: Vec<String>,
    exp: i64,
    iat: i64,
    iss: String,
    #[serde(default)]
    jti: String,
    #[serde(rename = "kubernetes.io")]
    kubernetes: RawKubernetes,
    sub: String,
}

/// `kubernetes.io`. Any other member is refused, so that a binding this code does not know is never
/// read as no binding.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKubernetes {
    namespace: String,
    node: Option<RawRef>,
    pod: Option<RawRef>,
    secret: Option<RawRef>,
    serviceaccount: RawRef,
    /// Set by Kubernetes on tokens whose lifetime it extended; accepted and not kept.
    #[serde(rename = "warnafter")]
    _warn_after: Option<i64>,
}

#[derive(Deserialize)]
struct RawRef {
    name: String,
    uid: String,
}

/// `aud` is an array in Kubernetes' tokens, but a single string is a valid JWT audience too.
fn audiences<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Audiences {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Audiences::deserialize(deserializer)? {
        Audiences::One(audience) => vec![audience],
        Audiences::Many(audiences) => audiences,
    })
}

impl ServiceAccountClaims {
    /// The username a token with these claims authenticates as: `system:serviceaccount:<ns>:<name>`.
    pub fn subject(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.service_account_name)
    }

    /// The JSON claims, as Kubernetes writes them. The bound object goes under its kind in lower case.
    pub fn to_claims(&self) -> Value {
        let mut kubernetes = json!({
            "namespace": self.namespace,
            "serviceaccount": {"name": self.service_account_name, "uid": self.service_account_uid},
        });
        if let Some((name, uid)) = &self.node {
            kubernetes["node"] = json!({"name": name, "uid": uid});
        }
        if let Some(bound) = &self.bound {
            kubernetes[bound.kind.to_ascii_lowercase()] = json!({"name": bound.name, "uid": bound.uid});
        }
        json!({
            "aud": self.audiences,
            "exp": self.expires_at,
            "iat": self.issued_at,
            "iss": self.issuer,
            "jti": self.token_id,
            "kubernetes.io": kubernetes,
            "nbf": self.issued_at,
            "sub": self.subject(),
        })
    }

    /// Reads claims back from JSON; `sub` must agree with the namespace and ServiceAccount name.
    pub fn from_claims(claims: &Value) -> Result<Self> {
        let raw = RawClaims::deserialize(claims).map_err(|e| JwtError::Claims(e.to_string()))?;
        let k = raw.kubernetes;
        let bound_to =
            |kind: &str, r: RawRef| BoundObject { kind: kind.to_owned(), name: r.name, uid: r.uid };
        let (bound, node) = match (k.pod, k.secret, k.node) {
            (Some(_), Some(_), _) => {
                return Err(JwtError::Claims("bound to both a pod and a secret".to_owned()));
            }
            (Some(pod), None, node) => (Some(bound_to("Pod", pod)), node),
            (None, Some(secret), node) => (Some(bound_to("Secret", secret)), node),
            (None, None, Some(node)) => (Some(bound_to("Node", node)), None),
            (None, None, None) => (None, None),
        };
        let claims = ServiceAccountClaims {
            issuer: raw.iss,
            audiences: raw.aud,
            namespace: k.namespace,
            service_account_name: k.serviceaccount.name,
            service_account_uid: k.serviceaccount.uid,
            bound,
            node: node.map(|n| (n.name, n.uid)),
            issued_at: raw.iat,
            expires_at: raw.exp,
            token_id: raw.jti,
        };
        if raw.sub != claims.subject() {
            return Err(JwtError::Claims(format!("sub {:?} is not {:?}", raw.sub, claims.subject())));
        }
        Ok(claims)
    }
}

fn decode_json(part: &str, what: &str) -> Result<Value> {
    let bytes =
        URL_SAFE_NO_PAD.decode(part).map_err(|_| JwtError::Malformed(format!("{what} is not base64url")))?;
    serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed(format!("{what} is not JSON")))
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn claims() -> ServiceAccountClaims {
        ServiceAccountClaims {
            issuer: "https://kubernetes.default.svc.cluster.local".into(),
            audiences: vec!["https://kubernetes.default.svc.cluster.local".into(), "vault".into()],
            namespace: "kube-system".into(),
            service_account_name: "coredns".into(),
            service_account_uid: "a087d5a0-e1dd-43ec-93ac-f13d89cd13af".into(),
            bound: Some(BoundObject {
                kind: "Pod".into(),
                name: "coredns-69cbfb9798-jv9gn".into(),
                uid: "778a530c-b3f4-47c0-9cd5-ab018fb64f33".into(),
            }),
            node: Some(("n1".into(), "58456cb0-dd00-45ed-b797-5578fdceaced".into())),
            issued_at: NOW,
            expires_at: NOW + 3600,
            token_id: "ea28ed49-2e11-4280-9ec5-bc3d1d84661a".into(),
        }
    }

    fn part(token: &str, index: usize) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(index).unwrap()).unwrap())
            .unwrap()
    }

    #[test]
    fn sign_verify_round_trip() {
        let (signer, pem) = Signer::generate().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let claims = claims().to_claims();
        let token = signer.sign(&claims).unwrap();
        assert_eq!(part(&token, 0), json!({"alg": "ES256", "kid": signer.kid()}));
        assert_eq!(signer.verify(&token, NOW + 10).unwrap(), claims);

        // The persisted key is the same key, with the same kid.
        let loaded = Signer::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(loaded.kid(), signer.kid());
        assert_eq!(loaded.verify(&token, NOW).unwrap(), claims);
        assert_eq!(signer.public_key_der().len(), 91);
        assert!(matches!(Signer::from_pkcs8_pem("garbage"), Err(JwtError::Key(_))));
        assert_eq!(signer.sign(&json!([1])), Err(JwtError::ClaimsNotObject));
    }

    #[test]
    fn tampered_payload_has_a_bad_signature() {
        let (signer, _) = Signer::generate().unwrap();
        let token = signer.sign(&claims().to_claims()).unwrap();
        let mut forged = claims();
        forged.namespace = "default".into();
        let parts: Vec<&str> = token.split('.').collect();
        let tampered =
            format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(forged.to_claims().to_string()), parts[2]);
        assert_eq!(signer.verify(&tampered, NOW), Err(JwtError::BadSignature));
    }

    #[test]
    fn another_keys_token_is_refused() {
        let (signer, _) = Signer::generate().unwrap();
        let (other, _) = Signer::generate().unwrap();
        let token = other.sign(&claims().to_claims()).unwrap();
        assert_eq!(signer.verify(&token, NOW), Err(JwtError::UnknownKey(other.kid().to_owned())));

        // Claiming our kid does not help: the signature is the other key's.
        let parts: Vec<&str> = token.split('.').collect();
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": signer.kid()}).to_string());
        let relabelled = format!("{header}.{}.{}", parts[1], parts[2]);
        assert_eq!(signer.verify(&relabelled, NOW), Err(JwtError::BadSignature));
    }

    #[test]
    fn times_are_checked_with_leeway() {
        let (signer, _) = Signer::generate().unwrap();
        let token = signer.sign(&claims().to_claims()).unwrap();
        let exp = NOW + 3600;
        assert!(signer.verify(&token, exp).is_ok());
        assert!(signer.verify(&token, exp + LEEWAY_SECONDS).is_ok());
        let expired = signer.verify(&token, exp + LEEWAY_SECONDS + 1).unwrap_err();
        assert_eq!(expired, JwtError::Expired { expired_at: exp });
        assert_eq!(expired.to_string(), "token has expired; request a new token");
        assert!(signer.verify(&token, NOW - LEEWAY_SECONDS).is_ok());
        assert_eq!(
            signer.verify(&token, NOW - LEEWAY_SECONDS - 1),
            Err(JwtError::NotYetValid { valid_from: NOW })
        );

        // No exp (as in legacy Secret-based tokens): never expires.
        let legacy = signer.sign(&json!({"sub": "system:serviceaccount:default:default"})).unwrap();
        assert!(signer.verify(&legacy, i64::MAX).is_ok());
        let bad_exp = signer.sign(&json!({"exp": "tomorrow"})).unwrap();
        assert!(matches!(signer.verify(&bad_exp, NOW), Err(JwtError::Malformed(_))));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let (signer, _) = Signer::generate().unwrap();
        let token = signer.sign(&json!({"a": 1})).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            &format!("{token}."),
            "!!.!!.!!",
            &format!("e30.{}.{}", parts[1], parts[2]),
        ] {
            assert!(matches!(signer.verify(bad, NOW), Err(JwtError::Malformed(_))), "{bad}");
        }
        let none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
        assert_eq!(
            signer.verify(&format!("{none}.{}.", parts[1]), NOW),
            Err(JwtError::UnsupportedAlgorithm("none".into()))
        );
        let padded = format!("{}.{}.{}=", parts[0], parts[1], parts[2]);
        assert!(signer.verify(&padded, NOW).is_err());
    }

    #[test]
    fn jwks_key_verifies_signatures() {
        let (signer, _) = Signer::generate().unwrap();
        let jwks = signer.jwks();
        let key = &jwks["keys"][0];
        assert_eq!(key["kid"], signer.kid());
        assert_eq!(
            (&key["kty"], &key["crv"], &key["alg"], &key["use"]),
            (&json!("EC"), &json!("P-256"), &json!("ES256"), &json!("sig"))
        );
        let x = URL_SAFE_NO_PAD.decode(key["x"].as_str().unwrap()).unwrap();
        let y = URL_SAFE_NO_PAD.decode(key["y"].as_str().unwrap()).unwrap();
        assert_eq!((x.len(), y.len()), (32, 32));
        let point = [&[4u8][..], &x, &y].concat();
        let token = signer.sign(&claims().to_claims()).unwrap();
        let (message, signature) = token.rsplit_once('.').unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
            .verify(message.as_bytes(), &URL_SAFE_NO_PAD.decode(signature).unwrap())
            .unwrap();

        let discovery = openid_configuration("https://wharf.example", "https://10.0.0.1:6443/openid/v1/jwks");
        assert_eq!(discovery["issuer"], "https://wharf.example");
        assert_eq!(discovery["jwks_uri"], "https://10.0.0.1:6443/openid/v1/jwks");
        assert_eq!(discovery["id_token_signing_alg_values_supported"], json!(["ES256"]));
    }

    #[test]
    fn claims_are_shaped_as_kubernetes_shapes_them_and_round_trip() {
        let claims = claims();
        assert_eq!(
            claims.to_claims(),
            json!({
                "aud": ["https://kubernetes.default.svc.cluster.local", "vault"],
                "exp": NOW + 3600,
                "iat": NOW,
                "iss": "https://kubernetes.default.svc.cluster.local",
                "jti": "ea28ed49-2e11-4280-9ec5-bc3d1d84661a",
                "kubernetes.io": {
                    "namespace": "kube-system",
                    "node": {"name": "n1", "uid": "58456cb0-dd00-45ed-b797-5578fdceaced"},
                    "pod": {"name": "coredns-69cbfb9798-jv9gn", "uid": "778a530c-b3f4-47c0-9cd5-ab018fb64f33"},
                    "serviceaccount": {"name": "coredns", "uid": "a087d5a0-e1dd-43ec-93ac-f13d89cd13af"}
                },
                "nbf": NOW,
                "sub": "system:serviceaccount:kube-system:coredns"
            })
        );
        assert_eq!(ServiceAccountClaims::from_claims(&claims.to_claims()).unwrap(), claims);

        let secret = ServiceAccountClaims {
            bound: Some(BoundObject { kind: "Secret".into(), name: "s".into(), uid: "u".into() }),
            node: None,
            ..claims.clone()
        };
        assert_eq!(secret.to_claims()["kubernetes.io"]["secret"], json!({"name": "s", "uid": "u"}));
        let mut extended = secret.to_claims();
        extended["kubernetes.io"]["warnafter"] = json!(NOW + 60);
        assert_eq!(ServiceAccountClaims::from_claims(&extended).unwrap(), secret);
        assert_eq!(ServiceAccountClaims::from_claims(&secret.to_claims()).unwrap(), secret);

        let node = ServiceAccountClaims {
            bound: Some(BoundObject { kind: "Node".into(), name: "n1".into(), uid: "nu".into() }),
            node: None,
            ..claims.clone()
        };
        assert!(node.to_claims()["kubernetes.io"].get("pod").is_none());
        assert_eq!(ServiceAccountClaims::from_claims(&node.to_claims()).unwrap(), node);

        // A binding this code does not know is refused, never read as no binding.
        let odd = ServiceAccountClaims {
            bound: Some(BoundObject { kind: "ConfigMap".into(), name: "c".into(), uid: "cu".into() }),
            node: None,
            ..claims.clone()
        };
        assert_eq!(odd.to_claims()["kubernetes.io"]["configmap"], json!({"name": "c", "uid": "cu"}));
        assert!(matches!(ServiceAccountClaims::from_claims(&odd.to_claims()), Err(JwtError::Claims(_))));

        let unbound = ServiceAccountClaims { bound: None, node: None, ..claims.clone() };
        assert_eq!(ServiceAccountClaims::from_claims(&unbound.to_claims()).unwrap(), unbound);

        // A single-string audience is read too; a sub that disagrees is not.
        let mut value = claims.to_claims();
        value["aud"] = json!("api");
        assert_eq!(ServiceAccountClaims::from_claims(&value).unwrap().audiences, ["api"]);
        value["sub"] = json!("system:serviceaccount:default:coredns");
        assert!(matches!(ServiceAccountClaims::from_claims(&value), Err(JwtError::Claims(_))));
        assert!(matches!(ServiceAccountClaims::from_claims(&json!({})), Err(JwtError::Claims(_))));

        // Signed and verified, the claims come back whole.
        let (signer, _) = Signer::generate().unwrap();
        let token = signer.sign(&claims.to_claims()).unwrap();
        let verified = signer.verify(&token, NOW).unwrap();
        assert_eq!(ServiceAccountClaims::from_claims(&verified).unwrap(), claims);
    }
}
