//! ServiceAccount tokens: issued by TokenRequest (`serviceaccounts/{name}/token`, so `kubectl create token`
//! works), bound to the ServiceAccount and optionally to a Pod, Secret or Node, expiring, signed ES256 JWTs. The
//! issuer's key is published at `/.well-known/openid-configuration` and `/openid/v1/jwks` so that others can
//! verify them. A token stops working when it expires or when what it is bound to is deleted (or replaced by an
//! object of the same name: the uid must match).

use serde_json::{Value, json};

use super::UserInfo;
use super::jwt::{BoundObject, ServiceAccountClaims, Signer};
use crate::error::{ApiError, Result};
use crate::registry::{Registry, ResourceType, kinds};

/// A token's lifetime when the request does not say (Kubernetes' default).
const DEFAULT_EXPIRATION_SECONDS: i64 = 3600;
/// The shortest lifetime a TokenRequest may ask for.
const MIN_EXPIRATION_SECONDS: i64 = 600;
/// The longest: Kubernetes caps requests at 2^32 seconds.
const MAX_EXPIRATION_SECONDS: i64 = 1 << 32;

/// The issuer of ServiceAccount tokens.
pub struct ServiceAccountTokens {
    signer: Signer,
    /// `iss` of every token (kube-apiserver's `--service-account-issuer`).
    pub issuer: String,
    /// Audiences the API server accepts (`--api-audiences`; the issuer by default).
    pub audiences: Vec<String>,
}

impl ServiceAccountTokens {
    /// An issuer signing with `signer`.
    pub fn new(signer: Signer, issuer: String) -> Self {
        Self { signer, audiences: vec![issuer.clone()], issuer }
    }

    /// The OpenID discovery document.
    pub fn openid_configuration(&self) -> Value {
        super::jwt::openid_configuration(&self.issuer, &format!("{}/openid/v1/jwks", self.issuer))
    }

    /// The public keys, as a JWK set.
    pub fn jwks(&self) -> Value {
        self.signer.jwks()
    }

    /// Answers a TokenRequest for the ServiceAccount `namespace/name`.
    pub fn issue(&self, registry: &Registry, namespace: &str, name: &str, request: &Value) -> Result<Value> {
        let accounts = kind("serviceaccounts")?;
        let account = registry.get(accounts, Some(namespace), name)?.value();
        let spec = request.get("spec").cloned().unwrap_or(Value::Null);
        let expiration = match spec.get("expirationSeconds") {
            None | Some(Value::Null) => DEFAULT_EXPIRATION_SECONDS,
            Some(v) => {
                v.as_i64().ok_or_else(|| invalid(name, "spec.expirationSeconds must be an integer"))?
            }
        };
        if expiration < MIN_EXPIRATION_SECONDS {
            return Err(invalid(
                name,
                "spec.expirationSeconds: Invalid value: may not specify a duration less than 10 minutes",
            ));
        }
        let expiration = expiration.min(MAX_EXPIRATION_SECONDS);
        let audiences: Vec<String> = match spec.get("audiences").and_then(Value::as_array) {
            Some(list) if !list.is_empty() => {
                list.iter().filter_map(Value::as_str).map(str::to_owned).collect()
            }
            _ => self.audiences.clone(),
        };
        let (bound, node) = match spec.get("boundObjectRef").filter(|r| !r.is_null()) {
            Some(reference) => bound_object(registry, namespace, name, reference)?,
            None => (None, None),
        };
        let now = jiff::Timestamp::now().as_second();
        let claims = ServiceAccountClaims {
            issuer: self.issuer.clone(),
            audiences: audiences.clone(),
            namespace: namespace.to_owned(),
            service_account_name: name.to_owned(),
            service_account_uid: meta_str(&account, "uid"),
            bound,
            node,
            issued_at: now,
            expires_at: now + expiration,
            token_id: uuid::Uuid::new_v4().to_string(),
        };
        let token = self.signer.sign(&claims.to_claims()).map_err(ApiError::internal)?;
        let expires = jiff::Timestamp::from_second(now + expiration).map_err(ApiError::internal)?;
        let mut answer = json!({
            "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": null},
            "spec": {"audiences": audiences, "expirationSeconds": expiration},
            "status": {"token": token, "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()},
        });
        if let Some(reference) = spec.get("boundObjectRef").filter(|r| !r.is_null()) {
            answer["spec"]["boundObjectRef"] = reference.clone();
        }
        Ok(answer)
    }

    /// The ServiceAccount user of a valid token of ours; `None` for anything else.
    pub fn authenticate(&self, registry: &Registry, token: &str) -> Option<UserInfo> {
        let claims = self.signer.verify(token, jiff::Timestamp::now().as_second()).ok()?;
        let claims = ServiceAccountClaims::from_claims(&claims).ok()?;
        if claims.issuer != self.issuer || !claims.audiences.iter().any(|a| self.audiences.contains(a)) {
            return None;
        }
        let account = registry.stored(
            kind("serviceaccounts").ok()?,
            Some(&claims.namespace),
            &claims.service_account_name,
        )?;
        let account = account.value();
        if meta_str(&account, "uid") != claims.service_account_uid || terminating(&account) {
            return None;
        }
        let mut user = UserInfo::new(
            format!("system:serviceaccount:{}:{}", claims.namespace, claims.service_account_name),
            ["system:serviceaccounts".to_owned(), format!("system:serviceaccounts:{}", claims.namespace)],
        );
        user.uid.clone_from(&claims.service_account_uid);
        user.extra.insert(
            "authentication.kubernetes.io/credential-id".into(),
            vec![format!("JTI={}", claims.token_id)],
        );
        if let Some(bound) = &claims.bound {
            let plural = match bound.kind.as_str() {
                "Pod" => "pods",
                "Secret" => "secrets",
                "Node" => "nodes",
                _ => return None,
            };
            let rt = kind(plural).ok()?;
            let namespace = rt.namespaced.then_some(claims.namespace.as_str());
            let object = registry.stored(rt, namespace, &bound.name)?.value();
            if meta_str(&object, "uid") != bound.uid || terminating(&object) {
                return None;
            }
            if bound.kind == "Pod" {
                user.extra.insert("authentication.kubernetes.io/pod-name".into(), vec![bound.name.clone()]);
                user.extra.insert("authentication.kubernetes.io/pod-uid".into(), vec![bound.uid.clone()]);
            }
        }
        if let Some((node, uid)) = &claims.node {
            user.extra.insert("authentication.kubernetes.io/node-name".into(), vec![node.clone()]);
            user.extra.insert("authentication.kubernetes.io/node-uid".into(), vec![uid.clone()]);
        }
        Some(user)
    }
}

/// What a TokenRequest's `boundObjectRef` names: it must exist (with the uid given, if any).
fn bound_object(
    registry: &Registry,
    namespace: &str,
    name: &str,
    reference: &Value,
) -> Result<(Option<BoundObject>, Option<NodeRef>)> {
    let field = |f: &str| reference.get(f).and_then(Value::as_str).unwrap_or_default().to_owned();
    let (kind_name, object_name, uid) = (field("kind"), field("name"), field("uid"));
    let plural = match kind_name.as_str() {
        "Pod" => "pods",
        "Secret" => "secrets",
        "Node" => "nodes",
        other => {
            return Err(invalid(
                name,
                &format!(
                    "spec.boundObjectRef.kind: Unsupported value: {other:?}: supported values: \"Pod\", \"Secret\", \"Node\""
                ),
            ));
        }
    };
    let rt = kind(plural)?;
    let object = registry.get(rt, rt.namespaced.then_some(namespace), &object_name)?.value();
    let actual_uid = meta_str(&object, "uid");
    if !uid.is_empty() && uid != actual_uid {
        return Err(ApiError::conflict_with(
            rt,
            &object_name,
            &format!(
                "the UID in the bound object reference ({uid}) does not match the UID in record ({actual_uid})"
            ),
        ));
    }
    let node = if kind_name == "Pod" {
        object.pointer("/spec/nodeName").and_then(Value::as_str).and_then(|node| {
            let stored = registry.stored(kind("nodes").ok()?, None, node)?;
            Some((node.to_owned(), meta_str(&stored.value(), "uid")))
        })
    } else {
        None
    };
    Ok((Some(BoundObject { kind: kind_name, name: object_name, uid: actual_uid }), node))
}

/// A node's name and uid, for the claims of a token bound to a pod on it.
type NodeRef = (String, String);

fn kind(plural: &str) -> Result<&'static ResourceType> {
    let group = "";
    kinds::by_plural(group, "v1", plural).ok_or_else(|| ApiError::internal(format!("no {plural} kind")))
}

fn meta_str(object: &Value, field: &str) -> String {
    object.pointer(&format!("/metadata/{field}")).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn terminating(object: &Value) -> bool {
    object.pointer("/metadata/deletionTimestamp").is_some_and(|t| !t.is_null())
}

fn invalid(name: &str, message: &str) -> ApiError {
    ApiError {
        code: 422,
        reason: "Invalid",
        message: format!("TokenRequest.authentication.k8s.io \"{name}\" is invalid: {message}"),
        details: Some(json!({"name": name, "group": "authentication.k8s.io", "kind": "TokenRequest"})),
    }
}
