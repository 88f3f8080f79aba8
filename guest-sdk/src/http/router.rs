//! Routing: a request goes to the first route whose method and path pattern match it. A path that some route
//! matches with another method is answered 405 with `Allow`; one no route matches, 404.
//!
//! Patterns are literal segments, `:name` (one segment) and `*name` (the rest of the path, possibly empty, so
//! anything after it in the pattern is never reached). Empty segments are ignored: `/notes/` matches `/notes`.

use std::collections::BTreeMap;

use super::error::{Error, Result};
use super::message::{Method, Request, Response};
use super::url::percent_decode;

type Handler = Box<dyn Fn(&Request) -> Result<Response>>;

/// Routes requests to handlers.
#[derive(Default)]
pub struct Router {
    routes: Vec<Route>,
}

struct Route {
    method: Method,
    pattern: Vec<Segment>,
    handler: Handler,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Rest(String),
}

impl Router {
    /// A router with no routes: everything is a 404.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route for `method` and `pattern`.
    #[must_use]
    pub fn route(
        mut self,
        method: Method,
        pattern: &str,
        handler: impl Fn(&Request) -> Result<Response> + 'static,
    ) -> Self {
        self.routes.push(Route { method, pattern: parse_pattern(pattern), handler: Box::new(handler) });
        self
    }

    /// Adds a GET route (which also answers HEAD).
    #[must_use]
    pub fn get(self, pattern: &str, handler: impl Fn(&Request) -> Result<Response> + 'static) -> Self {
        self.route(Method::Get, pattern, handler)
    }

    /// Adds a POST route.
    #[must_use]
    pub fn post(self, pattern: &str, handler: impl Fn(&Request) -> Result<Response> + 'static) -> Self {
        self.route(Method::Post, pattern, handler)
    }

    /// Adds a PUT route.
    #[must_use]
    pub fn put(self, pattern: &str, handler: impl Fn(&Request) -> Result<Response> + 'static) -> Self {
        self.route(Method::Put, pattern, handler)
    }

    /// Adds a DELETE route.
    #[must_use]
    pub fn delete(self, pattern: &str, handler: impl Fn(&Request) -> Result<Response> + 'static) -> Self {
        self.route(Method::Delete, pattern, handler)
    }

    /// Adds a PATCH route.
    #[must_use]
    pub fn patch(self, pattern: &str, handler: impl Fn(&Request) -> Result<Response> + 'static) -> Self {
        self.route(Method::Patch, pattern, handler)
    }

    /// Answers `request`: the matching route's handler, its error as an error response, or 404 or 405.
    pub fn handle(&self, request: Request) -> Response {
        let segments: Vec<&str> = request.path().split('/').filter(|s| !s.is_empty()).collect();
        let mut allowed: Vec<&Method> = Vec::new();
        for route in &self.routes {
            let Some(params) = matches(&route.pattern, &segments) else { continue };
            let head_as_get = *request.method() == Method::Head && route.method == Method::Get;
            if route.method != *request.method() && !head_as_get {
                allowed.push(&route.method);
                continue;
            }
            let request = request.with_params(params);
            let response = (route.handler)(&request).unwrap_or_else(Error::into_response);
            return if head_as_get { response.with_body(Vec::new()) } else { response };
        }
        if allowed.is_empty() {
            return Error::not_found(format!("no route for {}", request.path())).into_response();
        }
        let mut names: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
        names.dedup();
        Error::new(405, format!("{} is not allowed here", request.method()))
            .into_response()
            .with_header("allow", names.join(", "))
    }
}

fn parse_pattern(pattern: &str) -> Vec<Segment> {
    pattern
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if let Some(name) = s.strip_prefix(':') {
                Segment::Param(name.to_owned())
            } else if let Some(name) = s.strip_prefix('*') {
                Segment::Rest(name.to_owned())
            } else {
                Segment::Literal(s.to_owned())
            }
        })
        .collect()
}

/// The parameters, if `segments` match `pattern`.
fn matches(pattern: &[Segment], segments: &[&str]) -> Option<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    for (i, part) in pattern.iter().enumerate() {
        match part {
            Segment::Rest(name) => {
                let rest = segments.get(i..).unwrap_or_default();
                params.insert(
                    name.clone(),
                    rest.iter().map(|s| percent_decode(s)).collect::<Vec<_>>().join("/"),
                );
                return Some(params);
            }
            Segment::Literal(literal) => {
                if percent_decode(segments.get(i)?) != *literal {
                    return None;
                }
            }
            Segment::Param(name) => {
                params.insert(name.clone(), percent_decode(segments.get(i)?));
            }
        }
    }
    (segments.len() == pattern.len()).then_some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> Router {
        Router::new()
            .get("/", |_| Ok(Response::text(200, "index")))
            .get("/notes/:name", |r| {
                Ok(Response::text(200, format!("get {}", r.param("name").unwrap_or("?"))))
            })
            .put("/notes/:name", |r| Ok(Response::text(200, format!("put {}", r.text()?))))
            .get("/files/*path", |r| {
                Ok(Response::text(200, format!("file [{}]", r.param("path").unwrap_or("?"))))
            })
            .get("/fail", |_| Err(Error::new(418, "teapot")))
    }

    fn call(method: Method, path: &str) -> (u16, String, Option<String>) {
        let response = app().handle(Request::new(method, path).with_body("body"));
        (response.status(), response.text_lossy(), response.header("allow").map(str::to_owned))
    }

    #[test]
    fn requests_reach_the_route_that_matches_method_and_path() {
        assert_eq!(call(Method::Get, "/"), (200, "index".into(), None));
        assert_eq!(call(Method::Get, "/notes/a%20b"), (200, "get a b".into(), None));
        assert_eq!(call(Method::Get, "/notes/x/"), (200, "get x".into(), None), "a trailing slash");
        assert_eq!(call(Method::Put, "/notes/x"), (200, "put body".into(), None));
        assert_eq!(call(Method::Get, "/files/a/b.txt"), (200, "file [a/b.txt]".into(), None));
        assert_eq!(call(Method::Get, "/files"), (200, "file []".into(), None), "the rest may be empty");
        assert_eq!(call(Method::Head, "/").0, 200);
        assert!(call(Method::Head, "/").1.is_empty(), "HEAD has no body");
    }

    #[test]
    fn misses_are_404_or_405_and_handler_errors_are_json() {
        let (status, body, _) = call(Method::Get, "/notes");
        assert_eq!((status, body.as_str()), (404, r#"{"error":"no route for /notes"}"#));
        assert_eq!(call(Method::Get, "/notes/a/b").0, 404);
        let (status, _, allow) = call(Method::Delete, "/notes/a");
        assert_eq!((status, allow.as_deref()), (405, Some("GET, PUT")));
        assert_eq!(call(Method::Get, "/fail"), (418, r#"{"error":"teapot"}"#.into(), None));
    }
}
