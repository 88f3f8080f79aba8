//! The resource types a server serves, read from its discovery documents, and the names users give them: plural,
//! singular, kind, short names (`deploy`, `po`), `plural.group` and categories (`all`).

use anyhow::bail;
use futures::future::try_join_all;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use kube::discovery::ApiResource;

use super::Cluster;

/// One resource type, as discovery describes it.
#[derive(Clone, Debug)]
pub struct ResourceType {
    /// API group (`""` for the core group).
    pub group: String,
    /// The group's preferred version.
    pub version: String,
    /// Kind (`Deployment`).
    pub kind: String,
    /// Plural resource name (`deployments`).
    pub plural: String,
    /// Singular name (`deployment`).
    pub singular: String,
    /// Short names (`deploy`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// The verbs it supports (`list`, `watch`...).
    pub verbs: Vec<String>,
    /// Its subresources (`status`, `scale`, `log`).
    pub subresources: Vec<String>,
}

impl ResourceType {
    /// The kube-rs description, for typed-less API calls.
    pub fn api_resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.clone(),
            version: self.version.clone(),
            api_version: self.api_version(),
            kind: self.kind.clone(),
            plural: self.plural.clone(),
        }
    }

    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// How kubectl names the type in output: `deployment.apps`, `pod`.
    pub fn qualified_name(&self) -> String {
        let singular = self.kind.to_lowercase();
        if self.group.is_empty() { singular } else { format!("{singular}.{}", self.group) }
    }

    /// Whether it supports `verb`.
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// Whether `name` (lower-cased) is one of the names users give this type.
    fn answers_to(&self, name: &str) -> bool {
        let (name, group) = match name.split_once('.') {
            Some((name, group)) => (name, Some(group)),
            None => (name, None),
        };
        if group.is_some_and(|g| g != self.group && !self.group.starts_with(&format!("{g}."))) {
            return false;
        }
        name == self.plural
            || name == self.singular
            || name == self.kind.to_lowercase()
            || self.short_names.iter().any(|s| s == name)
    }
}

/// Every resource type of a server.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    types: Vec<ResourceType>,
}

impl Catalog {
    /// Reads `/api/v1` and the preferred version of every group under `/apis`.
    pub async fn discover(cluster: &Cluster) -> anyhow::Result<Self> {
        let client = &cluster.client;
        let groups = client.list_api_groups().await.map_err(|e| cluster.explain(e))?;
        let core = async {
            let list = client.list_core_api_resources("v1").await.map_err(|e| cluster.explain(e))?;
            Ok::<_, anyhow::Error>(("", list))
        };
        let named = groups.groups.iter().filter_map(|group| {
            let preferred = group.preferred_version.as_ref().or(group.versions.first())?;
            let group_version = preferred.group_version.clone();
            let name = group.name.as_str();
            Some(async move {
                let list =
                    client.list_api_group_resources(&group_version).await.map_err(|e| cluster.explain(e))?;
                Ok::<_, anyhow::Error>((name, list))
            })
        });
        let (core, named) = futures::try_join!(core, try_join_all(named))?;
        let mut catalog = Catalog::default();
        for (group, list) in std::iter::once(core).chain(named) {
            catalog.add(group, &list);
        }
        Ok(catalog)
    }

    fn add(&mut self, group: &str, list: &APIResourceList) {
        let version = list.group_version.rsplit('/').next().unwrap_or(&list.group_version).to_owned();
        for resource in &list.resources {
            if let Some((parent, subresource)) = resource.name.split_once('/') {
                if let Some(rt) = self.types.iter_mut().find(|t| t.group == group && t.plural == parent) {
                    rt.subresources.push(subresource.to_owned());
                }
                continue;
            }
            self.types.push(ResourceType {
                group: group.to_owned(),
                version: version.clone(),
                kind: resource.kind.clone(),
                plural: resource.name.clone(),
                singular: if resource.singular_name.is_empty() {
                    resource.kind.to_lowercase()
                } else {
                    resource.singular_name.clone()
                },
                short_names: resource.short_names.clone().unwrap_or_default(),
                categories: resource.categories.clone().unwrap_or_default(),
                namespaced: resource.namespaced,
                verbs: resource.verbs.clone(),
                subresources: Vec::new(),
            });
        }
    }

    /// The type a user means by `name` (`deploy`, `deployments.apps`, `Deployment`), or kubectl's error.
    pub fn resolve(&self, name: &str) -> anyhow::Result<&ResourceType> {
        let lower = name.to_lowercase();
        // The core group wins over others for a bare name, as kubectl's priority RESTMapper does (`events`).
        let mut matches = self.types.iter().filter(|t| t.answers_to(&lower));
        let first = matches.next();
        match first {
            Some(rt) => {
                Ok(self.types.iter().find(|t| t.answers_to(&lower) && t.group.is_empty()).unwrap_or(rt))
            }
            None => bail!("the server doesn't have a resource type {name:?}"),
        }
    }

    /// The type of an object with this `apiVersion` and `kind`.
    pub fn for_kind(&self, api_version: &str, kind: &str) -> Option<&ResourceType> {
        self.types.iter().find(|t| t.kind == kind && t.api_version() == api_version)
    }

    /// The types in a category (`all`), in discovery order.
    pub fn category(&self, category: &str) -> Vec<&ResourceType> {
        self.types.iter().filter(|t| t.categories.iter().any(|c| c == category)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let list = |gv: &str, resources: serde_json::Value| -> APIResourceList {
            serde_json::from_value(serde_json::json!({"groupVersion": gv, "resources": resources})).unwrap()
        };
        let mut catalog = Catalog::default();
        catalog.add("", &list("v1", serde_json::json!([
            {"name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod", "verbs": ["get", "list"], "shortNames": ["po"], "categories": ["all"]},
            {"name": "pods/log", "singularName": "", "namespaced": true, "kind": "Pod", "verbs": ["get"]},
            {"name": "events", "singularName": "event", "namespaced": true, "kind": "Event", "verbs": ["list"], "shortNames": ["ev"]},
            {"name": "namespaces", "singularName": "namespace", "namespaced": false, "kind": "Namespace", "verbs": ["list"], "shortNames": ["ns"]},
        ])));
        catalog.add("apps", &list("apps/v1", serde_json::json!([
            {"name": "deployments", "singularName": "deployment", "namespaced": true, "kind": "Deployment", "verbs": ["list"], "shortNames": ["deploy"], "categories": ["all"]},
            {"name": "deployments/scale", "singularName": "", "namespaced": true, "kind": "Scale", "verbs": ["get", "patch"]},
        ])));
        catalog.add("events.k8s.io", &list("events.k8s.io/v1", serde_json::json!([
            {"name": "events", "singularName": "event", "namespaced": true, "kind": "Event", "verbs": ["list"], "shortNames": ["ev"]},
        ])));
        catalog
    }

    #[test]
    fn every_name_kubectl_accepts_resolves() {
        let catalog = catalog();
        for name in ["deploy", "deployment", "deployments", "Deployment", "deployments.apps", "deploy.apps"] {
            assert_eq!(catalog.resolve(name).unwrap().qualified_name(), "deployment.apps", "{name}");
        }
        assert_eq!(catalog.resolve("po").unwrap().subresources, ["log"]);
        assert_eq!(catalog.resolve("deploy").unwrap().subresources, ["scale"]);
        assert!(!catalog.resolve("ns").unwrap().namespaced);
        assert_eq!(catalog.resolve("pods").unwrap().api_version(), "v1");
    }

    #[test]
    fn the_core_group_wins_a_shared_name_and_a_group_picks_the_other() {
        let catalog = catalog();
        assert_eq!(catalog.resolve("events").unwrap().group, "");
        assert_eq!(catalog.resolve("ev").unwrap().group, "");
        assert_eq!(catalog.resolve("events.events.k8s.io").unwrap().group, "events.k8s.io");
        assert_eq!(catalog.resolve("events.events").unwrap().group, "events.k8s.io");
    }

    #[test]
    fn unknown_names_get_kubectls_error() {
        let error = catalog().resolve("widgets").unwrap_err().to_string();
        assert_eq!(error, "the server doesn't have a resource type \"widgets\"");
        let all: Vec<String> = catalog().category("all").iter().map(|t| t.plural.clone()).collect();
        assert_eq!(all, ["pods", "deployments"]);
        assert!(catalog().for_kind("apps/v1", "Deployment").is_some());
        assert!(catalog().for_kind("apps/v2", "Deployment").is_none());
    }
}
