//! URL paths of the API, parsed into what they name.

use crate::error::{ApiError, Result};
use crate::registry::kinds::{self, ResourceType, Subresource};

/// What a path under `/api` or `/apis` names.
#[derive(Debug)]
pub enum Route {
    /// `/api`: the core group's versions.
    CoreVersions,
    /// `/apis`: every other group.
    Groups,
    /// `/apis/{group}`.
    Group(String),
    /// `/api/v1` or `/apis/{group}/{version}`: the resources of one group version.
    Resources {
        /// Empty for core.
        group: String,
        /// The version.
        version: String,
    },
    /// A collection, an object or an object's subresource.
    Resource(Target),
}

/// A collection, object or subresource of a served kind.
#[derive(Debug)]
pub struct Target {
    /// The kind.
    pub rt: &'static ResourceType,
    /// The namespace in the path, if any (none for a cluster-wide list of a namespaced kind).
    pub namespace: Option<String>,
    /// The object's name, if the path names one.
    pub name: Option<String>,
    /// The subresource, if the path names one.
    pub sub: Option<Subresource>,
}

/// Parses a request path.
pub fn parse(path: &str) -> Result<Route> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["api"] => Ok(Route::CoreVersions),
        ["api", version] => Ok(Route::Resources { group: String::new(), version: (*version).to_owned() }),
        ["api", version, rest @ ..] => resource("", version, rest, path),
        ["apis"] => Ok(Route::Groups),
        ["apis", group] => Ok(Route::Group((*group).to_owned())),
        ["apis", group, version] => {
            Ok(Route::Resources { group: (*group).to_owned(), version: (*version).to_owned() })
        }
        ["apis", group, version, rest @ ..] => resource(group, version, rest, path),
        _ => Err(ApiError::no_route(path)),
    }
}

fn resource(group: &str, version: &str, rest: &[&str], path: &str) -> Result<Route> {
    let kind =
        |plural: &str| kinds::by_plural(group, version, plural).ok_or_else(|| ApiError::no_route(path));
    let sub = |rt: &ResourceType, name: &str| {
        rt.subresources.iter().copied().find(|s| s.name() == name).ok_or_else(|| ApiError::no_route(path))
    };
    let valid = |s: &str| !s.is_empty();
    let target = match rest {
        [plural] if valid(plural) => Target { rt: kind(plural)?, namespace: None, name: None, sub: None },
        // `namespaces/{name}/{subresource}` of the Namespace kind itself, before namespaced collections.
        ["namespaces", name, sub_name] if group.is_empty() && matches!(*sub_name, "status" | "finalize") => {
            let rt = kind("namespaces")?;
            Target { rt, namespace: None, name: Some((*name).to_owned()), sub: Some(sub(rt, sub_name)?) }
        }
        ["namespaces", ns, plural] if valid(ns) => {
            Target { rt: kind(plural)?, namespace: Some((*ns).to_owned()), name: None, sub: None }
        }
        [plural, name] if valid(name) => {
            Target { rt: kind(plural)?, namespace: None, name: Some((*name).to_owned()), sub: None }
        }
        [plural, name, sub_name] if valid(name) => {
            let rt = kind(plural)?;
            Target { rt, namespace: None, name: Some((*name).to_owned()), sub: Some(sub(rt, sub_name)?) }
        }
        ["namespaces", ns, plural, name] if valid(ns) && valid(name) => Target {
            rt: kind(plural)?,
            namespace: Some((*ns).to_owned()),
            name: Some((*name).to_owned()),
            sub: None,
        },
        ["namespaces", ns, plural, name, sub_name] if valid(ns) && valid(name) => {
            let rt = kind(plural)?;
            Target {
                rt,
                namespace: Some((*ns).to_owned()),
                name: Some((*name).to_owned()),
                sub: Some(sub(rt, sub_name)?),
            }
        }
        _ => return Err(ApiError::no_route(path)),
    };
    // A namespaced object is only reachable through its namespace, a cluster-scoped one only without.
    if target.name.is_some() && target.rt.namespaced != target.namespace.is_some() {
        return Err(ApiError::no_route(path));
    }
    if !target.rt.namespaced && target.namespace.is_some() {
        return Err(ApiError::no_route(path));
    }
    Ok(Route::Resource(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (plural, namespace, name, subresource)
    type Parsed = (String, Option<String>, Option<String>, Option<&'static str>);

    fn target(path: &str) -> Option<Parsed> {
        match parse(path).ok()? {
            Route::Resource(t) => {
                Some((t.rt.plural.to_owned(), t.namespace, t.name, t.sub.map(Subresource::name)))
            }
            _ => None,
        }
    }

    #[test]
    fn resource_paths() {
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(target("/api/v1/pods"), Some(("pods".into(), None, None, None)));
        assert_eq!(target("/api/v1/namespaces/demo/pods"), Some(("pods".into(), s("demo"), None, None)));
        assert_eq!(
            target("/api/v1/namespaces/demo/pods/web"),
            Some(("pods".into(), s("demo"), s("web"), None))
        );
        assert_eq!(
            target("/api/v1/namespaces/demo/pods/web/binding"),
            Some(("pods".into(), s("demo"), s("web"), Some("binding")))
        );
        assert_eq!(target("/api/v1/namespaces/demo"), Some(("namespaces".into(), None, s("demo"), None)));
        assert_eq!(
            target("/api/v1/namespaces/demo/status"),
            Some(("namespaces".into(), None, s("demo"), Some("status")))
        );
        assert_eq!(target("/api/v1/nodes/n1/status"), Some(("nodes".into(), None, s("n1"), Some("status"))));
        assert_eq!(
            target("/apis/apps/v1/namespaces/d/deployments/web/scale"),
            Some(("deployments".into(), s("d"), s("web"), Some("scale")))
        );
    }

    #[test]
    fn paths_that_name_nothing() {
        for path in [
            "/api/v1/widgets",
            "/apis/apps/v1/pods",
            "/api/v1/pods/web",
            "/api/v1/namespaces/d/nodes/n1",
            "/api/v1/namespaces/d/configmaps/x/scale",
            "/api/v1/namespaces/d/pods/web/status/extra",
            "/api/v1/namespaces//pods",
        ] {
            assert!(parse(path).is_err(), "{path} should not parse");
        }
    }
}
