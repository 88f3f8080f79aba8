//! Wharf's controllers: level-triggered reconcilers that turn declared state into running state.
//!
//! Deciding is separate from doing. The pure planners take observed objects and return what to do:
//! - [`hash`]: the `pod-template-hash` of a template, and template equality ignoring it;
//! - [`replicaset::plan`]: which pods to adopt, release, create and delete, and the ReplicaSet's status;
//! - [`deployment::plan`]: one rollout step (RollingUpdate, Recreate, scaling, pausing, history) and the
//!   Deployment's status and conditions, as `kubectl rollout status` reads them;
//! - [`deployment::revision`]: revision annotations for `rollout history` and `rollout undo`;
//! - [`gc::plan`]: what the garbage collector does with dependents and with owners being deleted;
//! - [`job::plan`]: which pods a Job starts and stops, its counters and conditions, and when it expires;
//! - [`daemonset::plan`]: which nodes should run a DaemonSet's pod, which pods to create and delete (one
//!   rolling-update step), and the DaemonSet's status;
//! - [`nodelifecycle::plan`]: which nodes went silent, their condition and taints, which pods to evict;
//! - [`nodeipam::plan`]: which pod CIDR a new node gets;
//! - [`endpointslice::plan`]: the EndpointSlices of a Service, from the pods it selects;
//! - [`servicelb::plan`]: the ingress of a LoadBalancer Service served by the node agents.
//!
//! The loops are kube-runtime `Controller`s (one reconcile per object at a time), run by one harness (a span
//! per reconcile, a warning per failure, exponential backoff per object), fed by shared [`informer`]s (one
//! watch per kind), that apply those plans through the API and record events (the `events` crate). [`Controllers::start`] runs them all.
//!
//! ```no_run
//! # async fn example(client: kube::Client) {
//! let controllers = controllers::Controllers::start(client);
//! // ... later
//! controllers.shutdown().await;
//! # }
//! ```

pub mod daemonset;
pub mod deployment;
pub mod endpointslice;
pub mod error;
pub mod expectations;
pub mod gc;
mod harness;
pub mod hash;
pub mod informer;
pub mod job;
pub mod nodeipam;
pub mod nodelifecycle;
pub mod owners;
mod pod_writes;
pub mod pods;
pub mod replicaset;
pub mod servicelb;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use error::{Error, Result};
use informer::Informer;

/// How the controllers behave where Kubernetes makes it configurable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// How long a Job waits before replacing failed pods.
    pub job_backoff: job::plan::Backoff,
    /// When silent nodes are marked unreachable and their pods evicted.
    pub node_lifecycle: nodelifecycle::plan::Config,
    /// How nodes get their pod CIDRs; `None` leaves them to be set on registration.
    pub node_ipam: Option<nodeipam::plan::Config>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            job_backoff: job::plan::Backoff::default(),
            node_lifecycle: nodelifecycle::plan::Config::default(),
            node_ipam: Some(nodeipam::plan::Config::default()),
        }
    }
}

/// The running controllers. They stop on [`shutdown`](Self::shutdown), or when dropped (without waiting).
#[derive(Debug)]
pub struct Controllers {
    stop: CancellationToken,
    tracker: TaskTracker,
}

impl Controllers {
    /// Starts every controller with the default [`Options`]; see [`start_with`](Self::start_with).
    pub fn start(client: kube::Client) -> Self {
        Self::start_with(client, Options::default())
    }

    /// Starts the ReplicaSet, Deployment, Job, DaemonSet, EndpointSlice, node lifecycle and node IPAM controllers and the garbage
    /// collector on the current Tokio runtime. Each starts deciding once the caches it reads hold a first complete list,
    /// so a restart never acts on a partial view.
    pub fn start_with(client: kube::Client, options: Options) -> Self {
        let stop = CancellationToken::new();
        let tracker = TaskTracker::new();
        let pods = Informer::start(Api::<Pod>::all(client.clone()), &tracker, &stop);
        let sets = Informer::start(Api::<ReplicaSet>::all(client.clone()), &tracker, &stop);
        let deployments = Informer::start(Api::<Deployment>::all(client.clone()), &tracker, &stop);
        let jobs = Informer::start(Api::<Job>::all(client.clone()), &tracker, &stop);
        let daemon_sets = Informer::start(Api::<DaemonSet>::all(client.clone()), &tracker, &stop);
        let nodes = Informer::start(Api::<Node>::all(client.clone()), &tracker, &stop);
        let leases =
            Informer::start(Api::<Lease>::namespaced(client.clone(), "kube-node-lease"), &tracker, &stop);
        let services = Informer::start(Api::<Service>::all(client.clone()), &tracker, &stop);
        let slices = Informer::start(Api::<EndpointSlice>::all(client.clone()), &tracker, &stop);
        {
            let (client, stop) = (client.clone(), stop.clone());
            tracker.spawn(async move {
                pods.ready().await;
                sets.ready().await;
                deployments.ready().await;
                jobs.ready().await;
                daemon_sets.ready().await;
                nodes.ready().await;
                leases.ready().await;
                services.ready().await;
                slices.ready().await;
                tokio::join!(
                    endpointslice::controller::run(client.clone(), &services, &pods, &slices, stop.clone()),
                    servicelb::controller::run(client.clone(), &services, &nodes, stop.clone()),
                    replicaset::controller::run(client.clone(), &sets, &pods, stop.clone()),
                    deployment::controller::run(client.clone(), &deployments, &sets, &pods, stop.clone()),
                    job::controller::run(client.clone(), &jobs, &pods, options.job_backoff, stop.clone()),
                    daemonset::controller::run(client.clone(), &daemon_sets, &nodes, &pods, stop.clone()),
                    {
                        let (client, stop) = (client.clone(), stop.clone());
                        let nodes = &nodes;
                        async move {
                            if let Some(config) = options.node_ipam {
                                nodeipam::controller::run(client, nodes, config, stop).await;
                            }
                        }
                    },
                    nodelifecycle::controller::run(
                        client,
                        &nodes,
                        &leases,
                        &pods,
                        options.node_lifecycle,
                        stop
                    ),
                );
            });
        }
        {
            let (tracker_inner, stop) = (tracker.clone(), stop.clone());
            tracker.spawn(async move { gc::controller::run(client, &tracker_inner, stop).await });
        }
        tracker.close();
        Self { stop, tracker }
    }

    /// Stops every controller and waits for them.
    pub async fn shutdown(self) {
        self.stop.cancel();
        self.tracker.wait().await;
    }
}

impl Drop for Controllers {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
