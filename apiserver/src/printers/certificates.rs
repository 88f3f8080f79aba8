//! The printer of CertificateSigningRequests, as `kubectl get csr` shows them.

use jiff::Timestamp;
use serde_json::Value;

use super::fields::{created, field, list, name, text};
use super::{AGE, Column, NAME, column};

pub(super) const CSR_COLUMNS: &[Column] = &[
    NAME,
    AGE,
    column("SignerName", "string", "Signer of the certificate"),
    column("Requestor", "string", "Request originator"),
    column("RequestedDuration", "string", "Requested duration of the certificate"),
    column("Condition", "string", "Status of the request"),
];

pub(super) fn csr_cells(request: &Value, now: Timestamp) -> Vec<Value> {
    let duration = field(request, "/spec/expirationSeconds").and_then(Value::as_u64).map_or_else(
        || "<none>".to_owned(),
        |s| match s {
            s if s % 86_400 == 0 => format!("{}d", s / 86_400),
            s if s % 3600 == 0 => format!("{}h", s / 3600),
            s if s % 60 == 0 => format!("{}m", s / 60),
            s => format!("{s}s"),
        },
    );
    let mut conditions: Vec<&str> = list(request, "/status/conditions")
        .iter()
        .map(|c| text(c, "/type"))
        .filter(|t| !t.is_empty())
        .collect();
    if field(request, "/status/certificate").is_some_and(|c| !c.is_null()) {
        conditions.push("Issued");
    }
    let condition = if conditions.is_empty() { "Pending".to_owned() } else { conditions.join(",") };
    vec![
        name(request).into(),
        created(request, now).into(),
        text(request, "/spec/signerName").into(),
        text(request, "/spec/username").into(),
        duration.into(),
        condition.into(),
    ]
}
