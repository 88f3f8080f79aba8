//! Outgoing requests through `wasi:http/outgoing-handler`: to Services by name, pods, or (where the pod's
//! allow-list says so) the outside world.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{ErrorCode, Fields, OutgoingBody, RequestOptions, Scheme};

use super::error::Error;
use super::message::{Method, Response};
use super::server::{read_body, to_wasi, write_body};
use super::url;

/// The largest response body read; a larger one fails the request.
pub const MAX_RESPONSE_BODY: usize = 16 << 20;

/// Why an outgoing request got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The URL cannot be requested.
    InvalidUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The request was not sent or not answered: refused by a NetworkPolicy or the allow-list, nobody
    /// listening, a timeout. `code` is the host's `wasi:http` error code (`ConnectionRefused`,
    /// `DestinationIpProhibited`, `ConnectionTimeout`...).
    Failed {
        /// The URL.
        url: String,
        /// The host's error code.
        code: String,
    },
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl { url, reason } => write!(f, "cannot request {url}: {reason}"),
            Self::Failed { url, code } => write!(f, "request to {url} failed: {code}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<ClientError> for Error {
    /// An upstream that cannot be reached makes the request a 502, whose message says which upstream failed
    /// and how (the service's own topology, not its data).
    fn from(e: ClientError) -> Self {
        crate::log::warn!("upstream request failed", error = e.to_string());
        Error::new(502, e.to_string())
    }
}

/// GETs `url`.
pub fn get(url: &str) -> Result<Response, ClientError> {
    OutgoingRequest::new(Method::Get, url).send()
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct OutgoingRequest {
    method: Method,
    url: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    timeout: Option<Duration>,
}

impl OutgoingRequest {
    /// A request for an absolute `http://` or `https://` URL.
    pub fn new(method: Method, url: &str) -> Self {
        Self { method, url: url.to_owned(), headers: Vec::new(), body: Vec::new(), timeout: None }
    }

    /// A POST.
    pub fn post(url: &str) -> Self {
        Self::new(Method::Post, url)
    }

    /// A PUT.
    pub fn put(url: &str) -> Self {
        Self::new(Method::Put, url)
    }

    /// A DELETE.
    pub fn delete(url: &str) -> Self {
        Self::new(Method::Delete, url)
    }

    /// With a header added. The host sets `Host` from the URL and refuses requests that try to set it.
    #[must_use]
    pub fn header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// With this body.
    #[must_use]
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// With `value` as a JSON body.
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<Self, serde_json::Error> {
        Ok(self.header("content-type", "application/json").body(serde_json::to_vec(value)?))
    }

    /// Fails the request when connecting, or the response's first byte, takes longer than `timeout`.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sends the request and reads the whole response.
    pub fn send(self) -> Result<Response, ClientError> {
        let target = url::split(&self.url)
            .map_err(|reason| ClientError::InvalidUrl { url: self.url.clone(), reason: reason.to_owned() })?;
        let invalid = |reason: String| ClientError::InvalidUrl { url: self.url.clone(), reason };
        let failed = |code: &ErrorCode| ClientError::Failed { url: self.url.clone(), code: error_name(code) };

        let headers =
            Fields::from_list(&self.headers).map_err(|e| invalid(format!("header refused: {e:?}")))?;
        let request = wasip2::http::types::OutgoingRequest::new(headers);
        request.set_method(&to_wasi(&self.method)).map_err(|()| invalid("invalid method".to_owned()))?;
        let scheme = if target.https { Scheme::Https } else { Scheme::Http };
        request.set_scheme(Some(&scheme)).map_err(|()| invalid("invalid scheme".to_owned()))?;
        request
            .set_authority(Some(target.authority))
            .map_err(|()| invalid("invalid authority".to_owned()))?;
        request
            .set_path_with_query(Some(&target.path_with_query))
            .map_err(|()| invalid("invalid path".to_owned()))?;
        let body = request.body().map_err(|()| invalid("no request body".to_owned()))?;
        let options = self.timeout.map(|timeout| {
            let options = RequestOptions::new();
            let nanos = Some(u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX));
            // A host that does not support a timeout refuses to set it; the request still goes out.
            let _ = options.set_connect_timeout(nanos);
            let _ = options.set_first_byte_timeout(nanos);
            options
        });

        let pending = outgoing_handler::handle(request, options).map_err(|e| failed(&e))?;
        write_body(&body, &self.body).map_err(|_| ClientError::Failed {
            url: self.url.clone(),
            code: "the request body could not be sent".to_owned(),
        })?;
        OutgoingBody::finish(body, None).map_err(|e| failed(&e))?;

        pending.subscribe().block();
        let answered = pending
            .get()
            .and_then(Result::ok)
            .ok_or_else(|| ClientError::Failed { url: self.url.clone(), code: "no response".to_owned() })?;
        let response = answered.map_err(|e| failed(&e))?;
        let status = response.status();
        let headers = response.headers().entries();
        let incoming = response.consume().map_err(|()| ClientError::Failed {
            url: self.url.clone(),
            code: "the response body was already taken".to_owned(),
        })?;
        let bytes = read_body(&incoming, MAX_RESPONSE_BODY)
            .map_err(|e| ClientError::Failed { url: self.url.clone(), code: e.message().to_owned() })?;
        Ok(Response::from_parts(
            status,
            headers.into_iter().map(|(n, v)| (n.to_ascii_lowercase(), v)).collect(),
            bytes,
        ))
    }
}

/// The error code's variant name (`ConnectionRefused`), without the details some carry.
fn error_name(code: &ErrorCode) -> String {
    let debug = format!("{code:?}");
    let name = debug.strip_prefix("ErrorCode::").unwrap_or(&debug);
    let end = name.find(['(', ' ', '{']).unwrap_or(name.len());
    name[..end].to_owned()
}
