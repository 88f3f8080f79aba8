//! `ConfigMaps`, Secrets and `ServiceAccounts`: keys, sizes, type-specific Secret keys and the `immutable`
//! flag.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};

use super::meta::{NameRule, immutable, validate_object_meta_update};
use super::names::is_config_map_key;
use super::{FieldError, FieldPath, Validate, validate_object_meta};

/// The most data a `ConfigMap` or Secret may hold: 1024 × 1024 bytes.
const MAX_SECRET_SIZE: usize = 1024 * 1024;
const IMMUTABLE_MSG: &str = "field is immutable when `immutable` is set";

impl Validate for ConfigMap {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, NameRule::Dns1123Subdomain);
        let data_path = FieldPath::new("data");
        let binary_path = FieldPath::new("binaryData");
        let mut total = 0usize;
        for (key, value) in self.data.iter().flatten() {
            let field = data_path.key(key);
            errs.extend(is_config_map_key(key).into_iter().map(|m| FieldError::invalid(&field, key, m)));
            if self.binary_data.as_ref().is_some_and(|b| b.contains_key(key)) {
                errs.push(FieldError::invalid(&field, key, "duplicate of key present in binaryData"));
            }
            total = total.saturating_add(value.len());
        }
        for (key, value) in self.binary_data.iter().flatten() {
            let field = binary_path.key(key);
            errs.extend(is_config_map_key(key).into_iter().map(|m| FieldError::invalid(&field, key, m)));
            total = total.saturating_add(value.0.len());
        }
        if total > MAX_SECRET_SIZE {
            // Kubernetes reports this against an empty root path, which prints as "[]".
            errs.push(FieldError::too_long(&FieldPath::new("[]"), MAX_SECRET_SIZE));
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        if old.immutable == Some(true) {
            if self.immutable != Some(true) {
                errs.push(FieldError::forbidden(&FieldPath::new("immutable"), IMMUTABLE_MSG));
            }
            if !same_map(self.data.as_ref(), old.data.as_ref()) {
                errs.push(FieldError::forbidden(&FieldPath::new("data"), IMMUTABLE_MSG));
            }
            if !same_map(self.binary_data.as_ref(), old.binary_data.as_ref()) {
                errs.push(FieldError::forbidden(&FieldPath::new("binaryData"), IMMUTABLE_MSG));
            }
        }
        errs.extend(self.validate());
        errs
    }
}

/// Compares maps treating absent and empty alike, as the decoded Go objects would.
fn same_map<V: PartialEq>(a: Option<&BTreeMap<String, V>>, b: Option<&BTreeMap<String, V>>) -> bool {
    let empty = BTreeMap::new();
    a.unwrap_or(&empty) == b.unwrap_or(&empty)
}

impl Validate for Secret {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, NameRule::Dns1123Subdomain);
        let data_path = FieldPath::new("data");
        let empty = BTreeMap::new();
        let data: &BTreeMap<String, ByteString> = self.data.as_ref().unwrap_or(&empty);
        let mut total = 0usize;
        for (key, value) in data {
            let field = data_path.key(key);
            errs.extend(is_config_map_key(key).into_iter().map(|m| FieldError::invalid(&field, key, m)));
            total = total.saturating_add(value.0.len());
        }
        if total > MAX_SECRET_SIZE {
            errs.push(FieldError::too_long(&data_path, MAX_SECRET_SIZE));
        }
        let required = |key: &str| FieldError::required(&data_path.key(key), "");
        match self.type_.as_deref().unwrap_or("Opaque") {
            "kubernetes.io/service-account-token" => {
                let name = self
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get("kubernetes.io/service-account.name"));
                if name.is_none_or(String::is_empty) {
                    errs.push(FieldError::required(
                        &FieldPath::new("metadata")
                            .child("annotations")
                            .key("kubernetes.io/service-account.name"),
                        "",
                    ));
                }
            }
            "kubernetes.io/dockercfg" => errs.extend(json_key(data, ".dockercfg", &data_path)),
            "kubernetes.io/dockerconfigjson" => errs.extend(json_key(data, ".dockerconfigjson", &data_path)),
            // Either key may be empty, but one of them must be present.
            "kubernetes.io/basic-auth"
                if !data.contains_key("username") && !data.contains_key("password") =>
            {
                errs.push(required("username"));
                errs.push(required("password"));
            }
            "kubernetes.io/ssh-auth" if data.get("ssh-privatekey").is_none_or(|v| v.0.is_empty()) => {
                errs.push(required("ssh-privatekey"));
            }
            "kubernetes.io/tls" => {
                for key in ["tls.crt", "tls.key"] {
                    if !data.contains_key(key) {
                        errs.push(required(key));
                    }
                }
            }
            _ => {}
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        let (new_type, old_type) =
            (self.type_.as_deref().unwrap_or("Opaque"), old.type_.as_deref().unwrap_or("Opaque"));
        if new_type != old_type {
            errs.push(immutable(&FieldPath::new("type"), new_type));
        }
        if old.immutable == Some(true) {
            if self.immutable != Some(true) {
                errs.push(FieldError::forbidden(&FieldPath::new("immutable"), IMMUTABLE_MSG));
            }
            // stringData has already been folded into data by the time an update is validated.
            if !same_map(self.data.as_ref(), old.data.as_ref()) {
                errs.push(FieldError::forbidden(&FieldPath::new("data"), IMMUTABLE_MSG));
            }
        }
        errs.extend(self.validate());
        errs
    }
}

/// A docker config key must be present and hold a JSON object.
fn json_key(data: &BTreeMap<String, ByteString>, key: &str, data_path: &FieldPath) -> Option<FieldError> {
    let field = data_path.key(key);
    let Some(bytes) = data.get(key) else { return Some(FieldError::required(&field, "")) };
    match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&bytes.0) {
        Ok(_) => None,
        Err(e) => Some(FieldError::invalid(&field, "<secret contents redacted>", e.to_string())),
    }
}

impl Validate for ServiceAccount {
    fn validate(&self) -> Vec<FieldError> {
        validate_object_meta(&self.metadata, true, NameRule::Dns1123Subdomain)
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        errs.extend(self.validate());
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::test_support::{check_cases, from_json, messages, with};
    use serde_json::{Value, json};

    const KEY_ERR: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. \
                           'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

    fn config_map() -> Value {
        json!({"metadata": {"name": "settings", "namespace": "default"}, "data": {"a.conf": "x", "MODE": "prod"},
               "binaryData": {"logo.png": "AAEC"}})
    }

    fn secret() -> Value {
        json!({"metadata": {"name": "creds", "namespace": "default"}, "type": "Opaque", "data": {"token": "c2VjcmV0"}})
    }

    #[test]
    fn config_maps() {
        let run = |v: &Value| messages(&from_json::<ConfigMap>(v.clone()).validate());
        let cases: Vec<(Value, Vec<String>)> = vec![
            (config_map(), vec![]),
            (
                with(&config_map(), &[("/data/bad~key", json!("x"))]),
                vec![format!("data[bad~key]: Invalid value: \"bad~key\": {KEY_ERR}")],
            ),
            (
                with(&config_map(), &[("/data/..", json!("x"))]),
                vec!["data[..]: Invalid value: \"..\": must not be '..'".into()],
            ),
            (
                with(&config_map(), &[("/data/.", json!("x"))]),
                vec!["data[.]: Invalid value: \".\": must not be '.'".into()],
            ),
            (
                with(&config_map(), &[("/binaryData/a b", json!("AA=="))]),
                vec![format!("binaryData[a b]: Invalid value: \"a b\": {KEY_ERR}")],
            ),
            (
                with(&config_map(), &[("/data/logo.png", json!("x"))]),
                vec![
                    "data[logo.png]: Invalid value: \"logo.png\": duplicate of key present in binaryData"
                        .into(),
                ],
            ),
            (
                with(&config_map(), &[("/data/big", json!("x".repeat(MAX_SECRET_SIZE)))]),
                vec!["[]: Too long: may not be more than 1048576 bytes".into()],
            ),
            (with(&config_map(), &[("/data/k", json!("x".repeat(254)))]), vec![]),
            (
                with(&config_map(), &[(&format!("/data/{}", "k".repeat(254)), json!("x"))]),
                vec![format!(
                    "data[{}]: Invalid value: \"{}\": must be no more than 253 characters",
                    "k".repeat(254),
                    "k".repeat(254)
                )],
            ),
        ];
        check_cases(cases, run);
    }

    #[test]
    fn immutable_config_maps_reject_data_changes() {
        let old: ConfigMap = from_json(with(&config_map(), &[("/immutable", json!(true))]));
        let run = |v: &Value| messages(&from_json::<ConfigMap>(v.clone()).validate_update(&old));
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (
                with(&config_map(), &[("/immutable", json!(true)), ("/metadata/labels", json!({"a": "b"}))]),
                vec![],
            ),
            (
                with(&config_map(), &[("/immutable", json!(true)), ("/data/MODE", json!("dev"))]),
                vec!["data: Forbidden: field is immutable when `immutable` is set"],
            ),
            (
                with(&config_map(), &[("/immutable", json!(true)), ("/binaryData", Value::Null)]),
                vec!["binaryData: Forbidden: field is immutable when `immutable` is set"],
            ),
            (
                with(&config_map(), &[("/immutable", json!(false))]),
                vec!["immutable: Forbidden: field is immutable when `immutable` is set"],
            ),
        ];
        check_cases(cases, run);
        let mutable: ConfigMap = from_json(config_map());
        let changed: ConfigMap = from_json(with(&config_map(), &[("/data/MODE", json!("dev"))]));
        assert!(changed.validate_update(&mutable).is_empty());
    }

    #[test]
    fn secrets() {
        let run = |v: &Value| messages(&from_json::<Secret>(v.clone()).validate());
        let tls = json!({"metadata": {"name": "t", "namespace": "d"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}});
        let cases: Vec<(Value, Vec<String>)> = vec![
            (secret(), vec![]),
            (tls.clone(), vec![]),
            (
                with(&tls, &[("/data", json!({}))]),
                vec!["data[tls.crt]: Required value".into(), "data[tls.key]: Required value".into()],
            ),
            (with(&tls, &[("/data", json!({"tls.crt": ""}))]), vec!["data[tls.key]: Required value".into()]),
            (
                with(&secret(), &[("/data/a:b", json!(""))]),
                vec![format!("data[a:b]: Invalid value: \"a:b\": {KEY_ERR}")],
            ),
            (
                with(&secret(), &[("/type", json!("kubernetes.io/basic-auth"))]),
                vec!["data[username]: Required value".into(), "data[password]: Required value".into()],
            ),
            (
                with(
                    &secret(),
                    &[("/type", json!("kubernetes.io/basic-auth")), ("/data/username", json!(""))],
                ),
                vec![],
            ),
            (
                with(&secret(), &[("/type", json!("kubernetes.io/ssh-auth"))]),
                vec!["data[ssh-privatekey]: Required value".into()],
            ),
            (
                with(&secret(), &[("/type", json!("kubernetes.io/service-account-token"))]),
                vec!["metadata.annotations[kubernetes.io/service-account.name]: Required value".into()],
            ),
            (
                with(&secret(), &[("/type", json!("kubernetes.io/dockerconfigjson"))]),
                vec!["data[.dockerconfigjson]: Required value".into()],
            ),
            (
                with(
                    &secret(),
                    &[
                        ("/type", json!("kubernetes.io/dockerconfigjson")),
                        ("/data/.dockerconfigjson", json!("e30=")),
                    ],
                ),
                vec![],
            ),
            (with(&secret(), &[("/type", json!("example.com/custom"))]), vec![]),
        ];
        check_cases(cases, run);
        let bad_json: Secret = from_json(with(
            &secret(),
            &[("/type", json!("kubernetes.io/dockercfg")), ("/data/.dockercfg", json!("bm90IGpzb24="))],
        ));
        let errs = bad_json.validate();
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0]
                .to_string()
                .starts_with("data[.dockercfg]: Invalid value: \"<secret contents redacted>\": "),
            "{}",
            errs[0]
        );
        let big: Secret =
            from_json(with(&secret(), &[("/data/big", json!("A".repeat(MAX_SECRET_SIZE / 3 * 4 + 4)))]));
        assert_eq!(messages(&big.validate()), vec!["data: Too long: may not be more than 1048576 bytes"]);
    }

    #[test]
    fn secret_updates() {
        let old: Secret = from_json(with(&secret(), &[("/immutable", json!(true))]));
        let run = |v: &Value| messages(&from_json::<Secret>(v.clone()).validate_update(&old));
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (with(&secret(), &[("/immutable", json!(true))]), vec![]),
            (
                with(&secret(), &[("/immutable", json!(true)), ("/data/token", json!("b3RoZXI="))]),
                vec!["data: Forbidden: field is immutable when `immutable` is set"],
            ),
            (
                with(&secret(), &[("/immutable", Value::Null)]),
                vec!["immutable: Forbidden: field is immutable when `immutable` is set"],
            ),
            (
                with(
                    &secret(),
                    &[
                        ("/immutable", json!(true)),
                        ("/type", json!("kubernetes.io/basic-auth")),
                        ("/data/username", json!("")),
                    ],
                ),
                vec![
                    "type: Invalid value: \"kubernetes.io/basic-auth\": field is immutable",
                    "data: Forbidden: field is immutable when `immutable` is set",
                ],
            ),
        ];
        check_cases(cases, run);
    }

    #[test]
    fn service_accounts() {
        let sa: ServiceAccount = from_json(json!({"metadata": {"name": "default", "namespace": "d"}}));
        assert!(sa.validate().is_empty());
        let bad: ServiceAccount = from_json(json!({"metadata": {"name": "Default"}}));
        let errs = messages(&bad.validate());
        assert_eq!(errs.len(), 2);
        assert!(
            errs[0].starts_with("metadata.name: Invalid value: \"Default\": a lowercase RFC 1123 subdomain")
        );
        assert_eq!(errs[1], "metadata.namespace: Required value");
        let renamed: ServiceAccount = from_json(json!({"metadata": {"name": "other", "namespace": "d"}}));
        assert_eq!(
            messages(&renamed.validate_update(&sa)),
            vec!["metadata.name: Invalid value: \"other\": field is immutable"]
        );
    }
}
