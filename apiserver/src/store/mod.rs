//! The store: every object the API serves, durable in redb, cached in memory, with a watch history.
//!
//! Layout of the moving parts:
//! - [`durable`] owns the redb file. One writer thread takes queued writes, applies as many as are waiting in
//!   one redb transaction (group commit) and acknowledges each only after that transaction is durable.
//! - [`State`] is the in-memory copy of what is committed: every object as its serialised JSON plus the fields
//!   selectors need, and the newest resource version. Reads (get, list, the start of a watch) never touch redb.
//! - [`history`] keeps the most recent events so a watch can resume from an older resource version, and
//!   broadcasts new ones to live watchers. A watcher that falls behind is dropped, never waited for.
//!
//! The store knows nothing of Kubernetes semantics beyond keys, resource versions and selectable fields:
//! admission, defaulting and the meaning of subresources live in [`crate::registry`].

pub mod durable;
pub mod encryption;
pub mod history;

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{broadcast, oneshot};

pub use durable::OpenError;
pub use history::{EventType, History, WatchEvent};

/// Where an object lives: `<resource>/<namespace>/<name>`, with an empty namespace for cluster-scoped kinds.
///
/// The resource part is the storage prefix of its kind (`pods`, `apps/deployments`); namespaces and names cannot
/// contain `/`, so prefixes of a key select a kind, or a kind in one namespace.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(String);

impl Key {
    /// The key of one object.
    pub fn new(resource: &str, namespace: &str, name: &str) -> Self {
        Self(format!("{resource}/{namespace}/{name}"))
    }

    /// The prefix under which all objects of a resource (in one namespace, when given) are stored.
    pub fn prefix(resource: &str, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) => format!("{resource}/{ns}/"),
            None => format!("{resource}/"),
        }
    }

    /// The resource prefix of the key (`pods`, `apps/deployments`).
    pub fn storage(&self) -> &str {
        self.0.rsplitn(3, '/').nth(2).unwrap_or_default()
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key of a stored string, trusted to be well formed.
    pub(crate) fn from_stored(s: String) -> Self {
        Self(s)
    }
}

/// One committed version of an object.
#[derive(Debug)]
pub struct StoredObject {
    /// The object's JSON, with `metadata.resourceVersion` equal to `rv`.
    pub json: Bytes,
    /// The resource version of the write that produced this version.
    pub rv: u64,
    /// The values selectors look at, extracted once on write.
    pub select: Selectable,
    /// Whether the file holds it in a form the encryption configuration would not write now (plain, or sealed
    /// with a key that is no longer the first): an update rewrites it even when nothing changed.
    pub stale: bool,
}

impl StoredObject {
    /// The object parsed back into JSON.
    pub fn value(&self) -> Value {
        // The bytes were produced by serde_json from a Value, so they always parse.
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }
}

/// What label and field selectors can see of an object.
#[derive(Debug, Default, Clone)]
pub struct Selectable {
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// Selectable fields by path (`metadata.name`, `spec.nodeName`, ...), as strings.
    pub fields: Vec<(&'static str, String)>,
}

impl Selectable {
    /// The value of a selectable field; Kubernetes treats a missing field as empty.
    pub fn field(&self, path: &str) -> Option<&str> {
        self.fields.iter().find(|(p, _)| *p == path).map(|(_, v)| v.as_str())
    }
}

/// A write as the store applies it; preconditions are checked on the writer thread against committed state.
#[derive(Debug)]
pub enum Write {
    /// Create an object that must not exist yet.
    #[allow(missing_docs)] // Named for what they are: the key, the object, its selectable values.
    Create { key: Key, object: Value, select: Selectable },
    /// Replace an existing object, optionally only if its resource version is still `expected_rv`.
    #[allow(missing_docs)]
    Update { key: Key, object: Value, select: Selectable, expected_rv: Option<u64> },
    /// Remove an existing object, optionally only if its resource version is still `expected_rv`.
    #[allow(missing_docs)]
    Delete { key: Key, expected_rv: Option<u64> },
}

impl Write {
    fn key(&self) -> &Key {
        match self {
            Write::Create { key, .. } | Write::Update { key, .. } | Write::Delete { key, .. } => key,
        }
    }
}

/// Why a write was refused. Only `Storage` means the store itself failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A create found the key taken.
    #[error("object already exists")]
    AlreadyExists,
    /// An update or delete found no object.
    #[error("object not found")]
    NotFound,
    /// The object changed since the caller read it.
    #[error("object was modified: expected resource version {expected}, found {found}")]
    Conflict {
        /// What the caller read.
        expected: u64,
        /// What is committed.
        found: u64,
    },
    /// redb failed or the writer is gone; nothing of this write was acknowledged.
    #[error("storage failure: {0}")]
    Storage(String),
}

/// What the in-memory state holds; guarded by one lock so that a list and its resource version agree.
#[derive(Default)]
pub struct State {
    objects: BTreeMap<Key, Arc<StoredObject>>,
    /// The resource version of the newest committed write.
    pub rv: u64,
    /// Recent events and the live watchers' channel.
    pub history: History,
    /// The resource version of the newest write under each resource prefix, so that caches derived from one kind
    /// (the RBAC authoriser's index) know cheaply when to rebuild.
    written: HashMap<String, u64>,
}

impl State {
    /// The committed version of one object.
    pub fn get(&self, key: &Key) -> Option<&Arc<StoredObject>> {
        self.objects.get(key)
    }

    /// The resource version of the newest write (create, update or delete) of a kind, by its storage prefix; 0
    /// when none happened since start-up.
    pub fn last_write(&self, storage: &str) -> u64 {
        self.written.get(storage).copied().unwrap_or(0)
    }

    pub(crate) fn record_write(&mut self, key: &Key, rv: u64) {
        let storage = key.storage();
        match self.written.get_mut(storage) {
            Some(last) => *last = rv,
            None => {
                self.written.insert(storage.to_owned(), rv);
            }
        }
    }

    /// Every committed object under a key prefix (from [`Key::prefix`]), in key order, starting after `after`.
    pub fn range<'a>(
        &'a self,
        prefix: &'a str,
        after: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a Key, &'a Arc<StoredObject>)> + 'a {
        let start = match after {
            Some(after) => Bound::Excluded(Key(after.to_owned())),
            None => Bound::Included(Key(prefix.to_owned())),
        };
        self.objects.range((start, Bound::Unbounded)).take_while(move |(k, _)| k.0.starts_with(prefix))
    }
}

/// Options for a store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// How many recent events are kept for watches that resume from an older resource version.
    pub history_events: usize,
    /// How many events a live watcher may lag behind before it is dropped (it must then re-watch or relist).
    pub watcher_buffer: usize,
    /// The most writes committed in one redb transaction.
    pub max_batch: usize,
    /// How resources are encrypted in the file; `None` stores everything plain.
    pub encryption: Option<Arc<encryption::Encryption>>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { history_events: 20_000, watcher_buffer: 8_192, max_batch: 512, encryption: None }
    }
}

/// The store handle: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Store {
    state: Arc<RwLock<State>>,
    writer: durable::WriterHandle,
}

impl Store {
    /// Opens (or creates) the store in `dir`, loading every object into memory.
    ///
    /// Blocking: call it from a blocking context at start-up.
    pub fn open(dir: &Path, options: StoreOptions) -> Result<Self, OpenError> {
        let (events, _) = broadcast::channel(options.watcher_buffer.max(16));
        let loaded = durable::Durable::open(dir, options.encryption.as_deref())?;
        let mut state = State { history: History::new(options.history_events, events), ..State::default() };
        state.rv = loaded.rv;
        state.history.reset(loaded.rv);
        for (key, json, rv, stale) in loaded.objects {
            let value: Value = serde_json::from_slice(&json)
                .map_err(|e| OpenError::Corrupt(format!("object {} is not JSON: {e}", key.as_str())))?;
            let select = crate::registry::selectable_for_key(&key, &value);
            state.objects.insert(key, Arc::new(StoredObject { json, rv, select, stale }));
        }
        let state = Arc::new(RwLock::new(state));
        let writer = durable::spawn_writer(loaded.db, state.clone(), options.max_batch, options.encryption)?;
        Ok(Self { state, writer })
    }

    /// Runs `f` with the committed state under the read lock. Keep `f` short: writers wait for it.
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        let guard = self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&guard)
    }

    /// The committed version of one object.
    pub fn get(&self, key: &Key) -> Option<Arc<StoredObject>> {
        self.read(|s| s.get(key).cloned())
    }

    /// Applies one write durably and returns the committed object (for a delete, the removed one).
    pub async fn write(&self, write: Write) -> Result<Arc<StoredObject>, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.writer.submit(write, reply)?;
        answer.await.map_err(|_| WriteError::Storage("the store's writer stopped".into()))?
    }
}
