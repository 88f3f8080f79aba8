//! The receiving end of the tunnels other nodes open to this node's pods (see [`super::dial`]): `GET
//! /forward/{ip}/{port}` upgraded to a raw byte stream, on the agent's endpoint. Only addresses of this node's pod
//! range are forwarded to, so the endpoint is no way into the machine's other services.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::dial::{Dialer, UPGRADE};

struct Forwarder {
    dialer: Arc<Dialer>,
    tracker: TaskTracker,
    stop: CancellationToken,
}

/// The tunnel route, copying each tunnel's bytes in a task of `tracker` until either side closes or `stop`.
pub fn router(dialer: Arc<Dialer>, tracker: TaskTracker, stop: CancellationToken) -> Router {
    Router::new().route("/forward/{ip}/{port}", get(forward)).with_state(Arc::new(Forwarder {
        dialer,
        tracker,
        stop,
    }))
}

async fn forward(
    State(forwarder): State<Arc<Forwarder>>,
    Path((ip, port)): Path<(IpAddr, u16)>,
    mut request: Request,
) -> Response {
    let upgrade = request.headers().get(header::UPGRADE).and_then(|v| v.to_str().ok());
    if upgrade != Some(UPGRADE) {
        return (StatusCode::BAD_REQUEST, format!("a tunnel needs `Upgrade: {UPGRADE}`\n")).into_response();
    }
    if !forwarder.dialer.owns(ip) {
        return (StatusCode::FORBIDDEN, format!("{ip} is not an address of this node's pods\n"))
            .into_response();
    }
    let target = SocketAddr::new(ip, port);
    let mut pod = match TcpStream::connect(target).await {
        Ok(pod) => pod,
        Err(e) => {
            return (StatusCode::BAD_GATEWAY, format!("cannot connect to {target}: {e}\n")).into_response();
        }
    };
    let _ = pod.set_nodelay(true);
    let upgraded = hyper::upgrade::on(&mut request);
    let stop = forwarder.stop.clone();
    forwarder.tracker.spawn(async move {
        let Ok(upgraded) = upgraded.await else { return };
        let mut client = TokioIo::new(upgraded);
        tokio::select! {
            () = stop.cancelled() => {}
            _ = tokio::io::copy_bidirectional(&mut client, &mut pod) => {}
        }
    });
    (StatusCode::SWITCHING_PROTOCOLS, [(header::CONNECTION, "Upgrade"), (header::UPGRADE, UPGRADE)])
        .into_response()
}
