//! The watches that keep the scheduler's view current: pods (all of them, so that bound pods, nominations and
//! deletions are seen), nodes and namespaces, each in its own task that forwards events to the scheduling loop.
//!
//! A pod is read into a [`PodInfo`] here, on the watch task, so that the loop that owns the snapshot spends its
//! time deciding. Watches retry with kube-runtime's default backoff; after a reconnect they relist, and the
//! loop drops whatever the relist no longer shows.

use std::sync::Arc;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::Api;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::placement::{PodInfo, wants_scheduling};

/// A pod as the loop needs it.
#[derive(Debug)]
pub struct PodView {
    /// The object, for status patches and events.
    pub pod: Arc<Pod>,
    /// The scheduler's view of it.
    pub info: PodInfo,
    /// Whether this scheduler should place it ([`wants_scheduling`]).
    pub wants: bool,
}

/// One watch event, for the loop. Objects are boxed so that the channel's slots stay small.
#[derive(Debug)]
pub enum Input {
    /// A pod event.
    Pod(watcher::Event<Box<PodView>>),
    /// A node event.
    Node(watcher::Event<Box<Node>>),
    /// A namespace event (labels matter to pod affinity's `namespaceSelector`).
    Namespace(watcher::Event<Box<Namespace>>),
}

/// Starts the three watches on `tracker`; they forward into `tx` until `stop`.
pub fn spawn(
    client: &kube::Client,
    scheduler_name: &str,
    tx: &mpsc::Sender<Input>,
    tracker: &TaskTracker,
    stop: &CancellationToken,
) {
    let name = scheduler_name.to_owned();
    let pods = events(Api::<Pod>::all(client.clone())).map(move |event| {
        Input::Pod(map_event(event, |pod| {
            let info = PodInfo::from_pod(&pod);
            let wants = wants_scheduling(&pod, &name);
            Box::new(PodView { pod: Arc::new(pod), info, wants })
        }))
    });
    tracker.spawn(forward(pods, tx.clone(), stop.clone()));
    let nodes = events(Api::<Node>::all(client.clone())).map(|e| Input::Node(map_event(e, Box::new)));
    tracker.spawn(forward(nodes, tx.clone(), stop.clone()));
    let namespaces =
        events(Api::<Namespace>::all(client.clone())).map(|e| Input::Namespace(map_event(e, Box::new)));
    tracker.spawn(forward(namespaces, tx.clone(), stop.clone()));
}

/// The events of a watch that retries with backoff; errors are logged and skipped (the watcher relists).
fn events<K>(api: Api<K>) -> impl Stream<Item = watcher::Event<K>> + Send + 'static
where
    K: kube::Resource + Clone + std::fmt::Debug + Send + 'static + k8s_openapi::serde::de::DeserializeOwned,
    K::DynamicType: Default,
{
    watcher(api, watcher::Config::default()).default_backoff().filter_map(|event| async move {
        match event {
            Ok(event) => Some(event),
            Err(e) => {
                tracing::warn!(error = %e, "watch failed; retrying");
                None
            }
        }
    })
}

/// Sends every event to the loop until `stop` or until the loop is gone.
async fn forward(events: impl Stream<Item = Input> + Send, tx: mpsc::Sender<Input>, stop: CancellationToken) {
    let mut events = std::pin::pin!(events);
    while let Some(Some(input)) = stop.run_until_cancelled(events.next()).await {
        if tx.send(input).await.is_err() {
            return;
        }
    }
}

fn map_event<K, T>(event: watcher::Event<K>, f: impl FnOnce(K) -> T) -> watcher::Event<T> {
    match event {
        watcher::Event::Apply(k) => watcher::Event::Apply(f(k)),
        watcher::Event::Delete(k) => watcher::Event::Delete(f(k)),
        watcher::Event::Init => watcher::Event::Init,
        watcher::Event::InitApply(k) => watcher::Event::InitApply(f(k)),
        watcher::Event::InitDone => watcher::Event::InitDone,
    }
}
