//! What a request asks for, as kube-apiserver's `RequestInfoFactory` parses it: a resource request (verb, API
//! group, version, resource, subresource, namespace, name) or a non-resource one (the path and the lowercase HTTP
//! method). Parsed once per request from the path alone, so a request for something that is not served is still
//! authorised (and audited) before it gets its 404, as in Kubernetes.

use axum::http::Method;

/// A request's attributes for authorisation and audit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// Whether the path is under `/api/<version>/` or `/apis/<group>/<version>/` and names a resource.
    pub resource_request: bool,
    /// The Kubernetes verb (`get`, `list`, `watch`, `create`, …), or the lowercase method of a non-resource request.
    pub verb: &'static str,
    /// The path, for non-resource requests and audit.
    pub path: String,
    /// The API group; empty for core.
    pub api_group: String,
    /// The API version.
    pub api_version: String,
    /// The resource (`pods`).
    pub resource: String,
    /// The subresource (`log`, `status`), or empty.
    pub subresource: String,
    /// The namespace, or empty for cluster-scoped and all-namespace requests.
    pub namespace: String,
    /// The object's name, or empty for collections.
    pub name: String,
    /// For a list or watch, the name its `fieldSelector` pins (`metadata.name=x`): what a node may watch of a
    /// Secret it may read.
    pub name_selector: String,
}

/// `namespaces/{name}/{sub}` names a subresource of the namespace, not a resource inside it.
const NAMESPACE_SUBRESOURCES: &[&str] = &["status", "finalize"];

impl RequestInfo {
    /// Parses a request line.
    pub fn parse(method: &Method, path: &str, query: Option<&str>) -> Self {
        let watch = query.is_some_and(|q| q.split('&').any(|kv| kv == "watch=true" || kv == "watch=1"));
        let segments: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
        let (api_group, api_version, parts) = match segments.as_slice() {
            ["api", version, rest @ ..] if !rest.is_empty() => ("", *version, rest),
            ["apis", group, version, rest @ ..] if !rest.is_empty() => (*group, *version, rest),
            _ => return Self::non_resource(method, path),
        };
        let mut info = Self {
            resource_request: true,
            path: path.to_owned(),
            api_group: api_group.to_owned(),
            api_version: api_version.to_owned(),
            ..Self::default()
        };
        let mut parts = parts;
        if parts[0] == "namespaces" && parts.len() >= 2 {
            parts[1].clone_into(&mut info.namespace);
            if parts.len() >= 3 && !NAMESPACE_SUBRESOURCES.contains(&parts[2]) {
                parts = &parts[2..];
            }
        }
        parts[0].clone_into(&mut info.resource);
        info.name = parts.get(1).map(|s| (*s).to_owned()).unwrap_or_default();
        info.subresource = parts.get(2).map(|s| (*s).to_owned()).unwrap_or_default();
        let named = !info.name.is_empty();
        info.name_selector = query.and_then(name_selector).unwrap_or_default();
        info.verb = match *method {
            Method::GET | Method::HEAD if watch => "watch",
            Method::GET | Method::HEAD if named => "get",
            Method::GET | Method::HEAD => "list",
            Method::POST => "create",
            Method::PUT => "update",
            Method::PATCH => "patch",
            Method::DELETE if named => "delete",
            Method::DELETE => "deletecollection",
            _ => "unknown",
        };
        info
    }

    fn non_resource(method: &Method, path: &str) -> Self {
        let verb = match *method {
            Method::GET | Method::HEAD => "get",
            Method::POST => "post",
            Method::PUT => "put",
            Method::PATCH => "patch",
            Method::DELETE => "delete",
            Method::OPTIONS => "options",
            _ => "unknown",
        };
        Self { verb, path: path.to_owned(), ..Self::default() }
    }

    /// `pods/log`, or `pods` without a subresource: how RBAC rules and audit policies name it.
    pub fn resource_and_subresource(&self) -> String {
        if self.subresource.is_empty() {
            self.resource.clone()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }
}

/// The name a query's `fieldSelector` pins with a single `metadata.name=` (or `==`) term.
fn name_selector(query: &str) -> Option<String> {
    let selector = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "fieldSelector")?.1;
    let (field, value) = selector.split_once("==").or_else(|| selector.split_once('='))?;
    (field.trim() == "metadata.name" && !value.contains(',') && !value.is_empty())
        .then(|| value.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(method: Method, path: &str, query: Option<&str>) -> RequestInfo {
        RequestInfo::parse(&method, path, query)
    }

    #[test]
    fn resource_requests_are_parsed_as_kube_apiserver_does() {
        let get = info(Method::GET, "/api/v1/namespaces/dev/pods/web", None);
        assert_eq!((get.verb, get.namespace.as_str(), get.resource.as_str()), ("get", "dev", "pods"));
        assert_eq!((get.name.as_str(), get.api_group.as_str()), ("web", ""));
        let log = info(Method::GET, "/api/v1/namespaces/dev/pods/web/log", None);
        assert_eq!(log.resource_and_subresource(), "pods/log");
        let watch = info(Method::GET, "/apis/apps/v1/deployments", Some("watch=true&limit=1"));
        assert_eq!((watch.verb, watch.api_group.as_str(), watch.namespace.as_str()), ("watch", "apps", ""));
        let sweep = info(Method::DELETE, "/api/v1/namespaces/dev/configmaps", None);
        assert_eq!(sweep.verb, "deletecollection");
        let create = info(Method::POST, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", None);
        assert_eq!((create.verb, create.resource.as_str()), ("create", "selfsubjectaccessreviews"));
    }

    #[test]
    fn a_watch_of_one_object_names_it() {
        let one = info(
            Method::GET,
            "/api/v1/namespaces/dev/secrets",
            Some("fieldSelector=metadata.name%3Dtls&watch=1"),
        );
        assert_eq!((one.verb, one.name_selector.as_str()), ("watch", "tls"));
        let many = info(Method::GET, "/api/v1/secrets", Some("fieldSelector=metadata.name%3Da%2Ctype%3Db"));
        assert_eq!(many.name_selector, "");
    }

    #[test]
    fn a_namespace_is_its_own_namespace_and_has_subresources() {
        let ns = info(Method::GET, "/api/v1/namespaces/dev", None);
        assert_eq!(
            (ns.resource.as_str(), ns.name.as_str(), ns.namespace.as_str()),
            ("namespaces", "dev", "dev")
        );
        let finalize = info(Method::PUT, "/api/v1/namespaces/dev/finalize", None);
        assert_eq!((finalize.resource.as_str(), finalize.subresource.as_str()), ("namespaces", "finalize"));
        let all = info(Method::GET, "/api/v1/namespaces", None);
        assert_eq!((all.verb, all.namespace.as_str()), ("list", ""));
    }

    #[test]
    fn discovery_and_health_are_non_resource_requests() {
        for path in
            ["/api", "/api/v1", "/apis", "/apis/apps", "/apis/apps/v1", "/healthz", "/openapi/v3/api/v1"]
        {
            let info = info(Method::GET, path, None);
            assert!(!info.resource_request, "{path}");
            assert_eq!((info.verb, info.path.as_str()), ("get", path));
        }
    }
}
