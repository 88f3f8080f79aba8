//! Local stand-ins for endpoints on other nodes, for guests' connections: wasmtime-wasi opens a guest's TCP
//! connection or outgoing HTTP request to an address itself, so a connection that must go through another
//! node's agent is sent to a listener of this agent on 127.0.0.1, one per remote endpoint, which opens the
//! tunnel. Listeners live while their endpoint is in some EndpointSlice.

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

/// The relay listeners of one agent.
pub struct Relay {
    dialer: Arc<Dialer>,
    listeners: Mutex<HashMap<Backend, (SocketAddr, CancellationToken)>>,
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

    /// The local address whose connections go to `backend`.
    pub fn address_for(&self, backend: &Backend) -> io::Result<SocketAddr> {
        let mut listeners = self.listeners.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((addr, _)) = listeners.get(backend) {
            return Ok(*addr);
        }
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = self.stop.child_token();
        let (dialer, target, tracker, token, agent_stop) =
            (self.dialer.clone(), backend.clone(), self.tracker.clone(), stop.clone(), self.stop.clone());
        self.tracker.spawn_on(
            async move {
                let Ok(listener) = TcpListener::from_std(listener) else { return };
                loop {
                    let accepted = tokio::select! {
                        () = token.cancelled() => return,
                        accepted = listener.accept() => accepted,
                    };
                    let Ok((mut guest, _)) = accepted else { continue };
                    let _ = guest.set_nodelay(true);
                    let (dialer, target, stop) = (dialer.clone(), target.clone(), agent_stop.clone());
                    tracker.spawn(async move {
                        match dialer.open(&target).await {
                            Ok(mut upstream) => tokio::select! {
                                () = stop.cancelled() => {}
                                _ = tokio::io::copy_bidirectional(&mut guest, &mut upstream) => {}
                            },
                            Err(error) => {
                                tracing::debug!(backend = %target.addr, %error, "relay cannot connect");
                            }
                        }
                    });
                }
            },
            &self.runtime,
        );
        listeners.insert(backend.clone(), (addr, stop));
        Ok(addr)
    }

    /// Closes the listeners of endpoints not in `live` (connections already relayed go on).
    pub fn retain(&self, live: &HashSet<Backend>) {
        let mut listeners = self.listeners.lock().unwrap_or_else(PoisonError::into_inner);
        listeners.retain(|backend, (_, stop)| {
            let keep = live.contains(backend);
            if !keep {
                stop.cancel();
            }
            keep
        });
    }
}
