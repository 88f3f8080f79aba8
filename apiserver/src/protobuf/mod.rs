//! Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`), decoded into exactly the JSON
//! a Go client would have sent for the same object, so that defaulting, validation, admission and storage are
//! shared with JSON bodies.
//!
//! The wire form is the four bytes `k8s\0`, then a `runtime.Unknown` message {typeMeta {apiVersion, kind},
//! raw, contentEncoding, contentType} whose `raw` holds the typed message of Kubernetes' `generated.proto`.
//!
//! # Design
//!
//! The typed messages come from the `k8s-pb` crate (prost types generated from Kubernetes' `.proto` files),
//! but those types have no JSON form and their Rust names lose the JSON ones (`cluster_i_ps` for
//! `clusterIPs`). Instead of hand-writing a conversion per type, `messages.rs` is a schema table generated
//! from three sources and checked in:
//!
//! - `k8s-pb`'s prost attributes: messages, field tags, wire types, lists, maps, nested messages;
//! - `k8s-openapi`'s serde code: the JSON name of each field (`"podIP" => Field::Key_pod_ip`);
//! - `value_fields.txt`: which Go fields are plain values (not pointers) with `omitempty` (or `omitzero`).
//!   Go writes such a field even when it is zero, and zero then means "unset" (JSON leaves it out: kubectl's
//!   ConfigMap arrives with `namespace: ""`, `uid: ""`, `generation: 0`, which must not reach defaulting as
//!   set values), while a pointer field is written only when set and keeps an explicit zero (`replicas: 0`).
//!   Only the Go structs say which is which, so the generator derives this list from k8s.io/api and
//!   k8s.io/apimachinery checkouts when given them, and otherwise reads it.
//!
//! Go embeds some messages inline (`VolumeSource` in `Volume`, `ProbeHandler` in `Probe`): the table marks
//! them with an empty JSON name and their fields land in the parent object.
//!
//! The generator is the test `protobuf::generate::messages_are_up_to_date` (see `generate.rs` and
//! ARCHITECTURE.md): it rebuilds the table for every kind in [`crate::registry::KINDS`], the kinds of their
//! subresources that take a body (`Scale`, `Binding`, `Eviction`) and `DeleteOptions`, rewrites `messages.rs`
//! when it differs and fails, so a new kind or a dependency update shows up as a failing test with the fix
//! already made. A small generic decoder ([`decode()`]) walks protobuf bytes with the table, mapping the wrapper
//! types (`Time`, `MicroTime`, `Duration`, `Quantity`, `IntOrString`, `RawExtension`, `FieldsV1`) to their
//! JSON forms in `wrappers.rs`; an encoder ([`encode()`]) does the reverse (tests use it, and it can serve
//! protobuf responses). A generated table and one walker stay exact for every field of every kind, follow
//! Kubernetes upgrades by regeneration, and need no per-type code; the alternative, a hand-written
//! conversion from each k8s-pb type to its k8s-openapi twin, would be thousands of lines to keep in step.
//!
//! The decoder was checked against the serialisation fixtures of k8s.io/api (Go's own protobuf and JSON of
//! a fully populated object of every kind served): they agree field for field. Fields newer than the
//! `k8s-pb` release (Kubernetes 1.35) are skipped like any unknown protobuf field, and fields that release
//! has but the served version dropped (`PodSpec.workloadRef`) are not in the table.

mod decode;
mod encode;
#[cfg(test)]
mod generate;
#[rustfmt::skip]
mod messages;
mod schema;
#[cfg(test)]
mod tests;
mod wire;
mod wrappers;

use serde_json::Value;

pub use schema::{Field, Label, Message, Object, Type, Wrapper};
use wire::WireValue;

/// The media type of Kubernetes protobuf bodies.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The bytes every Kubernetes protobuf body starts with.
const MAGIC: &[u8] = b"k8s\0";

/// Why a protobuf body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The body is not a well-formed protobuf object of the kind the URL expects (400).
    #[error("{0}")]
    Malformed(String),
    /// The body is well-formed but names a kind that has no protobuf schema here (415).
    #[error("{0}")]
    Unsupported(String),
}

/// The kind a URL expects in its body.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// The `kind`.
    pub kind: &'a str,
    /// The `apiVersion`s accepted, the first being the one assumed when the body names none.
    pub api_versions: &'a [&'a str],
}

/// The top-level message of `apiVersion` and `kind`, if the table has it.
pub fn object(api_version: &str, kind: &str) -> Option<&'static Object> {
    messages::OBJECTS.iter().find(|o| o.api_version == api_version && o.kind == kind)
}

/// Decodes a protobuf body into the JSON object a JSON client would have sent, with `apiVersion` and `kind`.
pub fn decode(body: &[u8], expected: Expected<'_>) -> Result<Value, Error> {
    let malformed = |what: String| Error::Malformed(format!("the protobuf body is malformed: {what}"));
    let envelope = body.strip_prefix(MAGIC).ok_or_else(|| {
        Error::Malformed("the protobuf body does not start with the Kubernetes magic bytes \"k8s\\0\"".into())
    })?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for field in wire::fields(envelope) {
        match field.map_err(&malformed)? {
            (1, WireValue::Bytes(type_meta)) => {
                for field in wire::fields(type_meta) {
                    match field.map_err(&malformed)? {
                        (1, WireValue::Bytes(v)) => {
                            wrappers::utf8(v).map_err(&malformed)?.clone_into(&mut api_version);
                        }
                        (2, WireValue::Bytes(v)) => {
                            wrappers::utf8(v).map_err(&malformed)?.clone_into(&mut kind);
                        }
                        (1 | 2, other) => {
                            return Err(malformed(format!("typeMeta holds {}", other.describe())));
                        }
                        _ => {}
                    }
                }
            }
            (2, WireValue::Bytes(bytes)) => raw = bytes,
            (3, WireValue::Bytes(encoding)) if !encoding.is_empty() => {
                return Err(Error::Unsupported(format!(
                    "the protobuf body's content encoding {:?} is not supported; send it unencoded",
                    String::from_utf8_lossy(encoding)
                )));
            }
            (4, WireValue::Bytes(content_type))
                if !content_type.is_empty() && content_type != MEDIA_TYPE.as_bytes() =>
            {
                return Err(Error::Unsupported(format!(
                    "the protobuf body wraps content of type {:?}; only {MEDIA_TYPE} is supported",
                    String::from_utf8_lossy(content_type)
                )));
            }
            (1..=4, WireValue::Bytes(_)) => {}
            (1..=4, other) => {
                return Err(malformed(format!("the runtime.Unknown envelope holds {}", other.describe())));
            }
            _ => {}
        }
    }
    // Like kube-apiserver, fill what the envelope leaves out from the URL.
    if kind.is_empty() {
        expected.kind.clone_into(&mut kind);
    }
    if api_version.is_empty() {
        expected.api_versions.first().copied().unwrap_or_default().clone_into(&mut api_version);
    }
    if kind != expected.kind || !expected.api_versions.contains(&api_version.as_str()) {
        let wanted = expected.api_versions.first().copied().unwrap_or_default();
        return Err(Error::Malformed(format!(
            "the protobuf body holds a {api_version} {kind}, but this URL expects a {wanted} {}",
            expected.kind
        )));
    }
    let message = object(&api_version, &kind)
        .or_else(|| expected.api_versions.iter().find_map(|v| object(v, &kind)))
        .ok_or_else(|| {
            Error::Unsupported(format!("there is no protobuf schema for {api_version} {kind}; send JSON"))
        })?
        .message;
    let mut object = decode::message(raw, message).map_err(malformed)?;
    object.insert("apiVersion".into(), Value::String(api_version));
    object.insert("kind".into(), Value::String(kind));
    Ok(Value::Object(object))
}

/// Encodes a JSON object of a kind in the table as a Kubernetes protobuf body.
pub fn encode(object: &Value) -> Result<Vec<u8>, Error> {
    let text = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or_default();
    let (api_version, kind) = (text("apiVersion"), text("kind"));
    let schema = self::object(api_version, kind)
        .ok_or_else(|| Error::Unsupported(format!("there is no protobuf schema for {api_version} {kind}")))?;
    let fields =
        object.as_object().ok_or_else(|| Error::Malformed("the object is not a JSON object".into()))?;
    let mut raw = Vec::new();
    encode::message(fields, schema.message, &mut raw)
        .map_err(|e| Error::Malformed(format!("{kind}: {e}")))?;
    let mut type_meta = Vec::new();
    wire::put_bytes(&mut type_meta, 1, api_version.as_bytes());
    wire::put_bytes(&mut type_meta, 2, kind.as_bytes());
    let mut out = MAGIC.to_vec();
    wire::put_bytes(&mut out, 1, &type_meta);
    wire::put_bytes(&mut out, 2, &raw);
    wire::put_bytes(&mut out, 3, b"");
    wire::put_bytes(&mut out, 4, b"");
    Ok(out)
}
