//! The node's Service proxy, kube-proxy's job: it listens on every node port of the cluster (and on the ports of
//! LoadBalancer Services) at the node's address and forwards each connection to an endpoint of its Service, round
//! robin or by client address (`sessionAffinity: ClientIP`), on this node or through the agent of the node that
//! runs it. Endpoints come from the EndpointSlices, so only ready pods get traffic; a Service without one closes
//! the connection, or answers 503 on an HTTP port.
//!
//! Several agents on one machine (a test cluster) share a node address, so the listeners set `SO_REUSEPORT` and the
//! kernel spreads connections between them; each forwards to any endpoint. Windows has no `SO_REUSEPORT`: there the
//! first agent on an address serves its node ports.

use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::dial::Dialer;
use super::policy::Policies;
use super::table::{Route, Table};
use crate::stats::metrics::Metrics;

/// What a connection to an HTTP port without endpoints gets.
const NO_ENDPOINTS: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 37\r\n\
connection: close\r\n\r\nno ready endpoints for this Service.\n";

/// The node-port and load-balancer listeners of one agent.
pub(super) struct Proxy {
    pub(super) address: IpAddr,
    pub(super) dialer: Arc<Dialer>,
    pub(super) policies: Policies,
    pub(super) table: RwLock<Table>,
    pub(super) turn: AtomicUsize,
    pub(super) metrics: Arc<Metrics>,
}

impl Proxy {
    pub(super) fn listen(&self, port: u16) -> std::io::Result<TcpListener> {
        let addr = SocketAddr::new(self.address, port);
        let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        #[cfg(unix)]
        {
            socket.set_reuseaddr(true)?;
            socket.set_reuseport(true)?;
            socket.bind(addr)?;
        }
        // Windows has no SO_REUSEPORT, and its SO_REUSEADDR would let any process take the port over: the
        // listener stays exclusive, so of several agents sharing an address only the first serves node ports.
        #[cfg(not(unix))]
        socket.bind(addr).inspect_err(|error| {
            static WARNED: std::sync::Once = std::sync::Once::new();
            if error.kind() == std::io::ErrorKind::AddrInUse {
                WARNED.call_once(|| {
                    tracing::warn!(
                        address = %self.address,
                        "agents sharing an address cannot share its node ports on this platform: the first \
                         to listen serves them"
                    );
                });
            }
        })?;
        socket.listen(1024)
    }

    pub(super) async fn accept(
        self: Arc<Self>,
        listener: TcpListener,
        port: u16,
        tracker: TaskTracker,
        stop: CancellationToken,
    ) {
        loop {
            let accepted = tokio::select! {
                () = stop.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            let Ok((client, peer)) = accepted else { continue };
            let route = self.table.read().unwrap_or_else(PoisonError::into_inner).get(&port).cloned();
            let Some(route) = route else { continue };
            let first = self.pick(&route, peer.ip());
            let (stop, this) = (stop.clone(), self.clone());
            tracker.spawn(async move {
                let service = route.service.clone();
                let outcome = tokio::select! {
                    () = stop.cancelled() => return,
                    outcome = this.forward(client, peer.ip(), route, first) => outcome,
                };
                this.metrics.count(
                    "wharf_service_connections_total",
                    vec![("service", service), ("outcome", outcome.to_owned())],
                );
            });
        }
    }

    /// The index of the endpoint to try first.
    fn pick(&self, route: &Route, client: IpAddr) -> usize {
        let n = route.backends.len().max(1);
        if route.client_affinity {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            client.hash(&mut hasher);
            return (hasher.finish() % n as u64) as usize;
        }
        self.turn.fetch_add(1, Ordering::Relaxed) % n
    }
}

impl Proxy {
    /// Connects `client` (at `peer`) to the first endpoint that answers and whose ingress policies let it in,
    /// starting at `first`, and copies both ways until either side closes; returns the outcome, for the metrics.
    async fn forward(&self, mut client: TcpStream, peer: IpAddr, route: Route, first: usize) -> &'static str {
        let n = route.backends.len();
        let mut refused = false;
        for i in 0..n {
            let backend = &route.backends[(first + i) % n];
            if let Err(denied) = self.policies.check((peer, None), backend.addr, "TCP") {
                tracing::debug!(service = %route.service, backend = %backend.addr, ?denied, "refused by policy");
                for policy in denied.policies {
                    self.metrics.count(
                        "wharf_network_policy_denied_total",
                        vec![("policy", policy), ("direction", "Ingress".to_owned())],
                    );
                }
                refused = true;
                continue;
            }
            match self.dialer.open(backend, Some(peer)).await {
                Ok(mut upstream) => {
                    let _ = client.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    return "forwarded";
                }
                Err(error) => {
                    tracing::debug!(service = %route.service, backend = %backend.addr, %error,
                        "endpoint did not accept; trying the next");
                }
            }
        }
        if refused {
            return "denied";
        }
        if route.http {
            let _ = client.write_all(NO_ENDPOINTS).await;
            let _ = client.shutdown().await;
        }
        "no_endpoint"
    }
}
