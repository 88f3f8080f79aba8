//! The WASI context of one container run: argv, environment, working directory, preopened volumes, stdio sinks
//! and the network. Nothing else is granted: no inherited environment, no host directories. Sockets reach only
//! what the pod's [`PodNetwork`] allows (the cluster as its NetworkPolicies say, and outside it only the hosts its
//! allow-list names), and a guest listens only at its pod's address on the ports its pod's containers declare
//! ([`Listening`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::logs::LogSink;
use crate::runtime::PodNetwork;
use crate::volumes::Mount;

/// Why a sandbox could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A volume directory could not be preopened.
    #[error("cannot open volume directory {path} for {guest}: {detail}")]
    Preopen {
        /// Host directory.
        path: String,
        /// Guest path.
        guest: String,
        /// The cause.
        detail: String,
    },
}

/// Everything a container run is granted.
pub struct Sandbox {
    /// argv, program name first.
    pub argv: Vec<String>,
    /// Environment, in order.
    pub env: Vec<(String, String)>,
    /// Working directory (`workingDir`).
    pub working_dir: Option<String>,
    /// Preopened directories.
    pub mounts: Vec<Mount>,
    /// What sockets may reach; without it (a program run outside a pod) there are no sockets.
    pub network: Option<Arc<PodNetwork>>,
    /// Where sockets may listen.
    pub listening: Arc<Listening>,
    /// Where stdout goes.
    pub stdout: LogSink,
    /// Where stderr goes.
    pub stderr: LogSink,
}

impl Sandbox {
    /// The WASI context builder for this sandbox.
    pub fn builder(&self) -> Result<WasiCtxBuilder, Error> {
        let mut b = WasiCtxBuilder::new();
        b.args(&self.argv).envs(&self.env).stdout(self.stdout.clone()).stderr(self.stderr.clone());
        for mount in &self.mounts {
            let perms = if mount.read_only { FsPerms::ReadOnly } else { FsPerms::ReadWrite };
            b.preopened_dir(&mount.host, &mount.guest, perms).map_err(|e| Error::Preopen {
                path: mount.host.display().to_string(),
                guest: mount.guest.clone(),
                detail: format!("{e:#}"),
            })?;
        }
        if let Some(dir) = &self.working_dir {
            b.initial_cwd(dir);
        }
        if let Some(network) = &self.network {
            let (listening, network) = (self.listening.clone(), network.clone());
            b.inherit_network().allow_tcp(true).allow_udp(true).allow_ip_name_lookup(true).socket_addr_check(
                move |addr, usage| {
                    let allowed = match usage {
                        // TCP connections were judged, and routed, before they reach this check.
                        SocketAddrUse::UdpSend => network
                            .send_datagram(addr)
                            .inspect_err(|refusal| tracing::debug!(%addr, %refusal, "guest datagram refused"))
                            .is_ok(),
                        _ => listening.allows(addr, usage),
                    };
                    Box::pin(async move { allowed })
                },
            );
        } else {
            b.allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false);
        }
        Ok(b)
    }
}

/// Where a pod's guests may bind and listen: at the pod's address (or the unspecified address, which the runtime
/// narrows to the pod's) and, to accept connections, only on the ports its containers declare. Binding port 0 is
/// allowed, for a client's explicit bind; listening on it is not. Kubernetes leaves undeclared ports open; a wasm
/// guest shares its node's network, so its listeners are confined instead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listening {
    /// The pod's address.
    pub pod_ip: Option<IpAddr>,
    /// Declared TCP `containerPort`s of all the pod's containers.
    pub tcp: Vec<u16>,
    /// Declared UDP `containerPort`s.
    pub udp: Vec<u16>,
}

impl Listening {
    /// Whether a socket may use `addr` as `usage` says.
    pub fn allows(&self, addr: SocketAddr, usage: SocketAddrUse) -> bool {
        let own = addr.ip().is_unspecified() || Some(addr.ip()) == self.pod_ip;
        let port = addr.port();
        match usage {
            SocketAddrUse::TcpBind => own && (port == 0 || self.tcp.contains(&port)),
            SocketAddrUse::TcpListen => own && self.tcp.contains(&port),
            SocketAddrUse::UdpBind => own && (port == 0 || self.udp.contains(&port)),
            _ => true,
        }
    }
}

/// argv of a container: `command` then `args` when a command is given; otherwise the image's file name as the
/// program name, then `args` (a wasm module has no entrypoint of its own beyond `_start`).
pub fn argv(image: &str, command: &[String], args: &[String]) -> Vec<String> {
    let mut out: Vec<String> = if command.is_empty() {
        vec![crate::image::program_name(image).to_owned()]
    } else {
        command.to_vec()
    };
    out.extend(args.iter().cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guests_listen_only_at_their_address_on_declared_ports() {
        let rules = Listening { pod_ip: Some("127.64.0.5".parse().unwrap()), tcp: vec![8080], udp: vec![53] };
        let at = |a: &str| a.parse::<SocketAddr>().unwrap();
        assert!(rules.allows(at("127.64.0.5:8080"), SocketAddrUse::TcpListen));
        assert!(rules.allows(at("0.0.0.0:8080"), SocketAddrUse::TcpBind));
        assert!(rules.allows(at("0.0.0.0:0"), SocketAddrUse::TcpBind), "a client's implicit bind");
        assert!(!rules.allows(at("127.64.0.5:9090"), SocketAddrUse::TcpBind), "an undeclared port");
        assert!(!rules.allows(at("127.64.0.5:40000"), SocketAddrUse::TcpListen), "an ephemeral listener");
        assert!(!rules.allows(at("127.0.0.1:8080"), SocketAddrUse::TcpBind), "another address");
        assert!(rules.allows(at("0.0.0.0:0"), SocketAddrUse::UdpBind));
        assert!(rules.allows(at("127.64.0.5:53"), SocketAddrUse::UdpBind));
        assert!(
            !rules.allows(at("127.64.0.5:8080"), SocketAddrUse::UdpBind),
            "8080 is declared for TCP only"
        );
        assert!(rules.allows(at("10.96.0.1:443"), SocketAddrUse::TcpConnect));
    }

    #[test]
    fn argv_uses_command_or_image_name() {
        let args = vec!["a".to_owned()];
        assert_eq!(argv("/x/hello.wasm@sha256:00", &[], &args), ["hello", "a"]);
        assert_eq!(argv("/x/hello.wasm", &["prog".to_owned()], &args), ["prog", "a"]);
    }
}
