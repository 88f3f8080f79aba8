//! Kubernetes' controller "expectations": creations and deletions an owner (ReplicaSet, Job) made that the
//! pod cache has not shown yet. While some are outstanding the owner creates and deletes nothing more, so a
//! stale cache never doubles a scale-up.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

use crate::owners;

/// How long unobserved creations or deletions hold back further ones (Kubernetes waits 5 minutes; a pod
/// lost between the API and the cache should not stall its owner that long).
const EXPECTATIONS_TIMEOUT: Duration = Duration::from_secs(30);

/// Creations and deletions a controller made that the pod cache has not shown yet, per owner uid.
#[derive(Default)]
pub struct Expectations {
    pending: Mutex<HashMap<String, Pending>>,
}

struct Pending {
    created: HashSet<String>,
    deleted: HashSet<String>,
    /// Pods of this ReplicaSet the watch delivered since the entry was made: a pod created and deleted
    /// before the cache showed it is observed here.
    seen: HashSet<String>,
    since: Instant,
}

impl Expectations {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Pending>) -> T) -> T {
        let mut pending = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut pending)
    }

    /// Opens an entry for `uid` before it writes, so pods the watch delivers meanwhile are noted.
    pub fn expect(&self, uid: &str) {
        self.with(|p| {
            p.entry(uid.to_owned()).or_insert_with(|| Pending {
                created: HashSet::new(),
                deleted: HashSet::new(),
                seen: HashSet::new(),
                since: Instant::now(),
            });
        });
    }

    /// Records the pods `uid` created.
    pub fn created(&self, uid: &str, names: impl Iterator<Item = String>) {
        self.with(|p| {
            if let Some(entry) = p.get_mut(uid) {
                entry.created.extend(names);
            }
        });
    }

    /// Records the pods `uid` asked to delete.
    pub fn deleted(&self, uid: &str, names: impl Iterator<Item = String>) {
        self.with(|p| {
            if let Some(entry) = p.get_mut(uid) {
                entry.deleted.extend(names);
            }
        });
    }

    /// Notes a pod the watch delivered (created, changed or deleted).
    pub fn observe(&self, pod: &Pod) {
        let Some(owner) = owners::controller_of(&pod.metadata) else { return };
        self.with(|p| {
            if let Some(entry) = p.get_mut(&owner.uid) {
                entry.seen.insert(pod.name_any());
            }
        });
    }

    /// Whether everything expected has been observed in `pods` (or waited for too long).
    pub fn satisfied(&self, uid: &str, pods: &[Arc<Pod>]) -> bool {
        self.with(|p| {
            let Some(entry) = p.get_mut(uid) else { return true };
            let live: HashMap<&str, &Arc<Pod>> =
                pods.iter().filter_map(|pod| Some((pod.metadata.name.as_deref()?, pod))).collect();
            let seen = std::mem::take(&mut entry.seen);
            entry.created.retain(|name| !live.contains_key(name.as_str()) && !seen.contains(name));
            entry.deleted.retain(|name| {
                live.get(name.as_str()).is_some_and(|pod| pod.metadata.deletion_timestamp.is_none())
            });
            let done = (entry.created.is_empty() && entry.deleted.is_empty())
                || entry.since.elapsed() > EXPECTATIONS_TIMEOUT;
            if done {
                p.remove(uid);
            }
            done
        })
    }
}
