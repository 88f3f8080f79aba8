//! Local stand-ins for guests' connections that the agent must open itself: wasmtime-wasi opens a guest's TCP
//! connection to an address itself, so a connection that must go through another node's agent (to a pod there)
//! or leave from a namespace's egress address is sent to a listener of this agent on 127.0.0.1, one per
//! upstream, which opens it. Listeners of endpoints live while their endpoint is in some EndpointSlice; those of
//! outside destinations live as long as the agent, up to [`EGRESS_LISTENERS`] of them.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::dial::Dialer;
use super::table::Backend;

/// How many stand-ins for outside destinations an agent keeps; past it, connections to new ones are refused.
const EGRESS_LISTENERS: usize = 1024;

/// Where a relayed connection goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Upstream {
    /// An endpoint, through the agent of its node.
    Endpoint(Backend),
    /// A destination outside the cluster, from an egress address (through the node that holds it).
    Egress {
        /// The egress address.
        source: std::net::IpAddr,
        /// The destination.
        destination: SocketAddr,
    },
}

/// The relay listeners of one agent.
pub struct Relay {
    dialer: Arc<Dialer>,
    listeners: Mutex<HashMap<Upstream, (SocketAddr, CancellationToken)>>,
    /// The agent's runtime: guests ask for listeners from theirs.
    runtime: Handle,
    tracker: TaskTracker,
    stop: CancellationToken,
}

impl Relay {
    /// Relays through `dialer`; listeners run on the current runtime, tracked by `tracker`, until `stop`.
    pub fn new(dialer: Arc<Dialer>, tracker: TaskTracker, stop: CancellationToken) -> Self {
        Self { dialer, listeners: Mutex::default(), runtime: Handle::current(), tracker, stop }
    }

    /// The local address whose connections go to `upstream`.
    pub fn address_for(&self, upstream: &Upstream) -> io::Result<SocketAddr> {
        let mut listeners = self.listeners.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((addr, _)) = listeners.get(upstream) {
            return Ok(*addr);
        }
        // A stand-in, once handed to a guest, must stay what it is: past the cap, new ones are refused rather
        // than old ones closed (whose ports another upstream could take).
        if matches!(upstream, Upstream::Egress { .. })
            && listeners.keys().filter(|u| matches!(u, Upstream::Egress { .. })).count() >= EGRESS_LISTENERS
        {
            return Err(io::Error::other(format!(
                "this node relays {EGRESS_LISTENERS} destinations from egress addresses already"
            )));
        }
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = self.stop.child_token();
        let (dialer, target, tracker, token, agent_stop) =
            (self.dialer.clone(), upstream.clone(), self.tracker.clone(), stop.clone(), self.stop.clone());
        self.tracker.spawn_on(
            async move {
                let Ok(listener) = TcpListener::from_std(listener) else { return };
                loop {
                    let accepted = tokio::select! {
                        () = token.cancelled() => return,
                        accepted = listener.accept() => accepted,
                    };
                    // Guests connect from their pod's address, which the destination's agent judges.
                    let Ok((mut guest, peer)) = accepted else { continue };
                    let _ = guest.set_nodelay(true);
                    let (dialer, target, stop) = (dialer.clone(), target.clone(), agent_stop.clone());
                    tracker.spawn(async move {
                        let opened = match &target {
                            Upstream::Endpoint(backend) => dialer.open(backend, Some(peer.ip())).await,
                            Upstream::Egress { source, destination } => {
                                dialer.open_egress(*source, *destination).await
                            }
                        };
                        match opened {
                            Ok(mut upstream) => tokio::select! {
                                () = stop.cancelled() => {}
                                _ = tokio::io::copy_bidirectional(&mut guest, &mut upstream) => {}
                            },
                            Err(error) => tracing::debug!(?target, %error, "relay cannot connect"),
                        }
                    });
                }
            },
            &self.runtime,
        );
        listeners.insert(upstream.clone(), (addr, stop));
        Ok(addr)
    }

    /// Closes the listeners of endpoints not in `live` (connections already relayed go on).
    pub fn retain(&self, live: &HashSet<Backend>) {
        let mut listeners = self.listeners.lock().unwrap_or_else(PoisonError::into_inner);
        listeners.retain(|upstream, (_, stop)| {
            let keep = match upstream {
                Upstream::Endpoint(backend) => live.contains(backend),
                Upstream::Egress { .. } => true,
            };
            if !keep {
                stop.cancel();
            }
            keep
        });
    }
}
