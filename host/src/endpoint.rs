//! The node's HTTP endpoint, where the kubelet's would be: container logs (`/containerLogs/...`), the usage
//! summary (`/stats/summary`), Prometheus metrics (`/metrics`) and the tunnels other nodes open to this node's
//! pods (`/forward/...`). It listens on 127.0.0.1 by default; the Node object publishes its port, and the
//! API server proxies `pods/{name}/log` and gathers `kubectl top` figures from it.
//!
//! With the node's certificates it serves HTTPS and only to peers with a certificate from the cluster CA: the
//! tunnels to nodes (`system:nodes`), everything else to the API server (and other members of
//! `system:masters`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pki::PeerIdentity;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::NodeTls;
use crate::logs;
use crate::stats::metrics::{self, Metrics};
use crate::stats::summary::{self, Source};

/// What the endpoint serves.
pub struct Routes {
    /// The directory of container logs.
    pub log_root: PathBuf,
    /// The usage summary's source.
    pub usage: Arc<Source>,
    /// The node's metrics.
    pub metrics: Arc<Metrics>,
    /// The tunnel route.
    pub tunnels: axum::Router,
}

/// Starts the endpoint on `listen` (over TLS with `tls`); returns the address it got. It stops when `stop` is
/// cancelled; `tasks` tracks it.
pub async fn serve(
    listen: SocketAddr,
    routes: Routes,
    tls: Option<&NodeTls>,
    tasks: &TaskTracker,
    stop: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    if let Some(tls) = tls {
        let config = pki::server_config_requiring_clients(&tls.serving.0, &tls.serving.1, &tls.ca_pem)
            .map_err(|e| std::io::Error::other(format!("the node's serving certificate: {e}")))?;
        let app = router(routes).layer(axum::middleware::from_fn(peers_only));
        tasks.spawn(pki::serve(listener, Some(Arc::new(config)), app, stop));
        return Ok(addr);
    }
    // Tunnels carry request/response traffic: Nagle's algorithm would hold small writes for the peer's delayed ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
        let _ = stream.set_nodelay(true);
    });
    let app = router(routes);
    tasks.spawn(async move {
        let served =
            // Tunnels look at who opened them.
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "node endpoint stopped");
        }
    });
    Ok(addr)
}

fn router(routes: Routes) -> axum::Router {
    logs::http::router(routes.log_root)
        .merge(summary::router(routes.usage))
        .merge(metrics::router(routes.metrics))
        .merge(routes.tunnels)
}

/// Tunnels are for other nodes; logs, usage and metrics for the API server (and the cluster's admins).
async fn peers_only(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let wanted = if path.starts_with("/forward/") || path.starts_with("/egress/") { NODES } else { MASTERS };
    let allowed = request
        .extensions()
        .get::<PeerIdentity>()
        .is_some_and(|peer| peer.groups.iter().any(|g| g == wanted));
    if allowed {
        next.run(request).await
    } else {
        (StatusCode::FORBIDDEN, format!("{path} is only for members of {wanted}\n")).into_response()
    }
}

/// The group of node identities.
const NODES: &str = "system:nodes";
/// The group of the API server's (and admins') identities.
const MASTERS: &str = "system:masters";
