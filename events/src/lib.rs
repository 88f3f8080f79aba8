//! core/v1 Events, recorded as client-go's recorder does it, for every component of Wharf (the controllers, the
//! scheduler and the node agent), so that `kubectl describe` and `kubectl events` tell what happened.
//!
//! Recording never blocks the caller: events go through a bounded queue to one background task, which drops
//! them when the queue is full and only logs a failed write. On the way the [`correlator`] applies client-go's
//! rules: an event that repeats updates the existing object's `count` instead of creating another, and each
//! source may record a burst of 25 events about one object, then one every five minutes, so that a ReplicaSet
//! creating a thousand pods records 25 `SuccessfulCreate` events, not a thousand.

pub mod correlator;
mod writer;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Resource;
use tokio::sync::mpsc;

/// `type` of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Something expected happened.
    Normal,
    /// Something the user should look at.
    Warning,
}

impl Kind {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Normal => "Normal",
            Kind::Warning => "Warning",
        }
    }
}

/// Who records: `source.component` and `reportingComponent` (`kubelet`, `default-scheduler`,
/// `replicaset-controller`), and for a node's agent `source.host`, the node's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The component.
    pub component: String,
    /// The node, for components that run on one.
    pub host: Option<String>,
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct Record {
    /// The object the event is about.
    pub regarding: ObjectReference,
    /// Normal or Warning.
    pub kind: Kind,
    /// Why, in UpperCamelCase (`SuccessfulCreate`).
    pub reason: String,
    /// What the component did (events.k8s.io/v1 `action`).
    pub action: String,
    /// For humans.
    pub message: String,
}

/// Events waiting to be written; more are dropped. client-go keeps 1,000, which a burst of a few thousand pods
/// overflows; an event costs a few hundred bytes while it waits.
const QUEUED: usize = 10_000;

/// Records events in the background. Cheap to clone; the writing task ends when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Record>,
}

impl Recorder {
    /// Starts the writing task on the current tokio runtime.
    pub fn start(client: kube::Client, source: Source) -> Self {
        let (tx, rx) = mpsc::channel(QUEUED);
        tokio::spawn(writer::Writer::new(client, source).run(rx));
        Self { tx }
    }

    /// Records `record`, or drops it when the queue is full.
    pub fn record(&self, record: Record) {
        if let Err(mpsc::error::TrySendError::Full(record)) = self.tx.try_send(record) {
            tracing::debug!(reason = record.reason, "event queue full; dropping an event");
        }
    }

    /// Records a Normal event about `regarding`; the action is the reason.
    pub fn normal<K: Resource<DynamicType = ()>>(&self, regarding: &K, reason: &str, message: String) {
        self.event(regarding, Kind::Normal, reason, reason, message);
    }

    /// Records a Warning event about `regarding`; the action is the reason.
    pub fn warning<K: Resource<DynamicType = ()>>(&self, regarding: &K, reason: &str, message: String) {
        self.event(regarding, Kind::Warning, reason, reason, message);
    }

    /// Records an event about `regarding`.
    pub fn event<K: Resource<DynamicType = ()>>(
        &self,
        regarding: &K,
        kind: Kind,
        reason: &str,
        action: &str,
        message: String,
    ) {
        self.record(Record {
            regarding: reference(regarding),
            kind,
            reason: reason.to_owned(),
            action: action.to_owned(),
            message,
        });
    }
}

/// A reference to `object` for `involvedObject`.
pub fn reference<K: Resource<DynamicType = ()>>(object: &K) -> ObjectReference {
    let meta = object.meta();
    ObjectReference {
        api_version: Some(K::api_version(&()).into_owned()),
        kind: Some(K::kind(&()).into_owned()),
        name: meta.name.clone(),
        namespace: meta.namespace.clone(),
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        field_path: None,
    }
}
