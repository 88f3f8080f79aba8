//! The four patch formats Kubernetes accepts, applied to an object's JSON.

pub mod strategic;

use serde_json::Value;

use crate::error::{ApiError, Result};

/// A patch format, chosen by the request's `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchKind {
    /// RFC 6902 JSON Patch (`application/json-patch+json`), used by `kubectl rollout undo`.
    Json,
    /// RFC 7386 JSON Merge Patch (`application/merge-patch+json`), used by `label`, `annotate`, `scale`.
    Merge,
    /// Strategic merge patch (`application/strategic-merge-patch+json`), used by `apply`, `set image`.
    Strategic,
    /// Server-side apply (`application/apply-patch+yaml`): creates the object or merges into it.
    Apply,
}

/// The content types accepted for PATCH, for 415 messages.
pub const CONTENT_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];

impl PatchKind {
    /// The format of a `Content-Type` (parameters ignored), if it is a patch type.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        match content_type.split(';').next().unwrap_or_default().trim() {
            "application/json-patch+json" => Some(Self::Json),
            "application/merge-patch+json" => Some(Self::Merge),
            "application/strategic-merge-patch+json" => Some(Self::Strategic),
            "application/apply-patch+yaml" => Some(Self::Apply),
            _ => None,
        }
    }

    /// Parses a patch body: JSON for every format, and YAML too for apply.
    pub fn parse(self, body: &[u8]) -> Result<Value> {
        let parsed = match self {
            Self::Apply => serde_yaml::from_slice::<Value>(body).map_err(|e| e.to_string()),
            _ => serde_json::from_slice::<Value>(body).map_err(|e| e.to_string()),
        };
        let value = parsed.map_err(|e| ApiError::bad_request(format!("the patch body is not valid: {e}")))?;
        match (self, &value) {
            (Self::Json, Value::Array(_))
            | (Self::Merge | Self::Strategic | Self::Apply, Value::Object(_)) => Ok(value),
            (Self::Json, _) => Err(ApiError::bad_request("a JSON patch must be a JSON array of operations")),
            _ => Err(ApiError::bad_request("a merge patch must be a JSON object")),
        }
    }

    /// Applies a parsed patch to `original`, an object of Kubernetes kind `kind`.
    pub fn apply(self, kind: &str, original: &Value, patch: &Value) -> Result<Value> {
        match self {
            Self::Json => {
                let operations: json_patch::Patch = serde_json::from_value(patch.clone())
                    .map_err(|e| ApiError::bad_request(format!("the JSON patch is not valid: {e}")))?;
                let mut doc = original.clone();
                json_patch::patch(&mut doc, &operations).map_err(|e| ApiError {
                    code: 422,
                    reason: "Invalid",
                    message: format!("the JSON patch cannot be applied: {e}"),
                    details: None,
                })?;
                Ok(doc)
            }
            Self::Merge => {
                let mut doc = original.clone();
                json_patch::merge(&mut doc, patch);
                Ok(doc)
            }
            // Server-side apply without field ownership: the applied configuration is merged into the live object
            // the way a strategic merge patch would be. Fields removed from the configuration are not pruned.
            Self::Strategic | Self::Apply => strategic::apply(kind, original, patch).map_err(|e| {
                // Kubernetes answers some of these with 500; they are the client's mistakes, so 422 here.
                let (code, reason) =
                    if e.status_code() == 400 { (400, "BadRequest") } else { (422, "Invalid") };
                ApiError {
                    code,
                    reason,
                    message: format!("the strategic merge patch cannot be applied: {e}"),
                    details: None,
                }
            }),
        }
    }
}
