//! Printers of the configuration kinds: config maps, secrets and service accounts.

use jiff::Timestamp;
use serde_json::Value;

use super::fields::{count, created, list, map_len, name, non_empty, text};
use super::{AGE, Column, NAME, column};

pub(super) const CONFIGMAP_COLUMNS: &[Column] = &[NAME, column("Data", "string", doc::CONFIGMAP_DATA), AGE];

pub(super) fn configmap_cells(configmap: &Value, now: Timestamp) -> Vec<Value> {
    let entries = map_len(configmap, "/data") + map_len(configmap, "/binaryData");
    vec![name(configmap).into(), count(entries).into(), created(configmap, now).into()]
}

pub(super) const SECRET_COLUMNS: &[Column] =
    &[NAME, column("Type", "string", doc::SECRET_TYPE), column("Data", "string", doc::SECRET_DATA), AGE];

pub(super) fn secret_cells(secret: &Value, now: Timestamp) -> Vec<Value> {
    // type defaults to Opaque on create.
    let kind = non_empty(text(secret, "/type")).unwrap_or("Opaque");
    vec![
        name(secret).into(),
        kind.into(),
        count(map_len(secret, "/data")).into(),
        created(secret, now).into(),
    ]
}

pub(super) const SERVICEACCOUNT_COLUMNS: &[Column] =
    &[NAME, column("Secrets", "string", doc::SERVICEACCOUNT_SECRETS), AGE];

pub(super) fn serviceaccount_cells(account: &Value, now: Timestamp) -> Vec<Value> {
    vec![name(account).into(), count(list(account, "/secrets").len()).into(), created(account, now).into()]
}

/// Column descriptions: the Kubernetes API documentation strings (`SwaggerDoc()`) that printers.go uses.
mod doc {
    pub(super) const CONFIGMAP_DATA: &str = concat!(
        "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' ",
        "or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in ",
        "Data must not overlap with the keys in the BinaryData field, this is enforced during validation ",
        "process.",
    );
    pub(super) const SECRET_TYPE: &str = concat!(
        "Used to facilitate programmatic handling of secret data. More info: ",
        "https://kubernetes.io/docs/concepts/configuration/secret/#secret-types",
    );
    pub(super) const SECRET_DATA: &str = concat!(
        "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or ",
        "'.'. The serialized form of the secret data is a base64 encoded string, representing the ",
        "arbitrary (possibly non-string) data value here. Described in ",
        "https://tools.ietf.org/html/rfc4648#section-4",
    );
    pub(super) const SERVICEACCOUNT_SECRETS: &str = concat!(
        "Secrets is a list of the secrets in the same namespace that pods running using this ",
        "ServiceAccount are allowed to use. Pods are only limited to this list if this service account ",
        "has a \"kubernetes.io/enforce-mountable-secrets\" annotation set to \"true\". The ",
        "\"kubernetes.io/enforce-mountable-secrets\" annotation is deprecated since v1.32. Prefer ",
        "separate namespaces to isolate access to mounted secrets. This field should not be used to find ",
        "auto-generated service account token secrets for use outside of pods. Instead, tokens can be ",
        "requested directly using the TokenRequest API, or service account token secrets can be manually ",
        "created. More info: https://kubernetes.io/docs/concepts/configuration/secret",
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::printers::tests::{check_headers, check_rows, meta};

    #[test]
    fn headers_match_kubectl() {
        check_headers(&[
            ("configmaps", &["Name", "Data", "Age"], &[]),
            ("secrets", &["Name", "Type", "Data", "Age"], &[]),
            ("serviceaccounts", &["Name", "Secrets", "Age"], &[]),
        ]);
    }

    #[test]
    fn config_and_identity_rows() {
        check_rows(
            "configmaps",
            &[(
                "data and binary data both count",
                json!({
                    "metadata": meta("web-config"),
                    "data": { "GREETING": "hi", "COLOR": "blue" },
                    "binaryData": { "logo": "AAE=" },
                }),
                json!(["web-config", 3, "5m"]),
            )],
        );
        check_rows(
            "secrets",
            &[
                (
                    "tls",
                    json!({
                        "metadata": meta("tls"),
                        "type": "kubernetes.io/tls",
                        "data": { "tls.crt": "", "tls.key": "" },
                    }),
                    json!(["tls", "kubernetes.io/tls", 2, "5m"]),
                ),
                (
                    "type defaults to Opaque",
                    json!({ "metadata": meta("empty") }),
                    json!(["empty", "Opaque", 0, "5m"]),
                ),
            ],
        );
        check_rows(
            "serviceaccounts",
            &[
                ("default", json!({ "metadata": meta("default") }), json!(["default", 0, "5m"])),
                (
                    "with a secret",
                    json!({ "metadata": meta("builder"), "secrets": [{ "name": "builder-token" }] }),
                    json!(["builder", 1, "5m"]),
                ),
            ],
        );
    }
}
