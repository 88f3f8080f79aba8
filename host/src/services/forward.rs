//! The receiving end of the tunnels other nodes' agents open (see [`super::dial`]), upgraded to raw byte streams
//! on the agent's endpoint: `GET /forward/{ip}/{port}` to this node's pods, and `GET /egress/{source}/{ip}/{port}`
//! to a destination outside the cluster from an egress address this node holds. Only addresses of this node's
//! pod range are forwarded to, and only assigned egress addresses this node holds are connected from, so the
//! endpoint is no way into the machine's other services nor a proxy from any address it has.

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

use super::dial::{Dialer, Io, SOURCE_HEADER, UPGRADE};
use super::egress::{self, EgressAddresses};
use super::policy::Policies;
use crate::stats::metrics::Metrics;

struct Forwarder {
    dialer: Arc<Dialer>,
    egress: EgressAddresses,
    node_name: String,
    policies: Policies,
    metrics: Arc<Metrics>,
    tracker: TaskTracker,
    stop: CancellationToken,
}

/// The tunnel routes of node `node_name`, copying each tunnel's bytes in a task of `tracker` until either side
/// closes or `stop`.
pub fn router(
    dialer: Arc<Dialer>,
    (egress, node_name): (EgressAddresses, String),
    (policies, metrics): (Policies, Arc<Metrics>),
    tracker: TaskTracker,
    stop: CancellationToken,
) -> Router {
    Router::new()
        .route("/forward/{ip}/{port}", get(forward))
        .route("/egress/{source}/{ip}/{port}", get(leave))
        .with_state(Arc::new(Forwarder { dialer, egress, node_name, policies, metrics, tracker, stop }))
}

/// Whether the tunnel's caller is a node agent, or at least this machine: a node's InternalIP or a loopback
/// address. Only such callers may name a connection's source or leave from an egress address; anyone else is
/// judged as the client it is. (Until agents authenticate each other, this is an address check.)
fn from_a_node(forwarder: &Forwarder, request: &Request) -> Option<IpAddr> {
    let peer = peer(request)?;
    let node = peer.is_loopback()
        || forwarder.dialer.nodes().iter().any(|n| {
            let addresses = n.status.as_ref().and_then(|s| s.addresses.as_ref());
            addresses.into_iter().flatten().any(|a| a.address.parse() == Ok(peer))
        });
    node.then_some(peer)
}

/// The caller's address, when the request carries its connect information.
fn peer(request: &Request) -> Option<IpAddr> {
    request.extensions().get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

/// Whether `request` asks for the tunnel's upgrade.
fn upgrading(request: &Request) -> Option<Response> {
    let upgrade = request.headers().get(header::UPGRADE).and_then(|v| v.to_str().ok());
    (upgrade != Some(UPGRADE))
        .then(|| (StatusCode::BAD_REQUEST, format!("a tunnel needs `Upgrade: {UPGRADE}`\n")).into_response())
}

/// Answers 101 and copies bytes between the upgraded request and `upstream`.
fn splice(forwarder: &Forwarder, mut request: Request, mut upstream: impl Io + 'static) -> Response {
    let upgraded = hyper::upgrade::on(&mut request);
    let stop = forwarder.stop.clone();
    forwarder.tracker.spawn(async move {
        let Ok(upgraded) = upgraded.await else { return };
        let mut client = TokioIo::new(upgraded);
        tokio::select! {
            () = stop.cancelled() => {}
            _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
        }
    });
    (StatusCode::SWITCHING_PROTOCOLS, [(header::CONNECTION, "Upgrade"), (header::UPGRADE, UPGRADE)])
        .into_response()
}

/// A connection from the egress address `source`, which this node holds, to `ip:port` outside the cluster.
async fn leave(
    State(forwarder): State<Arc<Forwarder>>,
    Path((source, ip, port)): Path<(IpAddr, IpAddr, u16)>,
    request: Request,
) -> Response {
    if let Some(refused) = upgrading(&request) {
        return refused;
    }
    if from_a_node(&forwarder, &request).is_none() {
        return (StatusCode::FORBIDDEN, "only node agents leave from egress addresses\n").into_response();
    }
    let holds = egress::holder(&forwarder.dialer.nodes(), source)
        .is_some_and(|n| n.metadata.name.as_deref() == Some(forwarder.node_name.as_str()));
    if !forwarder.egress.is_assigned(source) || !holds {
        return (StatusCode::FORBIDDEN, format!("{source} is not an egress address this node holds\n"))
            .into_response();
    }
    if forwarder.dialer.in_pod_range(ip) {
        return (StatusCode::FORBIDDEN, format!("{ip} is a pod's address, not outside the cluster\n"))
            .into_response();
    }
    let target = SocketAddr::new(ip, port);
    match forwarder.dialer.leave_from(source, target).await {
        Ok(upstream) => splice(&forwarder, request, upstream),
        Err(e) => {
            let why = format!("cannot connect to {target} from {source}: {e}\n");
            (StatusCode::BAD_GATEWAY, why).into_response()
        }
    }
}

async fn forward(
    State(forwarder): State<Arc<Forwarder>>,
    Path((ip, port)): Path<(IpAddr, u16)>,
    request: Request,
) -> Response {
    if let Some(refused) = upgrading(&request) {
        return refused;
    }
    if !forwarder.dialer.owns(ip) {
        return (StatusCode::FORBIDDEN, format!("{ip} is not an address of this node's pods\n"))
            .into_response();
    }
    let target = SocketAddr::new(ip, port);
    // The source's agent judged the connection; the destination's judges it again by what it knows. A caller that
    // is no node agent is judged by its own address, whatever it claims.
    let source = match from_a_node(&forwarder, &request) {
        Some(_) => request.headers().get(SOURCE_HEADER).and_then(|v| v.to_str().ok()?.parse::<IpAddr>().ok()),
        None => peer(&request),
    };
    if let Some(source) = source
        && let Err(denied) = forwarder.policies.check((source, None), target, "TCP")
    {
        for policy in &denied.policies {
            let labels = vec![("policy", policy.clone()), ("direction", format!("{:?}", denied.direction))];
            forwarder.metrics.count("wharf_network_policy_denied_total", labels);
        }
        let why = format!("NetworkPolicy {} refuses {source} to {target}\n", denied.policies.join(", "));
        return (StatusCode::FORBIDDEN, why).into_response();
    }
    let pod = match TcpStream::connect(target).await {
        Ok(pod) => pod,
        Err(e) => {
            return (StatusCode::BAD_GATEWAY, format!("cannot connect to {target}: {e}\n")).into_response();
        }
    };
    let _ = pod.set_nodelay(true);
    splice(&forwarder, request, pod)
}
