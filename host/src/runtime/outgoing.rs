//! Outgoing `wasi:http` requests, sent by the host for the guest. The pod's [`PodNetwork`] says where each one
//! may go: inside the cluster, where the request's Service or pod is routed; outside, only to an authority on the
//! pod's allow-list (scheme, host and port), at an address the host resolved and the policies allowed. The
//! request is sent to exactly such an address, with the `Host` header that names the authority judged: guests
//! may not set `Host` (wasmtime forbids it), and a request whose `Host` differs from its authority is refused, so
//! a request cannot be allowed for one name and be served as another's.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use api::egress::Scheme;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::net::{IpAddr, SocketAddr};

use tokio::net::{TcpSocket, TcpStream};
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use super::directory::Io;
use super::network::{Dial, PodNetwork, Refusal};

/// How long connecting, and waiting for a response's first byte, may take unless the guest says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The connection of a request that is still being read.
type Connection = Box<dyn Future<Output = Result<(), Error>> + Send>;

type Sent = Box<dyn Future<Output = Result<(hyper::Response<WasiBody>, Connection), Error>> + Send>;

/// The hooks of one instance's outgoing requests.
pub(super) struct Outgoing {
    /// The pod's network; without one (a program run outside a pod) requests go where they name.
    pub network: Option<Arc<PodNetwork>>,
}

impl WasiHttpHooks for Outgoing {
    fn send_request(
        &mut self,
        request: hyper::Request<WasiBody>,
        options: Option<RequestOptions>,
        response_errors: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Sent {
        drop(response_errors);
        let network = self.network.clone();
        Box::new(async move {
            if let Some(network) = network {
                return send(&network, request, options).await;
            }
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((response.map(BodyExt::boxed_unsync), Box::new(io) as Connection))
        })
    }
}

/// Sends `request` where `network` allows it to go.
async fn send(
    network: &PodNetwork,
    mut request: hyper::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Result<(hyper::Response<WasiBody>, Connection), Error> {
    let uri = request.uri().clone();
    let authority = uri.authority().ok_or(Error::HttpRequestUriInvalid)?;
    let tls = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
    let mut hosts = request.headers().get_all(hyper::header::HOST).iter();
    if hosts.next().map(http::HeaderValue::as_bytes) != Some(authority.as_str().as_bytes())
        || hosts.next().is_some()
    {
        tracing::debug!(%authority, "outgoing request whose Host header is not its authority");
        return Err(Error::HttpRequestDenied);
    }
    let host = authority.host().trim_start_matches('[').trim_end_matches(']');
    let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let scheme = if tls { Scheme::Https } else { Scheme::Http };
    let dial = match network.dial(scheme, host, port).await {
        Ok(dial) => dial,
        Err(refusal) => {
            tracing::debug!(%refusal, "outgoing request refused");
            return Err(match refusal {
                Refusal::Cluster(_) => Error::ConnectionRefused,
                Refusal::NotAllowed(_) => Error::HttpRequestDenied,
                Refusal::Policy(_) | Refusal::Egress(_) => Error::DestinationIpProhibited,
                Refusal::Unresolvable(_) => Error::DestinationNotFound,
            });
        }
    };
    let options = options.unwrap_or_default();
    let connect_timeout = options.connect_timeout.unwrap_or(DEFAULT_TIMEOUT);
    let stream = tokio::time::timeout(connect_timeout, connect(network, dial))
        .await
        .map_err(|_| Error::ConnectionTimeout)??;
    let stream: Box<dyn Io> = if tls { Box::new(secure(host, stream).await?) } else { stream };
    let (mut sender, connection) = tokio::time::timeout(
        connect_timeout,
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)),
    )
    .await
    .map_err(|_| Error::ConnectionTimeout)??;
    // On the wire, a request names only its path; the authority travels in `Host`.
    let path = uri.path_and_query().map_or("/", http::uri::PathAndQuery::as_str);
    *request.uri_mut() = path.parse().map_err(|_| Error::HttpRequestUriInvalid)?;
    // The connection runs by itself: if it fails, the request fails with it.
    let connection = tokio::spawn(connection);
    let first_byte = options.first_byte_timeout.unwrap_or(DEFAULT_TIMEOUT);
    let response = tokio::time::timeout(first_byte, sender.send_request(request))
        .await
        .map_err(|_| Error::ConnectionReadTimeout)??;
    let between_bytes = options.between_bytes_timeout.unwrap_or(DEFAULT_TIMEOUT).max(Duration::from_nanos(1));
    let response = response.map(|body| Timed::new(body, between_bytes).boxed_unsync());
    let connection: Connection = Box::new(async move {
        match connection.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) if e.is_timeout() => Err(Error::HttpResponseTimeout),
            Ok(Err(e)) => Err(Error::from(e)),
            Err(_) => Err(Error::ConnectionTerminated),
        }
    });
    Ok((response, connection))
}

/// A connection to where `dial` says: the cluster address, or the first of the outside addresses that answers
/// (from the namespace's egress address when it has one).
async fn connect(network: &PodNetwork, dial: Dial) -> Result<Box<dyn Io>, Error> {
    let addresses = match dial {
        Dial::Inside(address) => {
            let stream = connect_inside(network.pod_ip(), address).await.map_err(Error::Connect)?;
            let _ = stream.set_nodelay(true);
            return Ok(Box::new(stream));
        }
        Dial::Outside(addresses) => addresses,
    };
    let mut last = Error::ConnectionRefused;
    for address in addresses {
        match network.open_outside(address).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Error::Connect(e),
        }
    }
    Err(last)
}

/// A connection to `address` in the cluster, from the pod's own address when both are on this machine (so that
/// the destination's agent sees which pod it is).
async fn connect_inside(own: Option<IpAddr>, address: SocketAddr) -> std::io::Result<TcpStream> {
    let Some(own) = own.filter(|own| super::sockets::from_pod(*own, address)) else {
        return TcpStream::connect(address).await;
    };
    let socket = if own.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.bind(SocketAddr::new(own, 0))?;
    socket.connect(address).await
}

/// TLS over `stream` to `host`, verified against the web's root certificates.
async fn secure(host: &str, stream: Box<dyn Io>) -> Result<impl Io + 'static, Error> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.into() };
        Arc::new(rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth())
    });
    let name = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => rustls::pki_types::ServerName::from(ip),
        Err(_) => rustls::pki_types::ServerName::try_from(host.to_owned())
            .map_err(|_| Error::HttpRequestUriInvalid)?,
    };
    tokio_rustls::TlsConnector::from(config.clone()).connect(name, stream).await.map_err(Error::Tls)
}

/// A response body that fails when no bytes arrive for `between` (the guest's `between-bytes-timeout`).
struct Timed {
    body: Incoming,
    between: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl Timed {
    fn new(body: Incoming, between: Duration) -> Self {
        Self { body, between, deadline: Box::pin(tokio::time::sleep(between)) }
    }
}

impl hyper::body::Body for Timed {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Error>>> {
        match Pin::new(&mut self.body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next = tokio::time::Instant::now() + self.between;
                self.deadline.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Error::from(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                ready!(self.deadline.as_mut().poll(cx));
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}
