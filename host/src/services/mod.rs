//! The node's part of Services: the proxy of node ports and load balancers (`proxy.rs`, kube-proxy's job), the
//! Service names and cluster IPs guests reach (`resolver.rs`, cluster DNS's job), and the connections to pods of
//! other nodes: opened through their agents (`dial.rs`), received from other agents (`forward.rs`) and relayed
//! for guests (`relay.rs`), and the NetworkPolicy checks of guests' connections (`policy.rs`). Everything is
//! computed from watched caches of Services, EndpointSlices, Nodes, NetworkPolicies, Namespaces and Pods.

mod dial;
mod egress;
mod forward;
mod links;
mod policy;
mod proxy;
mod relay;
mod resolver;
mod table;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use egress::{EGRESS_ASSIGNABLE_LABEL, EGRESS_CONFIG, EGRESS_IP_ANNOTATION, PROTECTED_KEY};
pub use links::service_links;
pub use resolver::{OnDenied, Resolver};
pub use table::{Backend, Route, Table, routes};

use crate::stats::metrics::Metrics;

/// What the agent's Services part gives the rest of the agent.
pub struct Services {
    /// Service names and addresses, for guests.
    pub resolver: Resolver,
    /// The tunnel route other nodes' agents open connections to this node's pods through, for the agent's
    /// endpoint.
    pub tunnels: axum::Router,
}

/// Starts the proxy of node `node_name` at address `address` until `stop`.
pub fn start(
    client: kube::Client,
    node_name: &str,
    tls: Option<&crate::NodeTls>,
    address: IpAddr,
    metrics: Arc<Metrics>,
    tracker: &TaskTracker,
    stop: &CancellationToken,
) -> Services {
    let changed = Arc::new(Notify::new());
    let services = watch::<Service>(Api::all(client.clone()), &changed, tracker, stop);
    let slices = watch::<EndpointSlice>(Api::all(client.clone()), &changed, tracker, stop);
    let unwatched = Arc::new(Notify::new());
    let nodes = watch::<Node>(Api::all(client.clone()), &unwatched, tracker, stop);
    let namespaces = watch::<Namespace>(Api::all(client.clone()), &unwatched, tracker, stop);
    let egress = egress::EgressAddresses {
        namespaces: namespaces.clone(),
        // Only this one ConfigMap of kube-system: a node may read no other.
        config: watch_with::<ConfigMap>(
            Api::namespaced(client.clone(), egress::EGRESS_CONFIG.0),
            watcher::Config::default().fields(&format!("metadata.name={}", egress::EGRESS_CONFIG.1)),
            &unwatched,
            tracker,
            stop,
        ),
    };
    let policies = policy::Policies::start(
        client.clone(),
        {
            let changed = Arc::new(Notify::new());
            (watch::<NetworkPolicy>(Api::all(client), &changed, tracker, stop), changed)
        },
        namespaces,
        tracker,
        stop,
    );
    let connector = tls.and_then(|tls| {
        let client = (tls.client.0.as_str(), tls.client.1.as_str());
        match pki::client_config(&tls.ca_pem, Some(client)) {
            Ok(config) => Some(tokio_rustls::TlsConnector::from(Arc::new(config))),
            Err(e) => {
                tracing::error!(error = %e, "the node's client certificate is unusable; tunnels to nodes serving TLS will fail");
                None
            }
        }
    });
    let dialer = Arc::new(dial::Dialer::new(node_name.to_owned(), nodes, metrics.clone(), connector));
    let relay = Arc::new(relay::Relay::new(dialer.clone(), tracker.clone(), stop.clone()));
    let resolver = Resolver {
        services: services.clone(),
        slices: slices.clone(),
        turn: Arc::new(AtomicUsize::new(0)),
        dialer: dialer.clone(),
        relay: relay.clone(),
        memberships: Arc::default(),
        policies: policies.clone(),
        egress: egress.clone(),
    };
    let memberships = resolver.memberships.clone();
    let tunnels = forward::router(
        dialer.clone(),
        (egress, node_name.to_owned()),
        (policies.clone(), metrics.clone()),
        tracker.clone(),
        stop.clone(),
    );
    let proxy = Arc::new(proxy::Proxy {
        address,
        dialer,
        policies,
        table: RwLock::new(Table::new()),
        turn: AtomicUsize::new(0),
        metrics,
    });
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
            let live: HashSet<Backend> = slice_refs.iter().flat_map(|s| table::all_backends(s)).collect();
            relay.retain(&live);
            *memberships.write().unwrap_or_else(PoisonError::into_inner) = table::memberships(&slice_refs);
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
    Services { resolver, tunnels }
}

/// A watched cache of `K` that signals `changed` after every change.
fn watch<K>(api: Api<K>, changed: &Arc<Notify>, tracker: &TaskTracker, stop: &CancellationToken) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    watch_with(api, watcher::Config::default(), changed, tracker, stop)
}

fn watch_with<K>(
    api: Api<K>,
    config: watcher::Config,
    changed: &Arc<Notify>,
    tracker: &TaskTracker,
    stop: &CancellationToken,
) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let (changed, stop) = (changed.clone(), stop.clone());
    tracker.spawn(async move {
        let events = reflector::reflector(writer, watcher(api, config)).default_backoff().for_each(|event| {
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
