//! Discovery: what kubectl and kube-rs read to learn the kinds served, in both the aggregated (v2) and the
//! legacy form, plus `/version` and the OpenAPI v3 documents kubectl consults before `apply`.

use serde_json::{Value, json};

use crate::registry::kinds::{self, ALL_VERBS, KINDS, ResourceType};

/// The media type of aggregated discovery; the response must carry it for clients to parse the body as such.
pub const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether an `Accept` header asks for aggregated discovery (v2 or v2beta1 are both answered with v2, which
/// clients list first).
pub fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let params: Vec<&str> = part.split(';').map(str::trim).collect();
        params.contains(&"g=apidiscovery.k8s.io") && params.contains(&"as=APIGroupDiscoveryList")
    })
}

fn kinds_of(group: &str) -> impl Iterator<Item = &'static ResourceType> + use<'_> {
    KINDS.iter().filter(move |k| k.group == group)
}

/// `/api` (legacy form).
pub fn core_versions() -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
}

/// `/apis` (legacy form).
pub fn groups() -> Value {
    let groups: Vec<Value> = kinds::groups().into_iter().map(|(g, v)| group_json(g, v)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`, if served.
pub fn group(name: &str) -> Option<Value> {
    kinds::groups().into_iter().find(|(g, _)| *g == name).map(|(g, v)| {
        let mut group = group_json(g, v);
        group["kind"] = json!("APIGroup");
        group["apiVersion"] = json!("v1");
        group
    })
}

fn group_json(group: &str, version: &str) -> Value {
    let gv = format!("{group}/{version}");
    json!({"name": group, "versions": [{"groupVersion": gv, "version": version}],
           "preferredVersion": {"groupVersion": gv, "version": version}})
}

/// `/api/v1` or `/apis/{group}/{version}` (`APIResourceList`), if served.
pub fn resources(group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for rt in kinds_of(group).filter(|k| k.version == version) {
        resources.push(json!({
            "name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced, "kind": rt.kind,
            "verbs": ALL_VERBS, "shortNames": rt.short_names, "categories": rt.categories,
        }));
        for sub in rt.subresources {
            let (g, v, k) = sub.response_kind(rt);
            let mut entry = json!({"name": format!("{}/{}", rt.plural, sub.name()), "singularName": "",
                                   "namespaced": rt.namespaced, "kind": k, "verbs": sub.verbs()});
            if g != rt.group {
                entry["group"] = json!(g);
                entry["version"] = json!(v);
            }
            resources.push(entry);
        }
    }
    if resources.is_empty() {
        return None;
    }
    let gv = if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}))
}

/// Aggregated discovery of the core group (`/api`) or of every other group (`/apis`).
pub fn aggregated(core: bool) -> Value {
    let groups: Vec<(&str, &str)> = if core { vec![("", "v1")] } else { kinds::groups() };
    let items: Vec<Value> = groups
        .into_iter()
        .map(|(group, version)| {
            let resources: Vec<Value> = kinds_of(group)
                .map(|rt| {
                    let subresources: Vec<Value> = rt
                        .subresources
                        .iter()
                        .map(|sub| {
                            let (g, v, k) = sub.response_kind(rt);
                            json!({"subresource": sub.name(), "responseKind": {"group": g, "version": v, "kind": k},
                                   "verbs": sub.verbs()})
                        })
                        .collect();
                    json!({
                        "resource": rt.plural,
                        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
                        "scope": if rt.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": rt.singular,
                        "verbs": ALL_VERBS,
                        "shortNames": rt.short_names,
                        "categories": rt.categories,
                        "subresources": subresources,
                    })
                })
                .collect();
            json!({"metadata": {"name": group, "creationTimestamp": null},
                   "versions": [{"version": version, "resources": resources, "freshness": "Current"}]})
        })
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

/// `/version`. The minor version stays within kubectl's supported skew.
pub fn version() -> Value {
    json!({
        "major": "1", "minor": "37", "gitVersion": concat!("v1.37.0-wharf.", env!("CARGO_PKG_VERSION")),
        "gitCommit": "", "gitTreeState": "clean", "buildDate": "", "goVersion": "",
        "compiler": "rustc", "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
    })
}

/// A hash of what the OpenAPI documents describe, so kubectl's URL-keyed cache refreshes when they change.
fn openapi_hash() -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for rt in KINDS {
        (rt.group, rt.version, rt.kind, rt.plural).hash(&mut h);
    }
    env!("CARGO_PKG_VERSION").hash(&mut h);
    format!("{:016X}", h.finish())
}

/// `/openapi/v3`: one document per group version.
pub fn openapi_index() -> Value {
    let hash = openapi_hash();
    let mut paths = serde_json::Map::new();
    paths.insert("api/v1".into(), json!({"serverRelativeURL": format!("/openapi/v3/api/v1?hash={hash}")}));
    for (g, v) in kinds::groups() {
        paths.insert(
            format!("apis/{g}/{v}"),
            json!({"serverRelativeURL": format!("/openapi/v3/apis/{g}/{v}?hash={hash}")}),
        );
    }
    json!({"paths": paths})
}

/// `/openapi/v3/api/v1` or `/openapi/v3/apis/{group}/{version}`: the operations kubectl checks for server-side
/// field validation (a PATCH per kind listing `fieldValidation`). Schemas are not served yet.
pub fn openapi_document(group: &str, version: &str) -> Option<Value> {
    let mut paths = serde_json::Map::new();
    for rt in kinds_of(group).filter(|k| k.version == version) {
        let prefix =
            if group.is_empty() { format!("/api/{version}") } else { format!("/apis/{group}/{version}") };
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
        .map(|(name, ty)| json!({"name": name, "in": "query", "schema": {"type": ty}}))
        .collect();
        paths.insert(path, json!({"patch": {
            "operationId": format!("patch{}", rt.kind),
            "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
            "parameters": params,
            "responses": {"200": {"description": "OK"}},
        }}));
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.37.0"}, "paths": paths,
                "components": {"schemas": {}}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregated_accept_headers() {
        let kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
        assert!(wants_aggregated(kubectl));
        assert!(!wants_aggregated("application/json, */*"));
        assert!(!wants_aggregated(""));
    }

    #[test]
    fn legacy_resource_list_names_subresources_with_their_kinds() {
        let apps = resources("apps", "v1").unwrap();
        let scale =
            apps["resources"].as_array().unwrap().iter().find(|r| r["name"] == "deployments/scale").unwrap();
        assert_eq!((scale["group"].as_str(), scale["kind"].as_str()), (Some("autoscaling"), Some("Scale")));
        assert!(resources("apps", "v2").is_none());
    }
}
