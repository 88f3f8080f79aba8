//! Serving an axum app over TLS (or plain HTTP where the caller decided that is allowed): each connection is
//! accepted, its handshake done in its own task (a slow client holds up nobody), and its requests carry the
//! peer's address (`ConnectInfo`) and, when it presented a certificate the client CAs signed, the identity in it
//! ([`PeerIdentity`]). HTTP upgrades (tunnels) are served; on stop, idle connections close at once and busy
//! ones finish their requests first.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt as _;

/// How long a client may take to finish its TLS handshake, or to send a request's headers.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The most header bytes a request may send (hyper's read buffer bound); Kubernetes allows 1 MiB.
pub const MAX_HEADER_BYTES: usize = 1 << 20;
/// The most header fields a request may send.
pub const MAX_HEADERS: usize = 256;
/// How long a stopping server waits for open requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The verified identity of a client certificate presented on the connection: CN is the name, each O a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The certificate's common name.
    pub name: String,
    /// Its organizations.
    pub groups: Vec<String>,
}

/// Serves `app` on `listener` until `stop`: over TLS with `tls`, plain HTTP without.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    stop: CancellationToken,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let connections = TaskTracker::new();
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
        let (app, acceptor, stop) = (app.clone(), acceptor.clone(), stop.clone());
        connections.spawn(async move {
            let Some(acceptor) = acceptor else {
                serve_connection(TokioIo::new(stream), peer, None, app, stop).await;
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
                .and_then(|leaf| crate::identity_of(leaf).ok())
                .map(|(name, groups)| PeerIdentity { name, groups });
            serve_connection(TokioIo::new(stream), peer, identity, app, stop).await;
        });
    }
    drop(listener);
    connections.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, connections.wait()).await.is_err() {
        tracing::warn!("requests still open after {DRAIN_TIMEOUT:?}; closing them");
    }
}

async fn serve_connection<I>(
    io: I,
    peer: SocketAddr,
    identity: Option<PeerIdentity>,
    app: Router,
    stop: CancellationToken,
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
        .serve_connection(io, service)
        .with_upgrades();
    tokio::pin!(connection);
    let ended = tokio::select! {
        ended = connection.as_mut() => ended,
        () = stop.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = ended {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}
