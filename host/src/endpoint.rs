//! The node's HTTP endpoint, where the kubelet's would be: container logs (`/containerLogs/...`), the usage
//! summary (`/stats/summary`), Prometheus metrics (`/metrics`) and the tunnels other nodes open to this node's
//! pods (`/forward/...`). It listens on 127.0.0.1 by default; the Node object publishes its port, and the
//! API server proxies `pods/{name}/log` and gathers `kubectl top` figures from it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

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

/// Starts the endpoint on `listen`; returns the address it got. It stops when `stop` is cancelled; `tasks` tracks
/// it.
pub async fn serve(
    listen: SocketAddr,
    routes: Routes,
    tasks: &TaskTracker,
    stop: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    // Tunnels carry request/response traffic: Nagle's algorithm would hold small writes for the peer's delayed ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
        let _ = stream.set_nodelay(true);
    });
    let app = logs::http::router(routes.log_root)
        .merge(summary::router(routes.usage))
        .merge(metrics::router(routes.metrics))
        .merge(routes.tunnels);
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
