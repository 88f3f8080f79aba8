//! Small accessors for the parts of an object's JSON every kind shares (`metadata`, `spec`, `status`).

use serde_json::{Map, Value};

use crate::store::Selectable;

use super::ResourceType;

/// `metadata`, created when absent.
pub fn meta_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object.is_object() {
        *object = Value::Object(Map::new());
    }
    let Value::Object(map) = object else { unreachable!("made an object above") };
    let meta = map.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    match meta {
        Value::Object(m) => m,
        _ => unreachable!("made an object above"),
    }
}

/// A string field of `metadata`.
pub fn meta_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get("metadata")?.get(field)?.as_str()
}

/// `metadata.name`, or empty.
pub fn name(object: &Value) -> &str {
    meta_str(object, "name").unwrap_or_default()
}

/// `metadata.finalizers` as strings.
pub fn finalizers(object: &Value) -> Vec<String> {
    object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|f| f.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Whether `metadata.deletionTimestamp` is set.
pub fn is_terminating(object: &Value) -> bool {
    object.pointer("/metadata/deletionTimestamp").is_some_and(|v| !v.is_null())
}

/// The current time as Kubernetes prints it (RFC 3339, seconds, UTC).
pub fn now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A time `seconds` from now, formatted as [`now`].
pub fn now_plus(seconds: i64) -> String {
    let later = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(seconds))
        .unwrap_or_else(|_| jiff::Timestamp::now());
    later.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Extracts what label and field selectors look at.
pub fn selectable(rt: &ResourceType, object: &Value) -> Selectable {
    let labels = object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default();
    let mut fields = vec![
        ("metadata.name", name(object).to_owned()),
        ("metadata.namespace", meta_str(object, "namespace").unwrap_or_default().to_owned()),
    ];
    for path in rt.selectable_fields {
        let pointer = format!("/{}", path.replace('.', "/"));
        let value = match object.pointer(&pointer) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::Number(n)) => n.to_string(),
            // Kubernetes selects an unset boolean as "false" and anything else unset as "".
            _ if *path == "spec.unschedulable" => "false".to_owned(),
            _ => String::new(),
        };
        fields.push((*path, value));
    }
    Selectable { labels, fields }
}
