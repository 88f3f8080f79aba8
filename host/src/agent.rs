//! The node agent: registers the Node, keeps its Lease and Ready condition fresh, serves logs, and runs every Pod
//! bound to the node. Pods are watched with `fieldSelector=spec.nodeName=<node>`; each event is reconciled against
//! what runs (level-triggered: the decision depends on the pod as it is, not on the event), and after every
//! (re)list the agent drops whatever runs or lies on disk for pods that no longer exist.

use events::{Recorder, Source};
use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use ipnet::Ipv4Net;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, Preconditions};
use kube::runtime::watcher;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::NodeConfig;
use crate::image::Puller;
use crate::pod::task::{self, Placement, Stop};
use crate::runtime::{Runtime, RuntimeConfig};
use crate::sources::SourceCache;
use crate::stats::{Meter, summary};
use crate::{endpoint, logs, node};

/// Errors starting the agent.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The wasm runtime could not start.
    #[error("cannot start the wasm runtime")]
    Runtime(#[from] crate::runtime::Error),
    /// The data directory is unusable.
    #[error("cannot use the data directory {0}")]
    DataDir(PathBuf, #[source] std::io::Error),
    /// The node endpoint (logs, usage) could not listen.
    #[error("cannot start the node endpoint")]
    Logs(#[source] std::io::Error),
    /// The Node could not be registered.
    #[error("cannot register the node")]
    Node(#[from] node::Error),
    /// The CA files for https:// images are unusable.
    #[error(transparent)]
    ImageTls(#[from] crate::image::TlsError),
}

/// What every pod task shares.
pub struct Shared {
    /// The API client.
    pub client: kube::Client,
    /// The wasm runtime.
    pub runtime: Runtime,
    /// The node's settings.
    pub config: NodeConfig,
    /// The node's address, reported as the pods' hostIP.
    pub node_ip: String,
    /// CPU and memory use of every container.
    pub usage: Arc<Meter>,
    /// Where images come from.
    pub images: Puller,
    /// Events about pods, as the `kubelet` component.
    pub events: Recorder,
    /// The ConfigMaps and Secrets pods read.
    pub sources: SourceCache,
    /// Service names and cluster IPs, for guests' outgoing requests.
    pub services: crate::services::Resolver,
    /// The node's Prometheus metrics.
    pub metrics: Arc<crate::stats::metrics::Metrics>,
}

/// A running node agent.
pub struct Agent {
    stop: CancellationToken,
    tracker: TaskTracker,
    log_addr: SocketAddr,
    services: crate::services::Resolver,
}

impl Agent {
    /// Starts the agent: runtime, node endpoint, Node registration, heartbeats and the pod loop.
    pub async fn start(client: kube::Client, config: NodeConfig) -> Result<Self, Error> {
        // First, so that a bad CA file stops the agent before it registers the node.
        let images = Puller::new(config.images_dir.clone(), &config.image_ca_files)?;
        for path in ["pods", "logs", "cache"]
            .map(|dir| config.data_dir.join(dir))
            .into_iter()
            .chain([config.images_dir.clone()])
        {
            std::fs::create_dir_all(&path).map_err(|e| Error::DataDir(path.clone(), e))?;
        }
        let runtime = Runtime::new(&RuntimeConfig {
            cache_dir: config.data_dir.join("cache"),
            max_pods: config.max_pods,
            threads: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        })?;
        let stop = CancellationToken::new();
        let tracker = TaskTracker::new();
        let usage = Arc::new(Meter::default());
        let source = Arc::new(summary::Source { node_name: config.node_name.clone(), meter: usage.clone() });
        let metrics = Arc::new(crate::stats::metrics::Metrics::default());
        let logs = config.data_dir.join("logs");
        let proxy_address = config.node_port_address.unwrap_or(config.node_ip);
        let crate::services::Services { resolver: services, tunnels } = crate::services::start(
            client.clone(),
            &config.node_name,
            config.tls.as_ref(),
            proxy_address,
            metrics.clone(),
            &tracker,
            &stop,
        );
        let routes = endpoint::Routes { log_root: logs, usage: source, metrics: metrics.clone(), tunnels };
        let log_addr =
            endpoint::serve(config.log_listen, routes, config.tls.as_ref(), &tracker, stop.clone())
                .await
                .map_err(Error::Logs)?;
        node::register(&client, &config, log_addr.port()).await?;
        let events = Recorder::start(
            client.clone(),
            Source { component: "kubelet".to_owned(), host: Some(config.node_name.clone()) },
        );
        let sources = SourceCache::start(client.clone(), &tracker, &stop);
        let node_ip = config.node_ip.to_string();
        let shared = Arc::new(Shared {
            client,
            runtime,
            config,
            node_ip,
            usage,
            images,
            events,
            sources,
            services,
            metrics,
        });
        tracker.spawn(heartbeats(shared.clone(), stop.clone()));
        tracker.spawn(Pods::run(shared.clone(), tracker.clone(), stop.clone()));
        tracing::info!(node = %shared.config.node_name, logs = %log_addr, "node agent started");
        let services = shared.services.clone();
        Ok(Self { stop, tracker, log_addr, services })
    }

    /// Whether the agent's caches hold the Service `namespace/name` (its pods started from now on see it).
    pub fn knows_service(&self, namespace: &str, name: &str) -> bool {
        self.services
            .links(namespace)
            .iter()
            .any(|(key, _)| *key == format!("{}_SERVICE_HOST", name.to_uppercase().replace('-', "_")))
    }

    /// Where the node endpoint (logs, usage summary) listens.
    pub fn log_addr(&self) -> SocketAddr {
        self.log_addr
    }

    /// Stops the agent and every guest it runs (the pods stay bound; a new agent takes them back).
    pub async fn shutdown(self) {
        self.stop.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

async fn heartbeats(shared: Arc<Shared>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(shared.config.heartbeat);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {
                if let Err(e) = node::heartbeat(&shared.client, &shared.config).await {
                    tracing::warn!(error = %e, "heartbeat failed");
                }
            }
        }
    }
}

/// A pod the agent runs.
struct Running {
    stop: Stop,
    handle: JoinHandle<()>,
    ip: u32,
    terminating: bool,
}

/// The reconcile loop over the node's pods.
struct Pods {
    shared: Arc<Shared>,
    /// The node's pod CIDR, once known.
    range: Ipv4Net,
    /// The agent's tasks: every pod task and clean-up is spawned here, so shutdown waits for all of them.
    tasks: TaskTracker,
    running: HashMap<String, Running>,
    listed: HashSet<String>,
    ips: HashSet<u32>,
}

impl Pods {
    /// The pod loop, once the node has a pod CIDR: pods need their addresses before they start.
    async fn run(shared: Arc<Shared>, tasks: TaskTracker, stop: CancellationToken) {
        let range = tokio::select! {
            () = stop.cancelled() => return,
            range = node::pod_cidr(&shared.client, &shared.config) => range,
        };
        let Some(range) = range else { return };
        let pods = Self {
            shared,
            range,
            tasks,
            running: HashMap::new(),
            listed: HashSet::new(),
            ips: HashSet::new(),
        };
        pods.watch(stop).await;
    }

    async fn watch(mut self, stop: CancellationToken) {
        let api: Api<Pod> = Api::all(self.shared.client.clone());
        let selector = format!("spec.nodeName={}", self.shared.config.node_name);
        let mut events = watcher(api, watcher::Config::default().fields(&selector)).boxed();
        loop {
            let event = tokio::select! {
                () = stop.cancelled() => break,
                event = events.try_next() => event,
            };
            match event {
                Ok(Some(watcher::Event::Init)) => self.listed.clear(),
                Ok(Some(watcher::Event::InitApply(pod))) => {
                    self.listed.insert(uid(&pod));
                    self.reconcile(pod);
                }
                Ok(Some(watcher::Event::InitDone)) => self.collect_garbage().await,
                Ok(Some(watcher::Event::Apply(pod))) => self.reconcile(pod),
                Ok(Some(watcher::Event::Delete(pod))) => self.forget(&uid(&pod)),
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "pod watch failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        for (_, running) in self.running.drain() {
            running.stop.kill();
            let _ = running.handle.await;
        }
    }

    /// Brings what runs in line with `pod`.
    fn reconcile(&mut self, pod: Pod) {
        let uid = uid(&pod);
        if pod.metadata.deletion_timestamp.is_some() {
            self.terminate(pod, uid);
            return;
        }
        self.running.retain(|_, r| !r.handle.is_finished() || r.terminating);
        if self.running.contains_key(&uid) {
            return;
        }
        let ip = self.allocate_ip(&pod);
        let placement = Placement {
            pod_ip: Ipv4Addr::from(ip).to_string(),
            root: self.pod_root(&uid),
            logs: self.log_dir(&pod),
        };
        let stop = Stop::default();
        let handle = self.tasks.spawn(task::run(self.shared.clone(), pod, placement, stop.clone()));
        self.running.insert(uid, Running { stop, handle, ip, terminating: false });
    }

    /// Graceful deletion: stop the guests (notice, then kill after the grace period), clean up, then remove the
    /// pod for good.
    fn terminate(&mut self, pod: Pod, uid: String) {
        let grace =
            Duration::from_secs(pod.metadata.deletion_grace_period_seconds.unwrap_or(30).max(0) as u64);
        if let Some(running) = self.running.get(&uid)
            && running.terminating
        {
            // Deleted again with a shorter grace period.
            running.stop.terminate(grace);
            return;
        }
        let running = self.running.remove(&uid);
        let shared = self.shared.clone();
        let files = self.files(&uid);
        // The address stays the pod's until the pod is gone (`forget`): its guests may serve on it through the
        // grace period, and a new pod given it meanwhile would see their connections.
        let ip = running.as_ref().map_or(u32::MAX, |r| r.ip);
        let key = uid.clone();
        let stop = running.as_ref().map(|r| r.stop.clone()).unwrap_or_default();
        let handle = self.tasks.spawn(async move {
            if let Some(running) = running {
                running.stop.terminate(grace);
                // The task kills its guests when the grace period ends; this only bounds a task that hangs.
                let _ = tokio::time::timeout(grace + task::SLACK, running.handle).await;
            }
            files.remove().await;
            let api: Api<Pod> = Api::namespaced(
                shared.client.clone(),
                pod.metadata.namespace.as_deref().unwrap_or("default"),
            );
            let params = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions { uid: Some(uid), resource_version: None }),
                ..DeleteParams::default()
            };
            if let Err(e) = api.delete(pod.metadata.name.as_deref().unwrap_or_default(), &params).await {
                tracing::debug!(error = %e, "final pod delete failed");
            }
        });
        let placeholder = Running { stop, handle, ip, terminating: true };
        self.running.insert(key, placeholder);
    }

    /// The pod is gone from the API: stop at once, and remove its files once its task has ended.
    fn forget(&mut self, uid: &str) {
        let Some(running) = self.running.remove(uid) else {
            // Nothing runs for it (an agent restart found its files): nothing can still be writing them.
            let files = self.files(uid);
            self.tasks.spawn(files.remove());
            return;
        };
        running.stop.kill();
        self.ips.remove(&running.ip);
        if running.terminating {
            // The termination task removes the files when the guests are gone.
            return;
        }
        let files = self.files(uid);
        self.tasks.spawn(async move {
            let _ = running.handle.await;
            files.remove().await;
        });
    }

    /// After a full list: stop what runs for pods that no longer exist, and remove the directories of pods
    /// that do not exist. The sweep runs on a blocking thread, and the loop waits for it so that no pod started
    /// afterwards can lose its fresh directories to it.
    async fn collect_garbage(&mut self) {
        let stale: Vec<String> =
            self.running.keys().filter(|uid| !self.listed.contains(*uid)).cloned().collect();
        for uid in stale {
            self.forget(&uid);
        }
        let data_dir = self.shared.config.data_dir.clone();
        let mut keep = self.listed.clone();
        // Pods forgotten above remove their own files once their guests have stopped.
        keep.extend(self.running.keys().cloned());
        let swept = tokio::task::spawn_blocking(move || sweep_unlisted(&data_dir, &keep)).await;
        if let Err(error) = swept {
            tracing::warn!(%error, "cannot sweep the files of deleted pods");
        }
    }

    /// Where a pod's files are on this node.
    fn files(&self, uid: &str) -> PodFiles {
        PodFiles {
            root: self.pod_root(uid),
            logs: self.shared.config.data_dir.join("logs"),
            uid: uid.to_owned(),
        }
    }

    /// The pod's address: the one it had (the agent restarted), or the next free one of the node's range. The
    /// range's first address is left out, as CNI's host-local allocator leaves it for the gateway.
    fn allocate_ip(&mut self, pod: &Pod) -> u32 {
        let range = self.range;
        let previous = pod
            .status
            .as_ref()
            .and_then(|s| s.pod_ip.as_deref())
            .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
            .filter(|ip| range.contains(ip))
            .map(u32::from)
            .filter(|ip| !self.ips.contains(ip));
        let ip = previous
            .or_else(|| range.hosts().skip(1).map(u32::from).find(|ip| !self.ips.contains(ip)))
            // A full range: the kubelet would fail the sandbox; the scheduler's pod limit keeps this from
            // happening unless max_pods exceeds the range.
            .unwrap_or_else(|| u32::from(range.broadcast()));
        self.ips.insert(ip);
        ip
    }

    fn pod_root(&self, uid: &str) -> PathBuf {
        self.shared.config.data_dir.join("pods").join(uid)
    }

    fn log_dir(&self, pod: &Pod) -> PathBuf {
        logs::pod_dir(
            &self.shared.config.data_dir.join("logs"),
            pod.metadata.namespace.as_deref().unwrap_or("default"),
            pod.metadata.name.as_deref().unwrap_or_default(),
            &uid(pod),
        )
    }
}

fn uid(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

/// A pod's directories on the node: its volumes and its logs.
struct PodFiles {
    root: PathBuf,
    logs: PathBuf,
    uid: String,
}

impl PodFiles {
    /// Removes them, on a blocking thread: deleting a large emptyDir can take long.
    async fn remove(self) {
        let removed = tokio::task::spawn_blocking(move || {
            let _ = std::fs::remove_dir_all(&self.root);
            let suffix = format!("_{}", self.uid);
            for entry in std::fs::read_dir(&self.logs).into_iter().flatten().filter_map(Result::ok) {
                if entry.file_name().to_string_lossy().ends_with(&suffix) {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        })
        .await;
        if let Err(error) = removed {
            tracing::warn!(%error, "cannot remove a deleted pod's files");
        }
    }
}

/// Removes the pod and log directories under `data_dir` of pods whose uid is not in `keep`.
fn sweep_unlisted(data_dir: &Path, keep: &HashSet<String>) {
    for entry in std::fs::read_dir(data_dir.join("pods")).into_iter().flatten().filter_map(Result::ok) {
        if !keep.contains(entry.file_name().to_string_lossy().as_ref()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    for entry in std::fs::read_dir(data_dir.join("logs")).into_iter().flatten().filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.rsplit('_').next().is_some_and(|uid| keep.contains(uid)) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
