//! A `wasi:http` handler: one fresh instance per request. It answers `hello from wasi:http: METHOD PATH` and
//! prints one log line per request. The query steers it for tests: `sleep=MS` waits before answering,
//! `trap` panics mid-request, `status=N` sets the status code, `echo` streams the request body back,
//! `grow=MIB` allocates that much memory first, `whoami` answers the pod's `HOSTNAME` instead, `health=PATH`
//! answers 200 when the file holds `ok` and 503 otherwise (for probes), `fetch=AUTHORITY` asks
//! `http://AUTHORITY/?whoami` (`fetchs=` over https, a `host=NAME` before it tries to set that `Host` header)
//! and answers `upstream STATUS: BODY`, `tcp=AUTHORITY` sends `ping` over a
//! `wasi:sockets` TCP connection (the name looked up through `ip-name-lookup`) and answers `echoed: REPLY` (both
//! for Service discovery).

use std::io::Write as _;

use wasip2::http::types::{
    Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam, Scheme,
};

wasip2::http::proxy::export!(Hello);

struct Hello;

impl wasip2::exports::http::incoming_handler::Guest for Hello {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let method = method_name(&request.method());
        println!("{method} {path}");
        let query = path.split_once('?').map(|(_, q)| q).unwrap_or_default();
        let mut status = 200;
        let mut echo = false;
        let mut whoami = false;
        let mut fetched = None;
        let mut echoed = None;
        let mut host = None;
        for (key, value) in query.split('&').map(|kv| kv.split_once('=').unwrap_or((kv, ""))) {
            match key {
                "sleep" => std::thread::sleep(std::time::Duration::from_millis(value.parse().unwrap_or(0))),
                "trap" => panic!("asked to trap"),
                "status" => status = value.parse().unwrap_or(200),
                "echo" => echo = true,
                "whoami" => whoami = true,
                "host" => host = Some(value),
                "fetch" => fetched = Some(fetch(Scheme::Http, value, host)),
                "fetchs" => fetched = Some(fetch(Scheme::Https, value, host)),
                "tcp" => echoed = Some(ping(value)),
                "health" => {
                    let healthy = std::fs::read_to_string(value).is_ok_and(|text| text.trim() == "ok");
                    status = if healthy { 200 } else { 503 };
                }
                "grow" => {
                    let mib: usize = value.parse().unwrap_or(0);
                    let block = vec![1u8; mib << 20];
                    std::hint::black_box(&block);
                }
                _ => {}
            }
        }
        let body_in = if echo { request.consume().ok() } else { None };

        let headers = Fields::new();
        let _ = headers.set("content-type", &[b"text/plain".to_vec()]);
        let response = OutgoingResponse::new(headers);
        let _ = response.set_status_code(status);
        let Ok(body) = response.body() else { return };
        ResponseOutparam::set(response_out, Ok(response));
        let Ok(mut out) = body.write() else { return };
        match body_in {
            Some(body_in) => copy_body(&body_in, &mut out),
            None if fetched.is_some() => {
                let _ = match fetched.unwrap_or_else(|| Err(String::new())) {
                    Ok((status, body)) => writeln!(out, "upstream {status}: {}", String::from_utf8_lossy(&body).trim()),
                    Err(why) => writeln!(out, "fetch failed: {why}"),
                };
            }
            None if echoed.is_some() => {
                let _ = match echoed.unwrap_or_else(|| Err(String::new())) {
                    Ok(reply) => writeln!(out, "echoed: {}", String::from_utf8_lossy(&reply).trim()),
                    Err(why) => writeln!(out, "tcp failed: {why}"),
                };
            }
            None if whoami => {
                let _ = writeln!(out, "{}", std::env::var("HOSTNAME").unwrap_or_default());
            }
            None => {
                let _ = writeln!(out, "hello from wasi:http: {method} {path}");
            }
        }
        let _ = out.flush();
        drop(out);
        let _ = OutgoingBody::finish(body, None);
    }
}

/// Streams the request body to the response, chunk by chunk.
fn copy_body(body: &IncomingBody, out: &mut impl std::io::Write) {
    let Ok(stream) = body.stream() else { return };
    // A closed stream is the end of the body.
    while let Ok(chunk) = stream.blocking_read(16 << 10) {
        if out.write_all(&chunk).is_err() {
            return;
        }
    }
}

/// Connects to `authority` over TCP, sends `ping` and returns what comes back before the server closes or 64
/// bytes arrived.
fn ping(authority: &str) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let mut stream = std::net::TcpStream::connect(authority).map_err(|e| format!("connect: {e}"))?;
    stream.write_all(b"ping\n").map_err(|e| format!("write: {e}"))?;
    let mut reply = vec![0u8; 64];
    let mut read = 0;
    while read < 5 {
        match stream.read(&mut reply[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    reply.truncate(read);
    Ok(reply)
}

/// GETs `SCHEME://AUTHORITY/?whoami` through the host, with `Host: host` when given.
fn fetch(scheme: Scheme, authority: &str, host: Option<&str>) -> Result<(u16, Vec<u8>), String> {
    use wasip2::http::outgoing_handler;
    use wasip2::http::types::OutgoingRequest;
    let headers = Fields::new();
    if let Some(host) = host {
        headers.set("host", &[host.as_bytes().to_vec()]).map_err(|e| format!("Host header: {e:?}"))?;
    }
    let request = OutgoingRequest::new(headers);
    request.set_scheme(Some(&scheme)).map_err(|()| "bad scheme")?;
    request.set_authority(Some(authority)).map_err(|()| "bad authority")?;
    request.set_path_with_query(Some("/?whoami")).map_err(|()| "bad path")?;
    let pending = outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
    pending.subscribe().block();
    let response = pending.get().ok_or("no response")?.map_err(|()| "response taken")?.map_err(|e| format!("{e:?}"))?;
    let status = response.status();
    let body = response.consume().map_err(|()| "no body")?;
    let stream = body.stream().map_err(|()| "no body stream")?;
    let mut bytes = Vec::new();
    while let Ok(chunk) = stream.blocking_read(16 << 10) {
        bytes.extend_from_slice(&chunk);
    }
    Ok((status, bytes))
}

fn method_name(method: &Method) -> String {
    match method {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(other) => other.clone(),
    }
}
