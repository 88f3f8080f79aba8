//! Typed admission: decode into the `k8s-openapi` type, report unknown fields, default, validate, re-encode.
//!
//! Going through the typed object is what makes stored JSON exactly Kubernetes' shape: fields the type does
//! not know are dropped (and reported or rejected as `fieldValidation` asks), and wrong types are rejected.

use std::fmt::Write as _;
use std::marker::PhantomData;

use api::defaults::ApplyDefaults;
use api::validation::{FieldError, Validate};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::FieldValidation;

/// Why typed admission refused an object.
#[derive(Debug)]
pub enum AdmitError {
    /// The JSON does not fit the type (wrong value types, malformed quantities...).
    Decode(String),
    /// The object decoded but breaks Kubernetes' validation rules.
    Invalid(Vec<FieldError>),
    /// `fieldValidation=Strict` and the object has fields its type does not know (their dotted paths).
    UnknownFields(Vec<String>),
}

/// An admitted object.
pub struct Admitted {
    /// The object as it will be stored.
    pub object: Value,
    /// Fields of the request that the type does not know (empty unless asked for).
    pub unknown_fields: Vec<String>,
}

/// The kind-specific half of admission, implemented once generically for every `k8s-openapi` type.
pub trait TypedKind: Sync {
    /// Decodes, applies defaults, validates (against `old` for updates) and re-encodes, treating fields the type
    /// does not know (`spec.foo`, `spec.containers[0].bar`) as `fieldValidation` asks: dropped, reported, or
    /// rejected before validation runs, as Kubernetes orders the two.
    fn admit(
        &self,
        object: &Value,
        old: Option<&Value>,
        fields: FieldValidation,
    ) -> Result<Admitted, AdmitError>;
    /// Decodes and re-encodes only: what a status write stores.
    fn normalize(&self, object: Value) -> Result<Value, AdmitError>;
    /// Adds the type's OpenAPI schema (and those it refers to) to `generator`; returns its schema name
    /// (`io.k8s.api.apps.v1.Deployment`).
    fn schema(&self, generator: &mut schemars::SchemaGenerator) -> String;
}

/// [`TypedKind`] for one `k8s-openapi` type.
pub struct Typed<T>(PhantomData<fn() -> T>);

impl<T> Typed<T> {
    /// The (stateless) instance the kind table points to.
    pub const NEW: Self = Typed(PhantomData);
}

fn decode<'a, T: Deserialize<'a>>(object: &'a Value) -> Result<T, AdmitError> {
    T::deserialize(object).map_err(|e| AdmitError::Decode(e.to_string()))
}

fn encode<T: Serialize>(object: &T) -> Result<Value, AdmitError> {
    serde_json::to_value(object).map_err(|e| AdmitError::Decode(e.to_string()))
}

impl<T> TypedKind for Typed<T>
where
    T: DeserializeOwned + Serialize + ApplyDefaults + Validate + schemars::JsonSchema,
{
    fn admit(
        &self,
        object: &Value,
        old: Option<&Value>,
        fields: FieldValidation,
    ) -> Result<Admitted, AdmitError> {
        let mut typed: T = decode(object)?;
        let mut unknown_fields = Vec::new();
        if fields != FieldValidation::Ignore {
            missing_fields(object, &encode(&typed)?, &mut String::new(), &mut unknown_fields);
            if fields == FieldValidation::Strict && !unknown_fields.is_empty() {
                return Err(AdmitError::UnknownFields(unknown_fields));
            }
        }
        typed.apply_defaults();
        let errors = match old {
            Some(old) => {
                let old: T = decode(old)?;
                // Carries over what the server assigned (a Service's cluster IPs) when the client left it out.
                typed.prepare_update(&old);
                typed.validate_update(&old)
            }
            None => typed.validate(),
        };
        if !errors.is_empty() {
            return Err(AdmitError::Invalid(errors));
        }
        Ok(Admitted { object: encode(&typed)?, unknown_fields })
    }

    fn normalize(&self, object: Value) -> Result<Value, AdmitError> {
        encode(&decode::<T>(&object)?)
    }

    fn schema(&self, generator: &mut schemars::SchemaGenerator) -> String {
        generator.subschema_for::<T>();
        T::schema_name().into_owned()
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

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default", "bogus": 1},
            "spec": {"replicas": 1, "foo": "x", "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "a.wasm", "colour": "red"}]}}},
        })
    }

    #[test]
    fn reports_unknown_fields_with_their_paths() {
        let typed = Typed::<Deployment>::NEW;
        let admitted = typed.admit(&deployment(), None, FieldValidation::Warn).unwrap();
        assert_eq!(
            admitted.unknown_fields,
            vec!["metadata.bogus", "spec.foo", "spec.template.spec.containers[0].colour"]
        );
        assert!(admitted.object["spec"].get("foo").is_none());
        assert!(typed.admit(&deployment(), None, FieldValidation::Ignore).unwrap().unknown_fields.is_empty());
    }

    #[test]
    fn strict_rejects_unknown_fields_before_validation() {
        let mut invalid = deployment();
        invalid["spec"]["replicas"] = json!(-1);
        let typed = Typed::<Deployment>::NEW;
        assert!(
            matches!(typed.admit(&invalid, None, FieldValidation::Strict), Err(AdmitError::UnknownFields(f)) if f.len() == 3)
        );
        assert!(matches!(typed.admit(&invalid, None, FieldValidation::Warn), Err(AdmitError::Invalid(_))));
    }

    #[test]
    fn wrong_value_types_are_decode_errors() {
        let typed = Typed::<Deployment>::NEW;
        let object = json!({"metadata": {"name": "web"}, "spec": {"replicas": "three"}});
        assert!(matches!(typed.admit(&object, None, FieldValidation::Ignore), Err(AdmitError::Decode(_))));
    }
}
