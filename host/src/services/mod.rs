//! The node's Service proxy, kube-proxy's job: it listens on every node port of the cluster at the node's address
//! and forwards each connection to an endpoint of its Service, round robin or by client address
//! (`sessionAffinity: ClientIP`). Endpoints come from the EndpointSlices, so only ready pods get traffic; a
//! Service without one closes the connection, or answers 503 on an HTTP port.
//!
//! Several agents on one machine (a test cluster) share a node address, so the listeners set `SO_REUSEPORT` and the
//! kernel spreads connections between them; each forwards to any endpoint.

mod links;
mod table;

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use links::service_links;

use crate::stats::metrics::Metrics;
pub use table::{Route, Table, routes};

/// How long a connection to an endpoint may take before the next endpoint is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// What a connection to an HTTP port without endpoints gets.
const NO_ENDPOINTS: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 37\r\n\
connection: close\r\n\r\nno ready endpoints for this Service.\n";

/// Starts the proxy for node address `address` until `stop`; returns the resolver of Service names its caches
/// serve.
pub fn start(
    client: kube::Client,
    address: IpAddr,
    metrics: Arc<Metrics>,
    tracker: &TaskTracker,
    stop: &CancellationToken,
) -> Resolver {
    let changed = Arc::new(Notify::new());
    let services = watch::<Service>(Api::all(client.clone()), &changed, tracker, stop);
    let slices = watch::<EndpointSlice>(Api::all(client), &changed, tracker, stop);
    let resolver =
        Resolver { services: services.clone(), slices: slices.clone(), turn: Arc::new(AtomicUsize::new(0)) };
    let proxy =
        Arc::new(Proxy { address, table: RwLock::new(Table::new()), turn: AtomicUsize::new(0), metrics });
    let (tracker_inner, stop) = (tracker.clone(), stop.clone());
    tracker.spawn(async move {
        let mut listeners: HashMap<u16, CancellationToken> = HashMap::new();
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                () = changed.notified() => {}
            }
            // Let a burst of changes (a rollout) settle into one recomputation.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let service_list = services.state();
            let slice_list = slices.state();
            let slice_refs: Vec<&EndpointSlice> = slice_list.iter().map(AsRef::as_ref).collect();
            let table = routes(service_list.iter().map(AsRef::as_ref), &slice_refs);
            listeners.retain(|port, token| {
                let keep = table.contains_key(port);
                if !keep {
                    token.cancel();
                }
                keep
            });
            for port in table.keys() {
                if !listeners.contains_key(port) {
                    let token = stop.child_token();
                    match proxy.listen(*port) {
                        Ok(listener) => {
                            tracker_inner.spawn(proxy.clone().accept(
                                listener,
                                *port,
                                tracker_inner.clone(),
                                token.clone(),
                            ));
                            listeners.insert(*port, token);
                        }
                        Err(error) => tracing::warn!(port, %error, "cannot listen on a node port"),
                    }
                }
            }
            *proxy.table.write().unwrap_or_else(PoisonError::into_inner) = table;
        }
    });
    resolver
}

/// Finds the endpoint a guest's connection to a Service should reach: by cluster IP, or by the names
/// Kubernetes' DNS serves (`svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`). Cheap to clone.
#[derive(Clone)]
pub struct Resolver {
    services: Store<Service>,
    slices: Store<EndpointSlice>,
    turn: Arc<AtomicUsize>,
}

impl Resolver {
    /// The endpoint for `host:port` asked from a pod in `namespace`: `None` when `host` names no Service,
    /// `Some(Err)` when it names one with no ready endpoint for that port.
    pub fn endpoint(&self, namespace: &str, host: &str, port: u16) -> Option<Result<SocketAddr, String>> {
        let service = self.find(namespace, host)?;
        let spec = service.spec.as_ref()?;
        let service_namespace = service.metadata.namespace.clone().unwrap_or_default();
        let name = service.metadata.name.clone().unwrap_or_default();
        let Some(service_port) = spec
            .ports
            .iter()
            .flatten()
            .find(|p| p.port == i32::from(port) && p.protocol.as_deref().unwrap_or("TCP") == "TCP")
        else {
            return Some(Err(format!("Service {service_namespace}/{name} has no port {port}")));
        };
        let slices = self.slices.state();
        let own: Vec<&EndpointSlice> = slices
            .iter()
            .map(AsRef::as_ref)
            .filter(|s| {
                s.metadata.namespace.as_deref() == Some(service_namespace.as_str())
                    && s.metadata.labels.as_ref().and_then(|l| l.get("kubernetes.io/service-name"))
                        == Some(&name)
            })
            .collect();
        let backends = table::backends(&own, service_port.name.as_deref().unwrap_or_default());
        if backends.is_empty() {
            return Some(Err(format!("Service {service_namespace}/{name} has no ready endpoint")));
        }
        Some(Ok(backends[self.turn.fetch_add(1, Ordering::Relaxed) % backends.len()]))
    }

    /// Whether the cache holds the Service `namespace/name`.
    pub fn knows(&self, namespace: &str, name: &str) -> bool {
        self.find(namespace, &format!("{name}.{namespace}")).is_some()
    }

    /// The Service environment variables of a container in `namespace`.
    pub fn links(&self, namespace: &str) -> Vec<(String, String)> {
        let services = self.services.state();
        service_links(
            services.iter().map(AsRef::as_ref).filter(|s| s.metadata.namespace.as_deref() == Some(namespace)),
        )
    }

    fn find(&self, namespace: &str, host: &str) -> Option<Arc<Service>> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            let ip = ip.to_string();
            return self
                .services
                .find(|s| s.spec.as_ref().and_then(|spec| spec.cluster_ip.as_deref()) == Some(ip.as_str()));
        }
        let host = host.trim_end_matches('.');
        let labels: Vec<&str> = host.split('.').collect();
        let (name, in_namespace) = match labels.as_slice() {
            [name] => (*name, namespace),
            [name, ns] | [name, ns, "svc"] | [name, ns, "svc", "cluster", "local"] => (*name, *ns),
            _ => return None,
        };
        self.services.find(|s| {
            s.metadata.name.as_deref() == Some(name) && s.metadata.namespace.as_deref() == Some(in_namespace)
        })
    }
}

struct Proxy {
    address: IpAddr,
    table: RwLock<Table>,
    turn: AtomicUsize,
    metrics: Arc<Metrics>,
}

impl Proxy {
    fn listen(&self, port: u16) -> std::io::Result<TcpListener> {
        let addr = SocketAddr::new(self.address, port);
        let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        socket.set_reuseaddr(true)?;
        socket.set_reuseport(true)?;
        socket.bind(addr)?;
        socket.listen(1024)
    }

    async fn accept(
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
            let (stop, metrics) = (stop.clone(), self.metrics.clone());
            tracker.spawn(async move {
                let service = route.service.clone();
                let outcome = tokio::select! {
                    () = stop.cancelled() => return,
                    outcome = forward(client, route, first) => outcome,
                };
                metrics.count(
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

/// Connects to the first endpoint that answers, starting at `first`, and copies both ways until either side
/// closes; returns the outcome, for the metrics.
async fn forward(mut client: TcpStream, route: Route, first: usize) -> &'static str {
    let n = route.backends.len();
    for i in 0..n {
        let backend = route.backends[(first + i) % n];
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(backend)).await {
            Ok(Ok(mut upstream)) => {
                let _ = client.set_nodelay(true);
                let _ = upstream.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                return "forwarded";
            }
            _ => {
                tracing::debug!(service = %route.service, %backend, "endpoint did not accept; trying the next");
            }
        }
    }
    if route.http {
        let _ = client.write_all(NO_ENDPOINTS).await;
        let _ = client.shutdown().await;
    }
    "no_endpoint"
}

/// A watched cache of `K` that signals `changed` after every change.
fn watch<K>(api: Api<K>, changed: &Arc<Notify>, tracker: &TaskTracker, stop: &CancellationToken) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let (changed, stop) = (changed.clone(), stop.clone());
    tracker.spawn(async move {
        let events = reflector::reflector(writer, watcher(api, watcher::Config::default()))
            .default_backoff()
            .for_each(|event| {
                let changed = changed.clone();
                async move {
                    match event {
                        Ok(_) => changed.notify_one(),
                        Err(error) => tracing::debug!(%error, "Service proxy watch failed; retrying"),
                    }
                }
            });
        tokio::select! {
            () = stop.cancelled() => {}
            () = events => {}
        }
    });
    reader
}
