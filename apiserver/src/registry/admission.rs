//! Typed admission: decode into the `k8s-openapi` type, report unknown fields, default, validate, re-encode.
//!
//! Going through the typed object is what makes stored JSON exactly Kubernetes' shape: fields the type does
//! not know are dropped (and reported under `fieldValidation=Strict`), and wrong types are rejected.

use std::fmt::Write as _;
use std::marker::PhantomData;

use api::defaults::ApplyDefaults;
use api::validation::{FieldError, Validate};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Why typed admission refused an object.
#[derive(Debug)]
pub enum AdmitError {
    /// The JSON does not fit the type (wrong value types, malformed quantities...).
    Decode(String),
    /// The object decoded but breaks Kubernetes' validation rules.
    Invalid(Vec<FieldError>),
}

/// The kind-specific half of admission, implemented once generically for every `k8s-openapi` type.
pub trait TypedKind: Sync {
    /// Dotted paths (`spec.foo`, `spec.containers[0].bar`) of fields the type does not know.
    fn unknown_fields(&self, object: &Value) -> Result<Vec<String>, AdmitError>;
    /// Decodes, applies defaults, validates (against `old` for updates) and re-encodes.
    fn admit(&self, object: Value, old: Option<&Value>) -> Result<Value, AdmitError>;
    /// Decodes and re-encodes only: what a status write stores.
    fn normalize(&self, object: Value) -> Result<Value, AdmitError>;
}

/// [`TypedKind`] for one `k8s-openapi` type.
pub struct Typed<T>(PhantomData<fn() -> T>);

impl<T> Typed<T> {
    /// The (stateless) instance the kind table points to.
    pub const NEW: Self = Typed(PhantomData);
}

fn decode<T: DeserializeOwned>(object: Value) -> Result<T, AdmitError> {
    serde_json::from_value(object).map_err(|e| AdmitError::Decode(e.to_string()))
}

fn encode<T: Serialize>(object: &T) -> Result<Value, AdmitError> {
    serde_json::to_value(object).map_err(|e| AdmitError::Decode(e.to_string()))
}

impl<T> TypedKind for Typed<T>
where
    T: DeserializeOwned + Serialize + ApplyDefaults + Validate,
{
    fn unknown_fields(&self, object: &Value) -> Result<Vec<String>, AdmitError> {
        let known = encode(&decode::<T>(object.clone())?)?;
        let mut unknown = Vec::new();
        missing_fields(object, &known, &mut String::new(), &mut unknown);
        Ok(unknown)
    }

    fn admit(&self, object: Value, old: Option<&Value>) -> Result<Value, AdmitError> {
        let mut typed: T = decode(object)?;
        typed.apply_defaults();
        let errors = match old {
            Some(old) => typed.validate_update(&decode::<T>(old.clone())?),
            None => typed.validate(),
        };
        if !errors.is_empty() {
            return Err(AdmitError::Invalid(errors));
        }
        encode(&typed)
    }

    fn normalize(&self, object: Value) -> Result<Value, AdmitError> {
        encode(&decode::<T>(object)?)
    }
}

/// Collects the paths present (and not null) in `given` but absent from `known`.
fn missing_fields(given: &Value, known: &Value, path: &mut String, out: &mut Vec<String>) {
    match (given, known) {
        (Value::Object(given), Value::Object(known)) => {
            for (field, value) in given {
                if value.is_null() {
                    continue;
                }
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(field);
                match known.get(field) {
                    Some(known_value) => missing_fields(value, known_value, path, out),
                    None => out.push(path.clone()),
                }
                path.truncate(len);
            }
        }
        (Value::Array(given), Value::Array(known)) => {
            for (i, (g, k)) in given.iter().zip(known).enumerate() {
                let len = path.len();
                let _ = write!(path, "[{i}]");
                missing_fields(g, k, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use serde_json::json;

    #[test]
    fn reports_unknown_fields_with_their_paths() {
        let typed = Typed::<Deployment>::NEW;
        let object = json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "bogus": 1},
            "spec": {"replicas": 1, "foo": "x", "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "a.wasm", "colour": "red"}]}}},
        });
        let unknown = typed.unknown_fields(&object).unwrap();
        assert_eq!(unknown, vec!["metadata.bogus", "spec.foo", "spec.template.spec.containers[0].colour"]);
    }

    #[test]
    fn wrong_value_types_are_decode_errors() {
        let typed = Typed::<Deployment>::NEW;
        let object = json!({"metadata": {"name": "web"}, "spec": {"replicas": "three"}});
        assert!(matches!(typed.admit(object, None), Err(AdmitError::Decode(_))));
    }
}
