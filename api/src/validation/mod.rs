//! Kubernetes' validation rules for every kind Wharf serves, reported exactly as Kubernetes reports them.
//!
//! Each rule produces a [`FieldError`]: a machine-readable [`FieldErrorKind`] (the `reason` of a Status
//! cause), the offending field path (`spec.template.spec.containers[0].image`), the bad value and a detail.
//! Its [`Display`](std::fmt::Display) form is byte-for-byte Kubernetes' (`spec.replicas: Invalid value: -1:
//! must be greater than or equal to 0`), so clients and tests that match on messages keep working.
//!
//! The [`Validate`] trait is implemented for every served kind. Validation expects the object to have been
//! defaulted first ([`crate::defaults::ApplyDefaults`]) and, on create, to carry its final name (the server
//! turns `generateName` into `name` before validating) and its `uid`. Fields that defaulting would fill are
//! judged by their effective value when they are still unset, so validating an undefaulted object does not
//! produce spurious "Required" errors.
//!
//! The building blocks are public too: name and label syntax ([`is_dns1123_label`], [`is_qualified_name`],
//! ...), [`validate_object_meta`] and label-selector validation, for callers that check objects of their own.

mod apps;
mod batch;
mod certificates;
mod cluster;
mod config;
mod meta;
pub(crate) mod names;
mod network;
mod pod;
mod rbac;
mod resources;
mod service;

use std::fmt;

use serde::Serialize;
use serde_json::Value;

pub use meta::{
    NameRule, label_selector_matches, validate_annotations, validate_finalizers, validate_label_selector,
    validate_labels, validate_object_meta, validate_object_meta_update, validate_owner_references,
};
pub use names::{
    is_config_map_key, is_dns1035_label, is_dns1123_label, is_dns1123_subdomain, is_env_var_name,
    is_label_value, is_qualified_name, is_relaxed_env_var_name, is_valid_percent, is_valid_port_name,
    is_valid_port_num, validate_cidr, validate_ip,
};
pub use pod::{validate_pod_spec, validate_pod_template_spec};

/// Why a field is invalid; the `reason` Kubernetes puts in `Status.details.causes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldErrorKind {
    /// A required value is missing (`FieldValueRequired`).
    Required,
    /// The value is malformed or out of range (`FieldValueInvalid`).
    Invalid,
    /// The value is not one of an enumerated set (`FieldValueNotSupported`).
    NotSupported,
    /// The value collides with another that must be unique (`FieldValueDuplicate`).
    Duplicate,
    /// The value is too long; the value itself is not echoed (`FieldValueTooLong`).
    TooLong,
    /// The value is well-formed but not allowed here (`FieldValueForbidden`).
    Forbidden,
    /// A reference names something that does not exist (`FieldValueNotFound`).
    NotFound,
    /// A list has too many items (`FieldValueTooMany`).
    TooMany,
}

impl FieldErrorKind {
    /// The cause reason Kubernetes uses (`FieldValueInvalid`, ...).
    pub fn reason(self) -> &'static str {
        match self {
            Self::Required => "FieldValueRequired",
            Self::Invalid => "FieldValueInvalid",
            Self::NotSupported => "FieldValueNotSupported",
            Self::Duplicate => "FieldValueDuplicate",
            Self::TooLong => "FieldValueTooLong",
            Self::Forbidden => "FieldValueForbidden",
            Self::NotFound => "FieldValueNotFound",
            Self::TooMany => "FieldValueTooMany",
        }
    }

    /// The human-readable label that starts a message (`Invalid value`, `Required value`, ...).
    pub fn label(self) -> &'static str {
        match self {
            Self::Required => "Required value",
            Self::Invalid => "Invalid value",
            Self::NotSupported => "Unsupported value",
            Self::Duplicate => "Duplicate value",
            Self::TooLong => "Too long",
            Self::Forbidden => "Forbidden",
            Self::NotFound => "Not found",
            Self::TooMany => "Too many",
        }
    }
}

/// One field-level validation failure.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    /// What is wrong.
    pub kind: FieldErrorKind,
    /// The JSON path of the field, in Kubernetes' notation (`spec.containers[0].name`, `data[tls.crt]`).
    pub field: String,
    /// The offending value, echoed in the message for kinds that show it (not for Required, Forbidden and
    /// `TooLong`).
    pub value: Option<Value>,
    /// Why it is wrong; may be empty.
    pub detail: String,
}

impl FieldError {
    fn new(kind: FieldErrorKind, field: &FieldPath, value: Option<Value>, detail: impl Into<String>) -> Self {
        Self { kind, field: field.to_string(), value, detail: detail.into() }
    }

    /// A missing value: `field: Required value[: detail]`.
    pub fn required(field: &FieldPath, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorKind::Required, field, None, detail)
    }

    /// A malformed value: `field: Invalid value: <value>[: detail]`.
    pub fn invalid(field: &FieldPath, value: impl Serialize, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorKind::Invalid, field, Some(to_value(value)), detail)
    }

    /// A value outside an enumerated set: `field: Unsupported value: "x": supported values: "a", "b"`.
    pub fn not_supported(field: &FieldPath, value: impl Serialize, supported: &[&str]) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(FieldErrorKind::NotSupported, field, Some(to_value(value)), detail)
    }

    /// A value that must be unique: `field: Duplicate value: <value>`.
    pub fn duplicate(field: &FieldPath, value: impl Serialize) -> Self {
        Self::new(FieldErrorKind::Duplicate, field, Some(to_value(value)), "")
    }

    /// A value longer than `max` bytes: `field: Too long: may not be more than <max> bytes`.
    pub fn too_long(field: &FieldPath, max: usize) -> Self {
        let unit = if max == 1 { "byte" } else { "bytes" };
        Self::new(FieldErrorKind::TooLong, field, None, format!("may not be more than {max} {unit}"))
    }

    /// A value not allowed in this context: `field: Forbidden: detail`.
    pub fn forbidden(field: &FieldPath, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorKind::Forbidden, field, None, detail)
    }

    /// A reference to something missing: `field: Not found: <value>`.
    pub fn not_found(field: &FieldPath, value: impl Serialize) -> Self {
        Self::new(FieldErrorKind::NotFound, field, Some(to_value(value)), "")
    }

    /// A list with too many items: `field: Too many: <actual>: must have at most <max> items`.
    pub fn too_many(field: &FieldPath, actual: usize, max: usize) -> Self {
        Self::new(
            FieldErrorKind::TooMany,
            field,
            Some(Value::from(actual)),
            format!("must have at most {max} items"),
        )
    }

    /// Replaces the detail, for the few places where Kubernetes adds one to a Duplicate or `NotFound` error.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// The message without the field path, as Kubernetes puts it in a Status cause's `message`.
    pub fn cause_message(&self) -> String {
        let mut body = self.kind.label().to_owned();
        if !matches!(
            self.kind,
            FieldErrorKind::Required | FieldErrorKind::Forbidden | FieldErrorKind::TooLong
        ) {
            body.push_str(": ");
            body.push_str(&render_value(self.value.as_ref().unwrap_or(&Value::Null)));
        }
        if !self.detail.is_empty() {
            body.push_str(": ");
            body.push_str(&self.detail);
        }
        body
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.cause_message())
    }
}

impl std::error::Error for FieldError {}

/// The message of a 422 `Invalid` Status: `Deployment.apps "web" is invalid: [a: ..., b: ...]`.
///
/// `qualified_kind` is `Kind.group` (just `Kind` for the core group). Identical messages are reported once,
/// as Kubernetes' error aggregation does.
pub fn invalid_message(qualified_kind: &str, name: &str, errors: &[FieldError]) -> String {
    let mut messages: Vec<String> = Vec::with_capacity(errors.len());
    for message in errors.iter().map(ToString::to_string) {
        if !messages.contains(&message) {
            messages.push(message);
        }
    }
    let name = go_quote(name);
    match messages.as_slice() {
        [] => format!("{qualified_kind} {name} is invalid"),
        [one] => format!("{qualified_kind} {name} is invalid: {one}"),
        many => format!("{qualified_kind} {name} is invalid: [{}]", many.join(", ")),
    }
}

/// A field path in Kubernetes' notation, built like `field.NewPath("spec").Child("containers").Index(0)`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(String);

impl FieldPath {
    /// A root path (`metadata`, `spec`, ...).
    pub fn new(root: &str) -> Self {
        Self(root.to_owned())
    }

    /// `path.name`.
    #[must_use]
    pub fn child(&self, name: &str) -> Self {
        if self.0.is_empty() { Self(name.to_owned()) } else { Self(format!("{}.{name}", self.0)) }
    }

    /// `path[index]`.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        Self(format!("{}[{index}]", self.0))
    }

    /// `path[key]`, for map entries.
    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        Self(format!("{}[{key}]", self.0))
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Validation of a whole object, on create and on update.
pub trait Validate {
    /// Checks a new object (create). Returns every problem found, in Kubernetes' order where it matters.
    fn validate(&self) -> Vec<FieldError>;

    /// Checks an update from `old`: the create rules plus immutability rules. Defaults to
    /// [`validate`](Self::validate).
    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let _ = old;
        self.validate()
    }
}

fn to_value(value: impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Renders a bad value as Go's `field.Error` does: strings quoted with `%q`, scalars plain, anything else as
/// JSON (with Go's HTML-safe escaping).
fn render_value(value: &Value) -> String {
    match value {
        Value::String(s) => go_quote(s),
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(_) | Value::Object(_) => {
            let json = serde_json::to_string(value).unwrap_or_default();
            // encoding/json escapes these even inside strings; they can only occur inside strings here.
            json.replace('<', "\\u003c")
                .replace('>', "\\u003e")
                .replace('&', "\\u0026")
                .replace('\u{2028}', "\\u2028")
                .replace('\u{2029}', "\\u2029")
        }
    }
}

/// Go's `strconv.Quote`: double quotes, backslash escapes, printable Unicode kept as is.
pub(crate) fn go_quote(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                if (c as u32) <= 0xffff {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                } else {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod test_support;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(p: &str) -> FieldPath {
        FieldPath::new(p)
    }

    #[test]
    fn display_matches_kubernetes_for_each_kind() {
        let cases = [
            (
                FieldError::invalid(
                    &path("spec").child("replicas"),
                    -1,
                    "must be greater than or equal to 0",
                ),
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
            ),
            (
                FieldError::required(&path("metadata").child("name"), "name or generateName is required"),
                "metadata.name: Required value: name or generateName is required",
            ),
            (
                FieldError::not_supported(
                    &path("spec").child("restartPolicy"),
                    "Sometimes",
                    &["Always", "Never", "OnFailure"],
                ),
                "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"Never\", \
                 \"OnFailure\"",
            ),
            (
                FieldError::duplicate(&path("spec").child("containers").index(1).child("name"), "web"),
                "spec.containers[1].name: Duplicate value: \"web\"",
            ),
            (
                FieldError::too_long(&path("metadata").child("annotations"), 262_144),
                "metadata.annotations: Too long: may not be more than 262144 bytes",
            ),
            (FieldError::forbidden(&path("spec"), "nope"), "spec: Forbidden: nope"),
            (
                FieldError::not_found(
                    &path("spec").child("containers").index(0).child("volumeMounts").index(0).child("name"),
                    "data",
                ),
                "spec.containers[0].volumeMounts[0].name: Not found: \"data\"",
            ),
            (
                FieldError::too_many(&path("endpoints"), 1001, 1000),
                "endpoints: Too many: 1001: must have at most 1000 items",
            ),
            (FieldError::required(&path("spec").child("ports"), ""), "spec.ports: Required value"),
        ];
        for (error, expected) in cases {
            assert_eq!(error.to_string(), expected);
        }
    }

    #[test]
    fn reasons_match_kubernetes_cause_types() {
        let kinds = [
            (FieldErrorKind::Required, "FieldValueRequired"),
            (FieldErrorKind::Invalid, "FieldValueInvalid"),
            (FieldErrorKind::NotSupported, "FieldValueNotSupported"),
            (FieldErrorKind::Duplicate, "FieldValueDuplicate"),
            (FieldErrorKind::TooLong, "FieldValueTooLong"),
            (FieldErrorKind::Forbidden, "FieldValueForbidden"),
            (FieldErrorKind::NotFound, "FieldValueNotFound"),
            (FieldErrorKind::TooMany, "FieldValueTooMany"),
        ];
        for (kind, reason) in kinds {
            assert_eq!(kind.reason(), reason);
        }
    }

    #[test]
    fn cause_message_is_the_part_after_the_field() {
        let error =
            FieldError::invalid(&path("spec").child("replicas"), -1, "must be greater than or equal to 0");
        assert_eq!(error.cause_message(), "Invalid value: -1: must be greater than or equal to 0");
        assert_eq!(error.to_string(), format!("{}: {}", error.field, error.cause_message()));
    }

    #[test]
    fn composite_values_render_as_go_json() {
        let error = FieldError::invalid(
            &path("spec").child("template").child("metadata").child("labels"),
            json!({"app": "web", "tier": "<b>&"}),
            "`selector` does not match template `labels`",
        );
        assert_eq!(
            error.to_string(),
            "spec.template.metadata.labels: Invalid value: {\"app\":\"web\",\"tier\":\"\\u003cb\\u003e\\u0026\"}: \
             `selector` does not match template `labels`"
        );
        let null = FieldError::invalid(&path("x"), Value::Null, "d");
        assert_eq!(null.to_string(), "x: Invalid value: null: d");
        let list = FieldError::invalid(&path("x"), vec!["a", "b"], "d");
        assert_eq!(list.to_string(), "x: Invalid value: [\"a\",\"b\"]: d");
        let flag = FieldError::invalid(&path("x"), true, "d");
        assert_eq!(flag.to_string(), "x: Invalid value: true: d");
    }

    #[test]
    fn strings_are_quoted_like_go() {
        assert_eq!(go_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(go_quote("line\nnext\ttab"), "\"line\\nnext\\ttab\"");
        assert_eq!(go_quote("\u{1}"), "\"\\x01\"");
        assert_eq!(go_quote("héllo"), "\"héllo\"");
        assert_eq!(go_quote("\u{85}"), "\"\\u0085\"");
    }

    #[test]
    fn paths_compose_like_field_path() {
        let p = path("spec").child("containers").index(2).child("env").key("A_B");
        assert_eq!(p.as_str(), "spec.containers[2].env[A_B]");
        assert_eq!(FieldPath::default().child("data").as_str(), "data");
    }

    #[test]
    fn invalid_message_aggregates_like_kubernetes() {
        let one = FieldError::required(&path("spec").child("selector"), "");
        let two =
            FieldError::invalid(&path("spec").child("replicas"), -1, "must be greater than or equal to 0");
        assert_eq!(
            invalid_message("Deployment.apps", "web", std::slice::from_ref(&one)),
            "Deployment.apps \"web\" is invalid: spec.selector: Required value"
        );
        assert_eq!(
            invalid_message("Deployment.apps", "web", &[one.clone(), two.clone(), one.clone()]),
            "Deployment.apps \"web\" is invalid: [spec.selector: Required value, spec.replicas: Invalid value: -1: \
             must be greater than or equal to 0]"
        );
        assert_eq!(invalid_message("Pod", "p", &[]), "Pod \"p\" is invalid");
    }
}
