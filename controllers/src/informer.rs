//! Shared informers: one watch per kind keeps a cache that every controller reads, and fans each change out
//! to every controller that subscribed, deletions included.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use kube::runtime::reflector::{Store, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Changes a subscriber may fall behind by before it is resynchronised from the cache.
const FAN_OUT: usize = 16 * 1024;

/// A cached, watched kind.
pub struct Informer<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Clone + Eq + Hash,
{
    reader: Store<K>,
    changes: broadcast::Sender<Arc<K>>,
}

impl<K> Informer<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Clone + Eq + Hash + Default + Send + Sync,
{
    /// Starts watching `api` until `stop`.
    pub fn start(api: Api<K>, tracker: &TaskTracker, stop: &CancellationToken) -> Self {
        Self::start_with(api, K::DynamicType::default(), tracker, stop)
    }
}

impl<K> Informer<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Clone + Eq + Hash + Send + Sync,
{
    /// Starts watching `api` (of a kind described by `dyntype`) until `stop`.
    pub fn start_with(
        api: Api<K>,
        dyntype: K::DynamicType,
        tracker: &TaskTracker,
        stop: &CancellationToken,
    ) -> Self {
        let mut writer = Writer::new(dyntype);
        let reader = writer.as_reader();
        let (changes, _) = broadcast::channel(FAN_OUT);
        let sender = changes.clone();
        let cache = reader.clone();
        let stop = stop.clone();
        tracker.spawn(async move {
            let mut events = watcher(api, watcher::Config::default()).default_backoff().boxed();
            loop {
                let event = tokio::select! {
                    () = stop.cancelled() => break,
                    event = events.next() => event,
                };
                match event {
                    Some(Ok(event)) => {
                        writer.apply_watcher_event(&event);
                        match event {
                            watcher::Event::Apply(object) | watcher::Event::Delete(object) => {
                                let _ = sender.send(Arc::new(object));
                            }
                            // After a (re)list everything may have changed, including deletions it missed.
                            watcher::Event::InitDone => {
                                for object in cache.state() {
                                    let _ = sender.send(object);
                                }
                            }
                            watcher::Event::Init | watcher::Event::InitApply(_) => {}
                        }
                    }
                    Some(Err(error)) => tracing::warn!(error = %error, "watch failed; retrying"),
                    None => break,
                }
            }
        });
        Self { reader, changes }
    }

    /// The cache.
    pub fn store(&self) -> Store<K> {
        self.reader.clone()
    }

    /// Waits until the cache holds a first complete list.
    pub async fn ready(&self) {
        let _ = self.reader.wait_until_ready().await;
    }

    /// Every change from now on (the object as it now is, or as it was when deleted), shared with the other
    /// subscribers rather than copied for each. A subscriber that falls behind gets the whole cache again
    /// instead of the changes it missed.
    pub fn subscribe(&self) -> impl Stream<Item = Arc<K>> + Send + 'static {
        let state = (self.changes.subscribe(), self.reader.clone(), VecDeque::<Arc<K>>::new());
        futures::stream::unfold(state, |(mut rx, cache, mut pending)| async move {
            loop {
                if let Some(object) = pending.pop_front() {
                    return Some((object, (rx, cache, pending)));
                }
                match rx.recv().await {
                    Ok(object) => return Some((object, (rx, cache, pending))),
                    Err(broadcast::error::RecvError::Lagged(_)) => pending.extend(cache.state()),
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
    }
}
