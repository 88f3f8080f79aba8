//! The `wasi:http/incoming-handler` side: an incoming request read into a [`Request`], the router's
//! [`Response`] written back. [`serve!`](crate::serve) calls [`handle`] for every request.

use wasip2::http::types::{
    Fields, IncomingBody, IncomingRequest, Method as WasiMethod, OutgoingBody, OutgoingResponse,
    ResponseOutparam,
};
use wasip2::io::streams::{InputStream, OutputStream, StreamError};

use super::error::Error;
use super::message::{Method, Request, Response};
use super::router::Router;

/// The largest request body a handler is given; a larger one is answered 413 unread. Every request has an
/// instance of its own whose memory the pod's limit caps, so bodies are held whole rather than streamed.
pub const MAX_REQUEST_BODY: usize = 4 << 20;

/// How much `wasi:io` moves per call: `blocking-write-and-flush` takes at most 4096 bytes.
const CHUNK: usize = 4096;

/// Answers one incoming request with `router`.
pub fn handle(router: &Router, incoming: IncomingRequest, response_out: ResponseOutparam) {
    let response = match read_request(&incoming) {
        Ok(request) => router.handle(request),
        Err(error) => error.into_response(),
    };
    write_response(response, response_out);
}

fn read_request(incoming: &IncomingRequest) -> Result<Request, Error> {
    let method = from_wasi(&incoming.method());
    let mut request = Request::new(method, &incoming.path_with_query().unwrap_or_default());
    for (name, value) in incoming.headers().entries() {
        request = request.with_header(&name, value);
    }
    let body = incoming.consume().map_err(|()| Error::internal("the request body was already taken"))?;
    let bytes = read_body(&body, MAX_REQUEST_BODY)?;
    drop(body);
    Ok(request.with_body(bytes))
}

/// Reads a whole body, up to `limit` bytes (413 beyond).
pub(super) fn read_body(body: &IncomingBody, limit: usize) -> Result<Vec<u8>, Error> {
    let stream = body.stream().map_err(|()| Error::internal("the body stream was already taken"))?;
    let bytes = read_stream(&stream, limit);
    drop(stream);
    bytes
}

fn read_stream(stream: &InputStream, limit: usize) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 << 10) {
            Ok(chunk) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > limit {
                    return Err(Error::new(413, format!("the body is larger than {limit} bytes")));
                }
            }
            Err(StreamError::Closed) => return Ok(bytes),
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(Error::bad_request(format!(
                    "the body could not be read: {}",
                    e.to_debug_string()
                )));
            }
        }
    }
}

fn write_response(response: Response, response_out: ResponseOutparam) {
    let headers = Fields::new();
    for (name, value) in response.headers() {
        // Headers the host forbids (`connection`, `host`...) are its to set; a response still goes out.
        if let Err(e) = headers.append(name, value) {
            crate::log::warn!("response header dropped", header = name, reason = format!("{e:?}"));
        }
    }
    let outgoing = OutgoingResponse::new(headers);
    if outgoing.set_status_code(response.status()).is_err() {
        crate::log::error!("invalid response status", status = response.status());
        let _ = outgoing.set_status_code(500);
    }
    let Ok(body) = outgoing.body() else { return };
    ResponseOutparam::set(response_out, Ok(outgoing));
    if write_body(&body, response.body()).is_ok() {
        let _ = OutgoingBody::finish(body, None);
    }
}

/// Writes `bytes` to an outgoing body in the chunks `wasi:io` takes; fails when the peer went away.
pub(super) fn write_body(body: &OutgoingBody, bytes: &[u8]) -> Result<(), StreamError> {
    let Ok(stream) = body.write() else { return Ok(()) };
    let written = write_stream(&stream, bytes);
    drop(stream);
    written
}

fn write_stream(stream: &OutputStream, bytes: &[u8]) -> Result<(), StreamError> {
    for chunk in bytes.chunks(CHUNK) {
        stream.blocking_write_and_flush(chunk)?;
    }
    Ok(())
}

pub(super) fn from_wasi(method: &WasiMethod) -> Method {
    match method {
        WasiMethod::Get => Method::Get,
        WasiMethod::Head => Method::Head,
        WasiMethod::Post => Method::Post,
        WasiMethod::Put => Method::Put,
        WasiMethod::Delete => Method::Delete,
        WasiMethod::Patch => Method::Patch,
        WasiMethod::Options => Method::Options,
        WasiMethod::Connect => Method::Other("CONNECT".to_owned()),
        WasiMethod::Trace => Method::Other("TRACE".to_owned()),
        WasiMethod::Other(name) => Method::Other(name.clone()),
    }
}

pub(super) fn to_wasi(method: &Method) -> WasiMethod {
    match method {
        Method::Get => WasiMethod::Get,
        Method::Head => WasiMethod::Head,
        Method::Post => WasiMethod::Post,
        Method::Put => WasiMethod::Put,
        Method::Delete => WasiMethod::Delete,
        Method::Patch => WasiMethod::Patch,
        Method::Options => WasiMethod::Options,
        Method::Other(name) => WasiMethod::Other(name.clone()),
    }
}
