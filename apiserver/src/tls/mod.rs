//! Serving the API: HTTPS with optional client certificates (rustls), or plain HTTP where the operator asked for
//! it on loopback. Each connection is accepted, its TLS handshake done in its own task (a slow client holds up
//! nobody), and its requests carry the peer's address and, when it presented a certificate the client CAs
//! signed, the identity in it.

pub mod credentials;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use crate::auth::UserInfo;

/// How long a client may take to finish its TLS handshake, or to send a request's headers.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The most header bytes a request may send (hyper's read buffer bound); Kubernetes allows 1 MiB.
pub const MAX_HEADER_BYTES: usize = 1 << 20;
/// The most header fields a request may send.
pub const MAX_HEADERS: usize = 256;
/// How long a stopping server waits for open requests (watches end when the server stops).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The verified identity of a client certificate presented on the connection (CN = user, O = groups).
#[derive(Clone, Debug)]
pub struct ClientCertificate(pub Arc<UserInfo>);

/// Serves `app` on `listener` until `stop`: over TLS with `tls`, plain HTTP without.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    stop: CancellationToken,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Some(acceptor) = acceptor else {
                serve_connection(TokioIo::new(stream), peer, None, app, watcher).await;
                return;
            };
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let identity = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|leaf| pki::identity_of(leaf).ok())
                .map(|(name, groups)| ClientCertificate(Arc::new(UserInfo::new(name, groups))));
            serve_connection(TokioIo::new(stream), peer, identity, app, watcher).await;
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still open after {DRAIN_TIMEOUT:?}; closing them");
    }
}

async fn serve_connection<I>(
    io: I,
    peer: SocketAddr,
    identity: Option<ClientCertificate>,
    app: Router,
    watcher: Watcher,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        if let Some(identity) = &identity {
            request.extensions_mut().insert(identity.clone());
        }
        app.clone().oneshot(request.map(axum::body::Body::new))
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADERS)
        .serve_connection(io, service);
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}
