//! Discovery: what kubectl and kube-rs read to learn the kinds served, in both the aggregated (v2) and the
//! legacy form, plus `/version`.

use serde_json::{Value, json};

use super::metrics;
use crate::registry::kinds::{self, KINDS, ResourceType};

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

/// Every group served besides core: the kinds' groups and the metrics API.
fn all_groups() -> Vec<(&'static str, &'static str)> {
    let mut groups = kinds::groups();
    groups.push((metrics::GROUP, metrics::VERSION));
    groups
}

/// `/apis` (legacy form).
pub fn groups() -> Value {
    let groups: Vec<Value> = all_groups().into_iter().map(|(g, v)| group_json(g, v)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`, if served.
pub fn group(name: &str) -> Option<Value> {
    all_groups().into_iter().find(|(g, _)| *g == name).map(|(g, v)| {
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
    if (group, version) == (metrics::GROUP, metrics::VERSION) {
        for (plural, singular, kind, namespaced) in metrics::RESOURCES {
            resources.push(
                json!({"name": plural, "singularName": singular, "namespaced": namespaced, "kind": kind,
                                  "verbs": ["get", "list"]}),
            );
        }
    }
    for rt in kinds_of(group).filter(|k| k.version == version) {
        resources.push(json!({
            "name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced, "kind": rt.kind,
            "verbs": rt.verbs(), "shortNames": rt.short_names, "categories": rt.categories,
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
    let mut items = Vec::new();
    if !core {
        let resources: Vec<Value> = metrics::RESOURCES
            .iter()
            .map(|(plural, singular, kind, namespaced)| {
                json!({"resource": plural, "singularResource": singular,
                       "responseKind": {"group": metrics::GROUP, "version": metrics::VERSION, "kind": kind},
                       "scope": if *namespaced { "Namespaced" } else { "Cluster" }, "verbs": ["get", "list"]})
            })
            .collect();
        items.push(json!({"metadata": {"name": metrics::GROUP, "creationTimestamp": null},
                          "versions": [{"version": metrics::VERSION, "resources": resources, "freshness": "Current"}]}));
    }
    let kinds_items = groups
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
                        "verbs": rt.verbs(),
                        "shortNames": rt.short_names,
                        "categories": rt.categories,
                        "subresources": subresources,
                    })
                })
                .collect();
            json!({"metadata": {"name": group, "creationTimestamp": null},
                   "versions": [{"version": version, "resources": resources, "freshness": "Current"}]})
        })
        .collect::<Vec<Value>>();
    let items: Vec<Value> = kinds_items.into_iter().chain(items).collect();
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
