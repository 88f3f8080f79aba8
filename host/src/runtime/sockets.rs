//! A pod's network for `wasi:sockets`: four WASIp2 functions are replaced in the linkers, in front of
//! wasmtime-wasi's own, so that the pod's [`PodNetwork`] judges every way out. `ip-name-lookup.resolve-addresses`
//! answers Service names with their cluster IP (or a ready endpoint of a headless one) and looks up outside names
//! only when the pod's allow-list lets sockets reach them; `resolve-next-address` remembers what such a lookup
//! answered; `tcp-socket.start-connect` sends a connection where the pod's network routes it, or refuses it; and
//! `tcp-socket.start-bind` narrows the unspecified address to the pod's own (a pod has its own address, not the
//! node's every address, as in its own network namespace). Datagrams are judged by the sandbox's address check.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::WasiView;
use wasmtime_wasi::p2::TcpSocket;
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{
    self, HostResolveAddressStream, ResolveAddressStream,
};
use wasmtime_wasi::p2::bindings::sockets::network::{self, ErrorCode, IpAddress, IpSocketAddress, Network};
use wasmtime_wasi::p2::bindings::sockets::tcp::HostTcpSocket;
use wasmtime_wasi::sockets::WasiSocketsView;

use super::network::{PodNetwork, Refusal, Resolve};

/// The WASIp2 release wasmtime-wasi links; guests importing any 0.2 release are served by it.
const SOCKETS: &str = "0.2.12";

/// One instance's view of its pod's network.
pub(super) struct GuestNetwork {
    pod: Arc<PodNetwork>,
    /// The outside name each of the instance's pending lookups asked for, by stream.
    lookups: HashMap<u32, Arc<str>>,
}

impl GuestNetwork {
    pub(super) fn new(pod: Arc<PodNetwork>) -> Self {
        Self { pod, lookups: HashMap::new() }
    }
}

/// Store data that knows its pod's network.
pub(super) trait Networked: WasiView + 'static {
    /// The instance's network, when its pod has one.
    fn network(&mut self) -> Option<&mut GuestNetwork>;
}

fn ip(address: IpAddress) -> IpAddr {
    match address {
        IpAddress::Ipv4(octets) => IpAddr::from(<[u8; 4]>::from(octets)),
        IpAddress::Ipv6(segments) => IpAddr::from(<[u16; 8]>::from(segments)),
    }
}

/// Whether a connection to `target` should leave from the pod's address `own`: when both are this machine's
/// loopback addresses (a pod here, or the agent's relay), so that the destination's agent sees which pod it is.
pub(super) fn from_pod(own: IpAddr, target: SocketAddr) -> bool {
    own.is_loopback() && target.ip().is_loopback() && own.is_ipv4() == target.is_ipv4()
}

/// Binds the guest's `socket` to `own` (any port) unless the guest bound it already; a bind that fails leaves
/// the socket to the implicit bind of its connect.
async fn bind_unbound(
    sockets: &mut wasmtime_wasi::sockets::WasiSocketsCtxView<'_>,
    socket: &Resource<TcpSocket>,
    network: &Resource<Network>,
    own: IpAddr,
) {
    let borrow = || Resource::<TcpSocket>::new_borrow(socket.rep());
    if HostTcpSocket::local_address(sockets, borrow()).is_ok() {
        return;
    }
    let network = Resource::<Network>::new_borrow(network.rep());
    let local = SocketAddr::new(own, 0).into();
    if HostTcpSocket::start_bind(sockets, borrow(), network, local).await.is_ok() {
        let _ = HostTcpSocket::finish_bind(sockets, borrow());
    }
}

/// What a guest is told of a refusal.
fn error_code(refusal: &Refusal) -> ErrorCode {
    match refusal {
        Refusal::Cluster(_) => ErrorCode::ConnectionRefused,
        Refusal::NotAllowed(_) | Refusal::Policy(_) | Refusal::Egress(_) => ErrorCode::AccessDenied,
        Refusal::Unresolvable(_) => ErrorCode::NameUnresolvable,
    }
}

/// Replaces the four functions in `linker`, which already holds wasmtime-wasi's WASIp2.
pub(super) fn add_discovery<T: Networked>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut lookup = linker.instance(&format!("wasi:sockets/ip-name-lookup@{SOCKETS}"))?;
    lookup.func_wrap("resolve-addresses", |mut store, (network, name): (Resource<Network>, String)| {
        let (name, outside) = match store.data_mut().network().map(|n| n.pod.lookup(&name)) {
            None => (name, None),
            Some(Ok(Resolve::Address(ip))) => (ip.to_string(), None),
            Some(Ok(Resolve::Outside(outside))) => (outside.to_string(), Some(outside)),
            Some(Err(refusal)) => {
                tracing::debug!(%refusal, "guest lookup refused");
                return Ok((Err(error_code(&refusal)),));
            }
        };
        let mut sockets = store.data_mut().sockets();
        let resolved: Result<Resource<ResolveAddressStream>, _> =
            ip_name_lookup::Host::resolve_addresses(&mut sockets, network, name);
        match resolved {
            Ok(stream) => {
                // Stream handles are reused: a stream's entry is set, or cleared, whenever one is made.
                if let Some(network) = store.data_mut().network() {
                    match outside {
                        Some(outside) => network.lookups.insert(stream.rep(), outside),
                        None => network.lookups.remove(&stream.rep()),
                    };
                }
                Ok((Ok(stream),))
            }
            Err(e) => Ok((Err(network::Host::convert_error_code(&mut sockets, e)?),)),
        }
    })?;
    lookup.func_wrap(
        "[method]resolve-address-stream.resolve-next-address",
        |mut store, (stream,): (Resource<ResolveAddressStream>,)| {
            let rep = stream.rep();
            let mut sockets = store.data_mut().sockets();
            let next = HostResolveAddressStream::resolve_next_address(&mut sockets, stream);
            match next {
                Ok(Some(address)) => {
                    if let Some(network) = store.data_mut().network()
                        && let Some(name) = network.lookups.get(&rep)
                    {
                        network.pod.learn(name, ip(address));
                    }
                    Ok((Ok(Some(address)),))
                }
                Ok(None) => {
                    if let Some(network) = store.data_mut().network() {
                        network.lookups.remove(&rep);
                    }
                    Ok((Ok(None),))
                }
                Err(e) => Ok((Err(network::Host::convert_error_code(&mut sockets, e)?),)),
            }
        },
    )?;
    let mut tcp = linker.instance(&format!("wasi:sockets/tcp@{SOCKETS}"))?;
    tcp.func_wrap_async(
        "[method]tcp-socket.start-connect",
        |mut store, (socket, network, remote): (Resource<TcpSocket>, Resource<Network>, IpSocketAddress)| {
            let remote = SocketAddr::from(remote);
            let decided = store.data_mut().network().map(|n| (n.pod.connect(remote), n.pod.pod_ip()));
            Box::new(async move {
                let target = match decided {
                    None => remote,
                    Some((Ok(target), own)) => {
                        if let Some(own) = own.filter(|own| from_pod(*own, target)) {
                            bind_unbound(&mut store.data_mut().sockets(), &socket, &network, own).await;
                        }
                        target
                    }
                    Some((Err(refusal), _)) => {
                        tracing::debug!(%remote, %refusal, "guest connection refused");
                        return Ok((Err(error_code(&refusal)),));
                    }
                };
                let mut sockets = store.data_mut().sockets();
                let started = HostTcpSocket::start_connect(&mut sockets, socket, network, target.into());
                match started {
                    Ok(()) => Ok((Ok(()),)),
                    Err(e) => Ok((Err(network::Host::convert_error_code(&mut sockets, e)?),)),
                }
            })
        },
    )?;
    tcp.func_wrap_async(
        "[method]tcp-socket.start-bind",
        |mut store, (socket, network, local): (Resource<TcpSocket>, Resource<Network>, IpSocketAddress)| {
            let mut local = SocketAddr::from(local);
            if local.ip().is_unspecified()
                && let Some(own) = store.data_mut().network().and_then(|n| n.pod.pod_ip())
                && own.is_ipv4() == local.is_ipv4()
            {
                local.set_ip(own);
            }
            Box::new(async move {
                let mut sockets = store.data_mut().sockets();
                match HostTcpSocket::start_bind(&mut sockets, socket, network, local.into()).await {
                    Ok(()) => Ok((Ok(()),)),
                    Err(e) => Ok((Err(network::Host::convert_error_code(&mut sockets, e)?),)),
                }
            })
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}
