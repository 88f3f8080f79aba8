//! A pod's network for `wasi:sockets`: three WASIp2 functions are replaced in the linkers, in front of
//! wasmtime-wasi's own. `ip-name-lookup.resolve-addresses` answers Service names with their cluster IP (or a
//! ready endpoint of a headless Service), `tcp-socket.start-connect` sends a connection to a cluster IP, or to a
//! pod of another node, where the pod's [`Directory`] routes it, and `tcp-socket.start-bind` narrows the
//! unspecified address to the pod's own (a pod has its own address, not the node's every address, as in its own
//! network namespace). Everything else, permission checks included, stays wasmtime-wasi's.

use std::net::SocketAddr;

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::WasiView;
use wasmtime_wasi::p2::TcpSocket;
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{self, ResolveAddressStream};
use wasmtime_wasi::p2::bindings::sockets::network::{self, ErrorCode, IpSocketAddress, Network};
use wasmtime_wasi::p2::bindings::sockets::tcp::HostTcpSocket;
use wasmtime_wasi::sockets::WasiSocketsView;

use super::directory::{Directory, Lookup};

/// The WASIp2 release wasmtime-wasi links; guests importing any 0.2 release are served by it.
const SOCKETS: &str = "0.2.12";

/// Store data that knows its pod's directory.
pub(super) trait Networked: WasiView + 'static {
    /// The pod's directory, when it has one.
    fn directory(&self) -> Option<&Directory>;
}

/// Replaces the three functions in `linker`, which already holds wasmtime-wasi's WASIp2.
pub(super) fn add_discovery<T: Networked>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    linker.instance(&format!("wasi:sockets/ip-name-lookup@{SOCKETS}"))?.func_wrap(
        "resolve-addresses",
        |mut store, (network, name): (Resource<Network>, String)| {
            let name = match store.data().directory().and_then(|d| d.lookup(&name)) {
                None => name,
                Some(Lookup::Address(ip)) => ip.to_string(),
                Some(Lookup::Alias(external)) => external,
                Some(Lookup::Unresolvable) => return Ok((Err(ErrorCode::NameUnresolvable),)),
            };
            let mut sockets = store.data_mut().sockets();
            let resolved: Result<Resource<ResolveAddressStream>, _> =
                ip_name_lookup::Host::resolve_addresses(&mut sockets, network, name);
            match resolved {
                Ok(stream) => Ok((Ok(stream),)),
                Err(e) => Ok((Err(network::Host::convert_error_code(&mut sockets, e)?),)),
            }
        },
    )?;
    linker.instance(&format!("wasi:sockets/tcp@{SOCKETS}"))?.func_wrap(
        "[method]tcp-socket.start-connect",
        |mut store, (socket, network, remote): (Resource<TcpSocket>, Resource<Network>, IpSocketAddress)| {
            let remote = SocketAddr::from(remote);
            let route =
                store.data().directory().and_then(|d| d.route(&remote.ip().to_string(), remote.port()));
            let target = match route {
                None => remote,
                Some(Ok(target)) => target,
                Some(Err(why)) => {
                    tracing::debug!(%remote, %why, "guest connects to a Service without endpoints");
                    return Ok((Err(ErrorCode::ConnectionRefused),));
                }
            };
            let mut sockets = store.data_mut().sockets();
            let started = HostTcpSocket::start_connect(&mut sockets, socket, network, target.into());
            match started {
                Ok(()) => Ok((Ok(()),)),
                Err(e) => Ok((Err(network::Host::convert_error_code(&mut sockets, e)?),)),
            }
        },
    )?;
    linker.instance(&format!("wasi:sockets/tcp@{SOCKETS}"))?.func_wrap_async(
        "[method]tcp-socket.start-bind",
        |mut store, (socket, network, local): (Resource<TcpSocket>, Resource<Network>, IpSocketAddress)| {
            let mut local = SocketAddr::from(local);
            if local.ip().is_unspecified()
                && let Some(own) = store.data().directory().and_then(|d| d.pod_ip())
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
