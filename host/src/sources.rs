//! The ConfigMaps and Secrets pods read (env, envFrom, configMap and secret volumes), as the node sees them: each
//! object a pod names is watched on its own (a list and watch pinned by `fieldSelector=metadata.name=…`, the
//! kubelet's "Watch" strategy), so that refreshing the volumes of a thousand pods costs no API request, a change
//! reaches the files as fast as the watch, and the node reads nothing else: the Node authoriser lets a node read
//! only what the pods bound to it use. Until an object's watch has listed, it is read directly.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The node's caches. Cheap to clone.
#[derive(Clone)]
pub struct SourceCache {
    client: kube::Client,
    config_maps: Watched<ConfigMap>,
    secrets: Watched<Secret>,
    tracker: TaskTracker,
    stop: CancellationToken,
}

/// One watch per (namespace, name) of a kind.
type Watched<K> = Arc<Mutex<HashMap<(String, String), Store<K>>>>;

impl SourceCache {
    /// A cache whose watches run until `stop`.
    pub fn start(client: kube::Client, tracker: &TaskTracker, stop: &CancellationToken) -> Self {
        Self {
            client,
            config_maps: Watched::default(),
            secrets: Watched::default(),
            tracker: tracker.clone(),
            stop: stop.clone(),
        }
    }

    /// Lookups in `namespace`.
    pub fn in_namespace(&self, namespace: &str) -> Sources {
        Sources { cache: self.clone(), namespace: namespace.to_owned() }
    }

    /// The watched store of one object, started on first use.
    fn store<K>(&self, watched: &Watched<K>, namespace: &str, name: &str) -> Store<K>
    where
        K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug
            + Send
            + Sync
            + 'static,
    {
        let mut watched = watched.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        watched
            .entry((namespace.to_owned(), name.to_owned()))
            .or_insert_with(|| {
                let api = Api::namespaced(self.client.clone(), namespace);
                watch(api, name, &self.tracker, &self.stop)
            })
            .clone()
    }
}

fn watch<K>(api: Api<K>, name: &str, tracker: &TaskTracker, stop: &CancellationToken) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let stop = stop.clone();
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    tracker.spawn(async move {
        let events = reflector::reflector(writer, watcher(api, config)).default_backoff().for_each(
            |event| async move {
                if let Err(error) = event {
                    tracing::debug!(%error, "ConfigMap/Secret watch failed; retrying");
                }
            },
        );
        tokio::select! {
            () = stop.cancelled() => {}
            () = events => {}
        }
    });
    reader
}

/// ConfigMaps and Secrets of one namespace.
pub struct Sources {
    cache: SourceCache,
    namespace: String,
}

impl Sources {
    /// The data of a ConfigMap (`None` when it does not exist).
    pub async fn config_map(&self, name: &str) -> Option<BTreeMap<String, Vec<u8>>> {
        let cm = self.lookup(&self.cache.config_maps, name).await?;
        let mut data: BTreeMap<String, Vec<u8>> =
            cm.data.clone().unwrap_or_default().into_iter().map(|(k, v)| (k, v.into_bytes())).collect();
        data.extend(cm.binary_data.clone().unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)));
        Some(data)
    }

    /// The data of a Secret (`None` when it does not exist).
    pub async fn secret(&self, name: &str) -> Option<BTreeMap<String, Vec<u8>>> {
        let secret = self.lookup(&self.cache.secrets, name).await?;
        Some(secret.data.clone().unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect())
    }

    async fn lookup<K>(&self, watched: &Watched<K>, name: &str) -> Option<Arc<K>>
    where
        K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug
            + Send
            + Sync
            + 'static,
    {
        let cache = self.cache.store(watched, &self.namespace, name);
        if let Some(object) = cache.get(&ObjectRef::new(name).within(&self.namespace)) {
            return Some(object);
        }
        let api: Api<K> = Api::namespaced(self.cache.client.clone(), &self.namespace);
        api.get_opt(name).await.ok().flatten().map(Arc::new)
    }
}
