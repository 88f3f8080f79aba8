//! Impersonation (`kubectl --as`, `--as-group`, `--as-uid`), as kube-apiserver's filter does it: the
//! `Impersonate-User`, `Impersonate-Group`, `Impersonate-Uid` and `Impersonate-Extra-<key>` headers make the
//! request act as someone else, when the authenticated user may `impersonate` each of them (users, groups,
//! ServiceAccounts, uids, userextras). The request is then authorised and audited as that user, and the audit
//! event names who impersonated.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::HeaderMap;

use super::authz::{Authorizer, Decision, forbidden};
use super::request::RequestInfo;
use super::{AUTHENTICATED, UserInfo};
use crate::error::ApiError;

const USER: &str = "impersonate-user";
const GROUP: &str = "impersonate-group";
const UID: &str = "impersonate-uid";
const EXTRA_PREFIX: &str = "impersonate-extra-";
const SA_PREFIX: &str = "system:serviceaccount:";

/// The user `requester` acts as, when the request asks to impersonate someone; `None` when it does not.
pub fn impersonate(
    authorizer: &Authorizer,
    requester: &UserInfo,
    headers: &HeaderMap,
) -> Result<Option<Arc<UserInfo>>, ApiError> {
    let values = |name: &str| -> Vec<String> {
        headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect()
    };
    let user = values(USER).into_iter().next();
    let groups = values(GROUP);
    let uid = values(UID).into_iter().next();
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        if let Some(key) = name.as_str().strip_prefix(EXTRA_PREFIX)
            && let Ok(value) = value.to_str()
        {
            let key = percent_decoded(key);
            extra.entry(key).or_default().push(value.to_owned());
        }
    }
    let Some(name) = user else {
        if groups.is_empty() && uid.is_none() && extra.is_empty() {
            return Ok(None);
        }
        return Err(ApiError::bad_request(
            "requested impersonation of groups, a uid or extras without impersonating a user",
        ));
    };
    let check = |resource: &str, group: &str, namespace: &str, object: &str, subresource: &str| {
        let info = RequestInfo {
            resource_request: true,
            verb: "impersonate",
            api_group: group.into(),
            api_version: "v1".into(),
            resource: resource.into(),
            subresource: subresource.into(),
            namespace: namespace.into(),
            name: object.into(),
            ..RequestInfo::default()
        };
        match authorizer.decide(requester, &info) {
            Decision::Allow(_) => Ok(()),
            Decision::Deny(reason) => Err(forbidden(requester, &info, &reason)),
        }
    };
    let mut groups = groups;
    match name.strip_prefix(SA_PREFIX).and_then(|rest| rest.split_once(':')) {
        Some((namespace, account)) => {
            check("serviceaccounts", "", namespace, account, "")?;
            if groups.is_empty() {
                groups = vec!["system:serviceaccounts".into(), format!("system:serviceaccounts:{namespace}")];
            }
        }
        None => check("users", "", "", &name, "")?,
    }
    for group in &groups {
        check("groups", "", "", group, "")?;
    }
    if let Some(uid) = &uid {
        check("uids", "authentication.k8s.io", "", uid, "")?;
    }
    for (key, values) in &extra {
        for value in values {
            check("userextras", "authentication.k8s.io", "", value, key)?;
        }
    }
    if name != "system:anonymous" && !groups.iter().any(|g| g == AUTHENTICATED) {
        groups.push(AUTHENTICATED.into());
    }
    Ok(Some(Arc::new(UserInfo { name, uid: uid.unwrap_or_default(), groups, extra })))
}

/// An extra's key as the header carries it, percent-encoded (header names cannot hold every character).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::percent_decoded;

    #[test]
    fn extra_keys_are_percent_decoded() {
        assert_eq!(percent_decoded("example.com%2fteam"), "example.com/team");
        assert_eq!(percent_decoded("scopes"), "scopes");
        assert_eq!(percent_decoded("bad%zz"), "bad%zz");
    }
}
