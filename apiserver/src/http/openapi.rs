//! OpenAPI v3: one document per group version, with the schemas of every kind served (generated from the
//! `k8s-openapi` types, so `kubectl explain` shows Kubernetes' own field docs) and a PATCH operation per kind
//! listing `fieldValidation`, which is what kubectl checks before it relies on server-side field validation.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

use crate::registry::kinds::{self, KINDS, ResourceType};

/// The documents, built once: the schemas do not change while the server runs.
fn documents() -> &'static BTreeMap<String, Value> {
    static DOCUMENTS: OnceLock<BTreeMap<String, Value>> = OnceLock::new();
    DOCUMENTS.get_or_init(|| {
        let mut gvs = vec![("", "v1")];
        gvs.extend(kinds::groups());
        gvs.into_iter().map(|(g, v)| (path_of(g, v), build(g, v))).collect()
    })
}

/// `api/v1` or `apis/apps/v1`: the key of a group version in the index.
fn path_of(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

/// A hash of a document, so kubectl's URL-keyed cache refreshes when it changes.
fn hash_of(document: &Value) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    document.to_string().hash(&mut h);
    format!("{:016X}", h.finish())
}

/// `/openapi/v3`.
pub fn index() -> Value {
    let paths: serde_json::Map<String, Value> = documents()
        .iter()
        .map(|(path, doc)| {
            (path.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={}", hash_of(doc))}))
        })
        .collect();
    json!({"paths": paths})
}

/// `/openapi/v3/api/v1` or `/openapi/v3/apis/{group}/{version}`, if served.
pub fn document(group: &str, version: &str) -> Option<&'static Value> {
    documents().get(&path_of(group, version))
}

fn build(group: &str, version: &str) -> Value {
    let served: Vec<&ResourceType> =
        KINDS.iter().filter(|k| k.group == group && k.version == version).collect();
    let mut generator = SchemaSettings::openapi3().into_generator();
    let names: Vec<(String, &ResourceType)> =
        served.iter().map(|rt| (rt.typed.schema(&mut generator), *rt)).collect();
    let mut schemas = generator.take_definitions(true);
    for (name, rt) in &names {
        if let Some(schema) = schemas.get_mut(name).and_then(Value::as_object_mut) {
            schema.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([{"group": rt.group, "version": rt.version, "kind": rt.kind}]),
            );
        }
    }
    let mut paths = serde_json::Map::new();
    for (name, rt) in &names {
        let prefix = format!("/{}", path_of(group, version));
        let path = if rt.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", rt.plural)
        } else {
            format!("{prefix}/{}/{{name}}", rt.plural)
        };
        let params: Vec<Value> = [
            ("fieldValidation", "string"),
            ("fieldManager", "string"),
            ("dryRun", "string"),
            ("force", "boolean"),
        ]
        .iter()
        .map(|(param, ty)| json!({"name": param, "in": "query", "schema": {"type": ty}}))
        .collect();
        let gvk = json!({"group": rt.group, "version": rt.version, "kind": rt.kind});
        let body = json!({"content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}}});
        paths.insert(
            path,
            json!({
                "get": {"operationId": format!("read{}", rt.kind), "x-kubernetes-group-version-kind": gvk,
                        "responses": {"200": body}},
                "patch": {"operationId": format!("patch{}", rt.kind), "x-kubernetes-group-version-kind": gvk,
                          "parameters": params, "responses": {"200": body}},
            }),
        );
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.37.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_carry_kind_schemas_with_their_field_docs() {
        let apps = document("apps", "v1").unwrap();
        let deployment = &apps["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(deployment["x-kubernetes-group-version-kind"][0]["kind"], "Deployment");
        assert!(deployment["description"].as_str().unwrap().contains("declarative updates"));
        assert!(
            apps["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"].is_object(),
            "referenced schemas are included"
        );
        let patch = &apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert!(patch["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "fieldValidation"));
        assert!(document("apps", "v2").is_none());
        let index = index();
        assert!(
            index["paths"]["api/v1"]["serverRelativeURL"]
                .as_str()
                .unwrap()
                .starts_with("/openapi/v3/api/v1?hash=")
        );
    }
}
