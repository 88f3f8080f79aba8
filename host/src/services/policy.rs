//! NetworkPolicy checks for guests' connections, at the source's agent: the cluster's policies and namespaces
//! (watched caches) and a slim map of every pod by address (namespace, labels, ports), judged by
//! [`api::netpol`]. Only the egress side's view is needed to judge both directions, since every pod's labels and
//! policies are known here.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, PoisonError, RwLock};

use api::netpol::{self, Compiled, Denied, Endpoint, PodInfo, Port};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ContainerPort, Namespace, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::Api;
use kube::runtime::reflector::Store;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What policies look at in a pod.
#[derive(Debug, Clone)]
pub struct PodEntry {
    namespace: String,
    labels: BTreeMap<String, String>,
    ports: Vec<ContainerPort>,
}

/// The cluster's policies, namespaces and pods, as the checks need them.
#[derive(Clone)]
pub struct Policies {
    /// The cluster's policies, compiled again after every change.
    rules: Arc<RwLock<Arc<Vec<Compiled>>>>,
    namespaces: Store<Namespace>,
    pods: Arc<RwLock<HashMap<IpAddr, PodEntry>>>,
}

impl Policies {
    /// The checks over watched `policies` (which signal `changed`) and `namespaces`; pods are watched here until
    /// `stop`.
    pub(super) fn start(
        client: kube::Client,
        (policies, changed): (Store<NetworkPolicy>, Arc<Notify>),
        namespaces: Store<Namespace>,
        tracker: &TaskTracker,
        stop: &CancellationToken,
    ) -> Self {
        let rules: Arc<RwLock<Arc<Vec<Compiled>>>> = Arc::default();
        let (compiled, compile_stop) = (rules.clone(), stop.clone());
        tracker.spawn(async move {
            loop {
                tokio::select! {
                    () = compile_stop.cancelled() => return,
                    () = changed.notified() => {}
                }
                let fresh: Vec<Compiled> = policies.state().iter().map(|p| Compiled::new(p)).collect();
                *compiled.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(fresh);
            }
        });
        let pods: Arc<RwLock<HashMap<IpAddr, PodEntry>>> = Arc::default();
        let (map, stop) = (pods.clone(), stop.clone());
        tracker.spawn(async move {
            // A relist fills a map of its own, swapped in when complete: until then checks see the old one
            // rather than a map that knows only some pods.
            let mut relisted: Option<HashMap<IpAddr, PodEntry>> = None;
            let events = watcher(Api::<Pod>::all(client), watcher::Config::default())
                .default_backoff()
                .for_each(move |event| {
                    match event {
                        Ok(watcher::Event::Init) => relisted = Some(HashMap::new()),
                        Ok(watcher::Event::InitApply(pod)) => {
                            if let (Some(fresh), Some((ip, entry))) = (relisted.as_mut(), entry(&pod)) {
                                fresh.insert(ip, entry);
                            }
                        }
                        Ok(watcher::Event::InitDone) => {
                            if let Some(fresh) = relisted.take() {
                                *map.write().unwrap_or_else(PoisonError::into_inner) = fresh;
                            }
                        }
                        Ok(watcher::Event::Apply(pod)) => {
                            if let Some((ip, entry)) = entry(&pod) {
                                map.write().unwrap_or_else(PoisonError::into_inner).insert(ip, entry);
                            }
                        }
                        Ok(watcher::Event::Delete(pod)) => {
                            if let Some((ip, _)) = entry(&pod) {
                                map.write().unwrap_or_else(PoisonError::into_inner).remove(&ip);
                            }
                        }
                        Err(error) => {
                            tracing::debug!(%error, "pod watch for network policies failed; retrying");
                        }
                    }
                    async {}
                });
            tokio::select! {
                () = stop.cancelled() => {}
                () = events => {}
            }
        });
        Self { rules, namespaces, pods }
    }

    /// Whether the policies allow the pod at `source` to reach `destination` over `protocol` (`TCP`, `UDP`).
    /// The pod is as the cache last saw it, or as `source` describes it when the cache does not know it yet.
    pub fn check(
        &self,
        (source, known): (IpAddr, Option<&PodEntry>),
        destination: SocketAddr,
        protocol: &'static str,
    ) -> Result<(), Denied> {
        let policies = self.rules.read().unwrap_or_else(PoisonError::into_inner).clone();
        if policies.is_empty() {
            return Ok(());
        }
        let pods = self.pods.read().unwrap_or_else(PoisonError::into_inner);
        let (source_pod, destination_pod) = (pods.get(&source).or(known), pods.get(&destination.ip()));
        let (source_labels, destination_labels) =
            (self.namespace_labels(source_pod), self.namespace_labels(destination_pod));
        let from = endpoint(source, source_pod, &source_labels);
        let to = endpoint(destination.ip(), destination_pod, &destination_labels);
        netpol::allowed(&policies, &from, &to, Port { number: destination.port(), protocol })
    }

    fn namespace_labels(&self, pod: Option<&PodEntry>) -> BTreeMap<String, String> {
        let Some(pod) = pod else { return BTreeMap::new() };
        let mut labels = self
            .namespaces
            .find(|n| n.metadata.name.as_deref() == Some(pod.namespace.as_str()))
            .and_then(|n| n.metadata.labels.clone())
            .unwrap_or_default();
        // Set on every namespace by Kubernetes; policies select namespaces by name with it.
        labels.insert("kubernetes.io/metadata.name".to_owned(), pod.namespace.clone());
        labels
    }
}

/// The endpoint at `ip`: a pod when one has the address.
fn endpoint<'a>(
    ip: IpAddr,
    pod: Option<&'a PodEntry>,
    namespace_labels: &'a BTreeMap<String, String>,
) -> Endpoint<'a> {
    let pod = pod.map(|p| PodInfo {
        namespace: &p.namespace,
        labels: &p.labels,
        namespace_labels,
        ports: &p.ports,
    });
    Endpoint { ip, pod }
}

/// A pod's address and what policies look at, once it has an address.
pub(super) fn entry(pod: &Pod) -> Option<(IpAddr, PodEntry)> {
    let ip = pod.status.as_ref()?.pod_ip.as_deref()?.parse().ok()?;
    let spec = pod.spec.as_ref();
    let ports = spec
        .into_iter()
        .flat_map(|s| s.init_containers.iter().flatten().chain(&s.containers))
        .flat_map(|c| c.ports.iter().flatten().cloned())
        .collect();
    let entry = PodEntry {
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        labels: pod.metadata.labels.clone().unwrap_or_default(),
        ports,
    };
    Some((ip, entry))
}
