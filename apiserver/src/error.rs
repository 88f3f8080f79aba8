//! `ApiError`: every failure a client can see, rendered as a Kubernetes `Status`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use crate::registry::ResourceType;

/// A failed request, carrying what the `Status` body needs. Internal failures are logged, not leaked.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// Kubernetes' machine-readable reason (`NotFound`, `Conflict`, ...). kube-rs checks only this.
    pub reason: &'static str,
    /// The human-readable message kubectl prints after `Error from server (<reason>):`.
    pub message: String,
    /// `details`: the object concerned and field causes.
    pub details: Option<Value>,
}

/// The result type of request handling.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self { code, reason, message: message.into(), details: None }
    }

    fn with_object(mut self, rt: &ResourceType, name: &str) -> Self {
        self.details = Some(json!({"name": name, "group": rt.group, "kind": rt.plural}));
        self
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 404 for an object of a served kind.
    pub fn not_found(rt: &ResourceType, name: &str) -> Self {
        Self::new(404, "NotFound", format!("{} \"{name}\" not found", rt.qualified_plural()))
            .with_object(rt, name)
    }

    /// 404 for a path that names nothing served.
    pub fn no_route(path: &str) -> Self {
        Self::new(404, "NotFound", format!("the server could not find the requested resource ({path})"))
    }

    /// 409 AlreadyExists.
    pub fn already_exists(rt: &ResourceType, name: &str) -> Self {
        Self::new(409, "AlreadyExists", format!("{} \"{name}\" already exists", rt.qualified_plural()))
            .with_object(rt, name)
    }

    /// 409 Conflict: the object changed since the client read it.
    pub fn conflict(rt: &ResourceType, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your \
                 changes to the latest version and try again",
                rt.qualified_plural()
            ),
        )
        .with_object(rt, name)
    }

    /// 409 Conflict with a specific message.
    pub fn conflict_with(rt: &ResourceType, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {} \"{name}\": {why}", rt.qualified_plural()),
        )
        .with_object(rt, name)
    }

    /// 403 Forbidden.
    pub fn forbidden(rt: &ResourceType, name: &str, why: &str) -> Self {
        Self::new(403, "Forbidden", format!("{} \"{name}\" is forbidden: {why}", rt.qualified_plural()))
            .with_object(rt, name)
    }

    /// 422 Invalid with field causes, in Kubernetes' message form.
    pub fn invalid(rt: &ResourceType, name: &str, errors: &[api::validation::FieldError]) -> Self {
        let kind = if rt.group.is_empty() { rt.kind.to_owned() } else { format!("{}.{}", rt.kind, rt.group) };
        let message = api::validation::invalid_message(&kind, name, errors);
        let causes: Vec<Value> = errors
            .iter()
            .map(|e| json!({"reason": e.kind.reason(), "message": e.cause_message(), "field": e.field}))
            .collect();
        let mut err = Self::new(422, "Invalid", message);
        err.details = Some(json!({"name": name, "group": rt.group, "kind": rt.kind, "causes": causes}));
        err
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed(what: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource ({what})"),
        )
    }

    /// 406 NotAcceptable.
    pub fn not_acceptable(accept: &str) -> Self {
        Self::new(
            406,
            "NotAcceptable",
            format!(
                "only the following media types are accepted: application/json, application/yaml; not {accept}"
            ),
        )
    }

    /// 410 Expired: a resource version older than the watch history.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 413 RequestEntityTooLarge.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    }

    /// 415 UnsupportedMediaType.
    pub fn unsupported_media_type(content_type: &str, supported: &[&str]) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: {}; got {content_type:?}",
                supported.join(", ")
            ),
        )
    }

    /// 500 InternalError; the cause is logged, the client gets a generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(500, "InternalError", "an internal error occurred; see the API server's log")
    }

    /// 503 ServiceUnavailable (storage failed).
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "storage unavailable");
        Self::new(503, "ServiceUnavailable", "the write was not committed: the store is unavailable; retry")
    }

    /// The `Status` object.
    pub fn status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = encode_status("Failure", &self.message, self.reason, self.details.as_ref(), self.code);
        (code, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

/// A `Status` body byte for byte as kube-apiserver encodes it: its Go struct's field order (`kind`, `apiVersion`,
/// `metadata`, `status`, `message`, `reason`, `details`, `code`), empty strings left out as `omitempty` does, and
/// the trailing newline of Go's JSON encoder. Some clients compare error bodies byte for byte.
pub fn encode_status(
    status: &str,
    message: &str,
    reason: &str,
    details: Option<&Value>,
    code: u16,
) -> String {
    let body = StatusBody {
        kind: "Status",
        api_version: "v1",
        metadata: Empty {},
        status,
        message,
        reason,
        details: details.map(StatusDetails::from_json),
        code,
    };
    let mut text = serde_json::to_string(&body).unwrap_or_default();
    text.push('\n');
    text
}

/// `metav1.Status`, its fields in Go's order (serde keeps a struct's order, unlike a `Value`'s sorted keys).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusBody<'a> {
    kind: &'static str,
    api_version: &'static str,
    metadata: Empty,
    status: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    message: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<StatusDetails<'a>>,
    code: u16,
}

#[derive(Serialize)]
struct Empty {}

/// `metav1.StatusDetails`, in Go's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusDetails<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    group: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    kind: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    uid: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    causes: Vec<StatusCause<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_seconds: Option<i64>,
}

/// `metav1.StatusCause`, in Go's order.
#[derive(Serialize)]
struct StatusCause<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    reason: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    message: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    field: &'a str,
}

/// A string field of `value`, empty when absent.
fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

impl<'a> StatusDetails<'a> {
    fn from_json(details: &'a Value) -> Self {
        let causes = details.get("causes").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        Self {
            name: text(details, "name"),
            group: text(details, "group"),
            kind: text(details, "kind"),
            uid: text(details, "uid"),
            causes: causes
                .iter()
                .map(|c| StatusCause {
                    reason: text(c, "reason"),
                    message: text(c, "message"),
                    field: text(c, "field"),
                })
                .collect(),
            retry_after_seconds: details.get("retryAfterSeconds").and_then(Value::as_i64),
        }
    }
}

#[cfg(test)]
mod status_encoding_tests {
    use super::encode_status;
    use serde_json::json;

    #[test]
    fn statuses_encode_as_kube_apiserver_encodes_them() {
        let details = json!({"name": "x", "group": "", "kind": "pods"});
        assert_eq!(
            encode_status("Failure", "pods \"x\" not found", "NotFound", Some(&details), 404),
            "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"pods \\\"x\\\" not found\",\"reason\":\"NotFound\",\"details\":{\"name\":\"x\",\"kind\":\"pods\"},\"code\":404}\n"
        );
        let invalid = json!({"name": "web", "group": "apps", "kind": "Deployment",
            "causes": [{"reason": "FieldValueRequired", "message": "Required value", "field": "spec.selector"}]});
        let body = encode_status("Failure", "invalid", "Invalid", Some(&invalid), 422);
        assert!(body.contains("\"details\":{\"name\":\"web\",\"group\":\"apps\",\"kind\":\"Deployment\",\"causes\":[{\"reason\":\"FieldValueRequired\",\"message\":\"Required value\",\"field\":\"spec.selector\"}]}"), "{body}");
        assert_eq!(
            encode_status("Success", "", "", None, 200),
            "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Success\",\"code\":200}\n"
        );
    }
}
