//! Helpers shared by the validation tests.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::FieldError;

/// One edit to a test manifest: a JSON pointer and the value to put there (`null` removes the member).
pub(crate) type Edit = (&'static str, Value);

/// The errors as Kubernetes prints them.
pub(crate) fn messages(errors: &[FieldError]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

/// Decodes a manifest written with `json!`.
pub(crate) fn from_json<T: DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("test manifest must decode")
}

/// Sets the value at a JSON pointer (RFC 6901 escapes), creating objects along the way. Setting an object
/// member to `null` removes it, which is how an omitted field decodes.
pub(crate) fn set(object: &mut Value, pointer: &str, value: Value) {
    let mut current = object;
    let parts: Vec<String> =
        pointer.trim_start_matches('/').split('/').map(|p| p.replace("~1", "/").replace("~0", "~")).collect();
    let (last, parents) = parts.split_last().expect("pointer must not be empty");
    for part in parents {
        current = match current {
            Value::Array(items) => {
                let index = part.parse::<usize>().expect("array index");
                if index == items.len() {
                    items.push(Value::Null);
                }
                &mut items[index]
            }
            other => {
                if !other.is_object() {
                    *other = Value::Object(serde_json::Map::new());
                }
                other.as_object_mut().expect("object").entry(part.clone()).or_insert(Value::Null)
            }
        };
    }
    match current {
        Value::Array(items) => {
            let index = last.parse::<usize>().expect("array index");
            if index == items.len() {
                items.push(value);
            } else {
                items[index] = value;
            }
        }
        other => {
            if !other.is_object() {
                *other = Value::Object(serde_json::Map::new());
            }
            let map = other.as_object_mut().expect("object");
            if value.is_null() {
                map.remove(last.as_str());
            } else {
                map.insert(last.clone(), value);
            }
        }
    }
}

/// A copy of `base` with the given pointer/value edits applied.
pub(crate) fn with(base: &Value, edits: &[(&str, Value)]) -> Value {
    let mut object = base.clone();
    for (pointer, value) in edits {
        set(&mut object, pointer, value.clone());
    }
    object
}

/// Runs every case and reports all mismatches at once.
pub(crate) fn check_cases<C: std::fmt::Debug, E: std::fmt::Debug, A: PartialEq<E> + std::fmt::Debug>(
    cases: impl IntoIterator<Item = (C, E)>,
    run: impl Fn(&C) -> A,
) {
    let mut failures = Vec::new();
    for (case, expected) in cases {
        let actual = run(&case);
        if actual != expected {
            failures.push(format!("case {case:?}\n  expected: {expected:#?}\n  actual:   {actual:#?}"));
        }
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}
