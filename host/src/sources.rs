//! The ConfigMaps and Secrets pods read (env, envFrom, configMap and secret volumes), as the node sees them: one
//! watched cache of each kind for the whole node, so that refreshing the volumes of a thousand pods costs no API
//! request, and a change reaches the files as fast as the watch. What the cache does not show (an object created
//! just before the pod that uses it, or any object before the first list arrives) is read from the API server.

use std::collections::BTreeMap;
use std::sync::Arc;

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
    config_maps: Store<ConfigMap>,
    secrets: Store<Secret>,
}

impl SourceCache {
    /// Starts watching every ConfigMap and Secret until `stop`.
    pub fn start(client: kube::Client, tracker: &TaskTracker, stop: &CancellationToken) -> Self {
        Self {
            config_maps: watch(Api::all(client.clone()), tracker, stop),
            secrets: watch(Api::all(client.clone()), tracker, stop),
            client,
        }
    }

    /// Lookups in `namespace`.
    pub fn in_namespace(&self, namespace: &str) -> Sources {
        Sources { cache: self.clone(), namespace: namespace.to_owned() }
    }
}

fn watch<K>(api: Api<K>, tracker: &TaskTracker, stop: &CancellationToken) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let stop = stop.clone();
    tracker.spawn(async move {
        let events = reflector::reflector(writer, watcher(api, watcher::Config::default()))
            .default_backoff()
            .for_each(|event| async move {
                if let Err(error) = event {
                    tracing::debug!(%error, "ConfigMap/Secret watch failed; retrying");
                }
            });
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

    async fn lookup<K>(&self, cache: &Store<K>, name: &str) -> Option<Arc<K>>
    where
        K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        if let Some(object) = cache.get(&ObjectRef::new(name).within(&self.namespace)) {
            return Some(object);
        }
        let api: Api<K> = Api::namespaced(self.cache.client.clone(), &self.namespace);
        api.get_opt(name).await.ok().flatten().map(Arc::new)
    }
}
