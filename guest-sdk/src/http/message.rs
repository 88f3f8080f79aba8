//! Requests and responses as plain values: what a handler reads and returns, and what an outgoing request
//! brings back. The conversions from and to `wasi:http` resources live in `server.rs` and `client.rs`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{Error, Result};
use super::url::percent_decode;

/// An HTTP method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET
    Get,
    /// HEAD
    Head,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
    /// PATCH
    Patch,
    /// OPTIONS
    Options,
    /// Any other method, by name.
    Other(String),
}

impl Method {
    /// The method's name, upper case for the standard ones.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Patch => "PATCH",
            Self::Options => "OPTIONS",
            Self::Other(name) => name,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An incoming request, with the path parameters its route matched.
#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    path: String,
    query: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    params: BTreeMap<String, String>,
}

impl Request {
    /// A request for `path_with_query` (`/notes/a?verbose=1`), as the server builds it; also for tests of
    /// handlers and routers.
    pub fn new(method: Method, path_with_query: &str) -> Self {
        let (path, query) = path_with_query.split_once('?').unwrap_or((path_with_query, ""));
        let path = if path.is_empty() { "/" } else { path };
        Self {
            method,
            path: path.to_owned(),
            query: query.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            params: BTreeMap::new(),
        }
    }

    /// With a header added (names are case-insensitive).
    #[must_use]
    pub fn with_header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// With this body.
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    pub(super) fn with_params(mut self, params: BTreeMap<String, String>) -> Self {
        self.params = params;
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path, still percent-encoded, without the query.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// A path parameter of the matched route (`:name` or `*name`), percent-decoded.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// The first value of a query parameter (`?name=value`), decoded as a form would be (`+` is a space).
    pub fn query(&self, name: &str) -> Option<String> {
        self.query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
            .find(|(key, _)| percent_decode(&key.replace('+', " ")) == name)
            .map(|(_, value)| percent_decode(&value.replace('+', " ")))
    }

    /// The first value of a header, if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// Every header, names in lower case.
    pub fn headers(&self) -> &[(String, Vec<u8>)] {
        &self.headers
    }

    /// The body's bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as text; a body that is not UTF-8 is a 400.
    pub fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.body).map_err(|_| Error::bad_request("the body is not UTF-8 text"))
    }

    /// The body parsed as JSON; a body that does not parse as `T` is a 400 that says why.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::bad_request(format!("invalid JSON body: {e}")))
    }
}

/// A response: what a handler returns, and what an outgoing request brings back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Response {
    /// A response with no body.
    pub fn new(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: Vec::new() }
    }

    /// A `text/plain` response.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self::new(status).with_header("content-type", "text/plain; charset=utf-8").with_body(body.into())
    }

    /// An `application/json` response. A value that cannot be serialised (a map with non-string keys) is a bug
    /// in the handler: it is logged and answered 500.
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self::new(status).with_header("content-type", "application/json").with_body(body),
            Err(e) => Error::internal(format!("cannot serialise the response: {e}")).into_response(),
        }
    }

    /// With a header added.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// With this body.
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    pub(super) fn from_parts(status: u16, headers: Vec<(String, Vec<u8>)>, body: Vec<u8>) -> Self {
        Self { status, headers, body }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first value of a header, if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// Every header, names in lower case.
    pub fn headers(&self) -> &[(String, Vec<u8>)] {
        &self.headers
    }

    /// The body's bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as text, with any bytes that are not UTF-8 replaced.
    pub fn text_lossy(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON: for a reply from another service, where a body that does not parse is that
    /// service's fault, so it is a 502.
    pub fn parse_json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::new(502, format!("the upstream answered with invalid JSON: {e}")))
    }
}

fn header<'a>(headers: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).and_then(|(_, v)| std::str::from_utf8(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_split_path_and_query_and_decode_parameters() {
        let request = Request::new(Method::Get, "/search?q=caf%C3%A9+au+lait&empty&page=2&q=second");
        assert_eq!(request.path(), "/search");
        assert_eq!(request.query("q").as_deref(), Some("café au lait"), "the first value wins");
        assert_eq!(request.query("empty").as_deref(), Some(""));
        assert_eq!(request.query("missing"), None);
        assert_eq!(Request::new(Method::Get, "").path(), "/");
        assert_eq!(Request::new(Method::Get, "?x=1").query("x").as_deref(), Some("1"));
    }

    #[test]
    fn json_bodies_parse_or_answer_400() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Note {
            text: String,
        }
        let good = Request::new(Method::Post, "/").with_body(r#"{"text": "hi"}"#);
        assert_eq!(good.json::<Note>().unwrap(), Note { text: "hi".into() });
        let bad = Request::new(Method::Post, "/").with_body("{").json::<Note>().unwrap_err();
        assert_eq!(bad.status(), 400);
        assert!(bad.message().starts_with("invalid JSON body: EOF"), "{}", bad.message());
    }

    #[test]
    fn responses_carry_their_content_type() {
        let response = Response::json(201, &serde_json::json!({"ok": true}));
        assert_eq!((response.status(), response.header("Content-Type")), (201, Some("application/json")));
        assert_eq!(response.body(), br#"{"ok":true}"#);
        assert_eq!(Response::text(200, "hi").header("content-type"), Some("text/plain; charset=utf-8"));
        let broken = Response::json(200, &BTreeMap::from([((1, 2), 3)]));
        assert_eq!(broken.status(), 500);
    }
}
