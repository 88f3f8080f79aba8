//! The redb file and the single writer thread that commits to it in groups.
//!
//! Every write is acknowledged only after the redb transaction holding it committed with
//! `Durability::Immediate` (fsync), so a `201`/`200` survives `kill -9`. Writes that arrive while a commit is in
//! flight queue up and go into the next transaction together, which is what lets many concurrent clients share
//! one fsync.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock, mpsc};

use bytes::Bytes;
use redb::{Database, DatabaseError, ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::Value;
use tokio::sync::oneshot;

use super::encryption::Encryption;
use super::{EventType, Key, State, StoredObject, WatchEvent, Write, WriteError};

/// key → (resource version, object JSON).
const OBJECTS: TableDefinition<&str, (u64, &[u8])> = TableDefinition::new("objects");
/// Named counters; `revision` is the newest resource version handed out.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const REVISION: &str = "revision";
const FILE_NAME: &str = "wharf.redb";

/// Why the store could not be opened. Each message is one line that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Another process holds the data file.
    #[error("data directory {0} is in use by another Wharf server; stop it or choose another --data-dir")]
    Locked(String),
    /// The directory or file cannot be created or read.
    #[error("cannot open data directory {dir}: {message}")]
    Io {
        /// The data directory.
        dir: String,
        /// What the OS said.
        message: String,
    },
    /// The file exists but is not a readable Wharf store.
    #[error("data file is corrupt or not a Wharf store: {0}; move it aside to start empty")]
    Corrupt(String),
    /// An encrypted object does not open with the configured keys.
    #[error("cannot decrypt the store: {0}; start with the encryption configuration that wrote it")]
    Encryption(String),
}

/// What was on disk at start-up.
pub struct Loaded {
    pub(super) db: Database,
    pub(super) rv: u64,
    /// Each object's key, JSON, resource version and whether it is stored stale.
    pub(super) objects: Vec<(Key, Bytes, u64, bool)>,
}

/// The durable half of the store.
pub struct Durable;

impl Durable {
    /// Opens or creates `dir/wharf.redb` and reads every object, decrypting what `encryption` sealed.
    pub fn open(dir: &Path, encryption: Option<&Encryption>) -> Result<Loaded, OpenError> {
        let io = |e: std::io::Error| OpenError::Io { dir: dir.display().to_string(), message: e.to_string() };
        std::fs::create_dir_all(dir).map_err(io)?;
        let path = dir.join(FILE_NAME);
        let db = Database::create(&path).map_err(|e| match e {
            DatabaseError::DatabaseAlreadyOpen => OpenError::Locked(dir.display().to_string()),
            // redb reports a file that is not one of its databases as invalid data.
            DatabaseError::Storage(redb::StorageError::Io(e))
                if e.kind() != std::io::ErrorKind::InvalidData =>
            {
                io(e)
            }
            other => OpenError::Corrupt(format!("{}: {other}", path.display())),
        })?;
        let corrupt = |e: &dyn std::fmt::Display| OpenError::Corrupt(format!("{}: {e}", path.display()));

        // Make sure the tables exist so that reads of a new file succeed.
        let txn = db.begin_write().map_err(|e| corrupt(&e))?;
        txn.open_table(OBJECTS).map_err(|e| corrupt(&e))?;
        txn.open_table(META).map_err(|e| corrupt(&e))?;
        txn.commit().map_err(|e| corrupt(&e))?;

        let txn = db.begin_read().map_err(|e| corrupt(&e))?;
        let meta = txn.open_table(META).map_err(|e| corrupt(&e))?;
        let rv = meta.get(REVISION).map_err(|e| corrupt(&e))?.map_or(0, |v| v.value());
        let table = txn.open_table(OBJECTS).map_err(|e| corrupt(&e))?;
        let mut objects = Vec::new();
        for entry in table.iter().map_err(|e| corrupt(&e))? {
            let (key, value) = entry.map_err(|e| corrupt(&e))?;
            let (object_rv, stored) = value.value();
            let key = Key::from_stored(key.value().to_owned());
            let (json, stale) = match encryption {
                Some(encryption) => (
                    encryption.open(&key, stored).map_err(OpenError::Encryption)?,
                    encryption.stale(&key, stored),
                ),
                None if stored.starts_with(b"k8s:enc:") => {
                    return Err(OpenError::Encryption(format!("{} is encrypted", key.as_str())));
                }
                None => (stored.to_vec(), false),
            };
            objects.push((key, Bytes::from(json), object_rv, stale));
        }
        drop(table);
        drop(meta);
        drop(txn);
        Ok(Loaded { db, rv, objects })
    }
}

type Reply = oneshot::Sender<Result<Arc<StoredObject>, WriteError>>;

/// Queues writes for the writer thread.
#[derive(Clone)]
pub struct WriterHandle {
    queue: mpsc::Sender<(Write, Reply)>,
}

impl WriterHandle {
    pub(super) fn submit(&self, write: Write, reply: Reply) -> Result<(), WriteError> {
        self.queue.send((write, reply)).map_err(|_| WriteError::Storage("the store's writer stopped".into()))
    }
}

/// Starts the writer thread. It stops when every [`WriterHandle`] is dropped.
pub(super) fn spawn_writer(
    db: Database,
    state: Arc<RwLock<State>>,
    max_batch: usize,
    encryption: Option<Arc<Encryption>>,
) -> Result<WriterHandle, OpenError> {
    let (queue, jobs) = mpsc::channel::<(Write, Reply)>();
    std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || {
            while let Ok(first) = jobs.recv() {
                let mut batch = vec![first];
                while batch.len() < max_batch.max(1) {
                    match jobs.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                commit_batch(&db, &state, encryption.as_deref(), batch);
            }
        })
        .map_err(|e| OpenError::Io {
            dir: String::new(),
            message: format!("cannot start the store writer: {e}"),
        })?;
    Ok(WriterHandle { queue })
}

/// The outcome of one write inside a batch, before the batch is known to be durable.
struct Staged {
    reply: Reply,
    result: Result<Arc<WatchEvent>, WriteError>,
}

fn commit_batch(
    db: &Database,
    state: &RwLock<State>,
    encryption: Option<&Encryption>,
    batch: Vec<(Write, Reply)>,
) {
    let committed =
        |key: &Key| state.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(key).cloned();
    let base_rv = state.read().unwrap_or_else(std::sync::PoisonError::into_inner).rv;

    let staged = (|| -> Result<(Vec<Staged>, u64), redb::Error> {
        let txn = db.begin_write()?;
        let mut rv = base_rv;
        // Writes earlier in this batch that later ones must see.
        let mut pending: HashMap<Key, Option<Arc<StoredObject>>> = HashMap::new();
        let mut staged = Vec::with_capacity(batch.len());
        {
            let mut table = txn.open_table(OBJECTS)?;
            for (write, reply) in batch {
                let key = write.key().clone();
                let current = pending.get(&key).cloned().unwrap_or_else(|| committed(&key));
                let result = if let Err(e) = check(&write, current.as_deref()) {
                    Err(e)
                } else {
                    {
                        rv += 1;
                        let (kind, object) = match write {
                            Write::Create { object, select, .. } => {
                                (EventType::Added, stamp(object, rv, select))
                            }
                            Write::Update { object, select, .. } => {
                                (EventType::Modified, stamp(object, rv, select))
                            }
                            Write::Delete { .. } => {
                                // `check` guaranteed the object exists.
                                let last = current.as_deref().map_or(Value::Null, StoredObject::value);
                                let select = current.as_ref().map(|c| c.select.clone()).unwrap_or_default();
                                (EventType::Deleted, stamp(last, rv, select))
                            }
                        };
                        let stored = match (kind, encryption) {
                            (EventType::Deleted, _) => Ok(None),
                            (_, Some(encryption)) => encryption.seal(&key, &object.json).map(Some),
                            (_, None) => Ok(Some(object.json.to_vec())),
                        };
                        match stored {
                            Ok(None) => {
                                table.remove(key.as_str())?;
                                pending.insert(key.clone(), None);
                                Ok(Arc::new(WatchEvent { rv, kind, key, object, previous: current }))
                            }
                            Ok(Some(bytes)) => {
                                table.insert(key.as_str(), (rv, bytes.as_slice()))?;
                                pending.insert(key.clone(), Some(object.clone()));
                                Ok(Arc::new(WatchEvent { rv, kind, key, object, previous: current }))
                            }
                            Err(why) => {
                                rv -= 1;
                                Err(WriteError::Storage(why))
                            }
                        }
                    }
                };
                staged.push(Staged { reply, result });
            }
        }
        if rv != base_rv {
            txn.open_table(META)?.insert(REVISION, rv)?;
        }
        txn.commit()?;
        Ok((staged, rv))
    })();

    match staged {
        Ok((staged, rv)) => {
            let mut guard = state.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            for s in &staged {
                if let Ok(event) = &s.result {
                    if event.kind == EventType::Deleted {
                        guard.objects.remove(&event.key);
                    } else {
                        guard.objects.insert(event.key.clone(), event.object.clone());
                    }
                    guard.record_write(&event.key, event.rv);
                    guard.history.push(event.clone());
                }
            }
            guard.rv = rv;
            drop(guard);
            for s in staged {
                // A caller that went away no longer needs its answer.
                let _ = s.reply.send(s.result.map(|e| e.object.clone()));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "store commit failed");
            // The jobs were moved into the failed closure; their reply channels are dropped with it, which the
            // callers see as a storage failure.
        }
    }
}

/// Checks a write's preconditions against the current version of its object.
fn check(write: &Write, current: Option<&StoredObject>) -> Result<(), WriteError> {
    match (write, current) {
        (Write::Create { .. }, Some(_)) => Err(WriteError::AlreadyExists),
        (Write::Create { .. }, None) => Ok(()),
        (Write::Update { .. } | Write::Delete { .. }, None) => Err(WriteError::NotFound),
        (Write::Update { expected_rv, .. } | Write::Delete { expected_rv, .. }, Some(current)) => {
            match expected_rv {
                Some(expected) if *expected != current.rv => {
                    Err(WriteError::Conflict { expected: *expected, found: current.rv })
                }
                _ => Ok(()),
            }
        }
    }
}

/// Sets `metadata.resourceVersion` and serialises the object.
fn stamp(mut object: Value, rv: u64, select: super::Selectable) -> Arc<StoredObject> {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
    let json = Bytes::from(serde_json::to_vec(&object).unwrap_or_default());
    Arc::new(StoredObject { json, rv, select, stale: false })
}
