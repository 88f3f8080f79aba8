//! Events about pods, as core/v1 Events from `default-scheduler`, so that `kubectl describe pod` and
//! `kubectl get events` tell why a pod is pending or where it went.
//!
//! Like client-go's event recorder, recording never blocks scheduling: events go through a bounded channel to
//! one task and are dropped when it is full, and a failed write is only logged. An event that repeats (the same
//! pod, type, reason and message) updates the existing object's `count` and `lastTimestamp` instead of
//! creating another, as client-go's correlator does.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Events waiting to be written; more are dropped. client-go keeps 1,000, which a burst of a few thousand
/// bindings overflows; an event costs a few hundred bytes while it waits.
const QUEUED: usize = 10_000;
/// Event writes in flight at once.
const WRITERS: usize = 8;
/// Repeating events remembered for aggregation (client-go's correlator keeps 4,096).
const REMEMBERED: usize = 4096;

/// `type` of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Something expected happened.
    Normal,
    /// Something the user should look at.
    Warning,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Normal => "Normal",
            Kind::Warning => "Warning",
        }
    }
}

/// One event to record.
#[derive(Debug)]
struct Record {
    pod: Arc<Pod>,
    kind: Kind,
    reason: &'static str,
    action: &'static str,
    message: String,
}

/// Records events in the background. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Record>,
}

impl Recorder {
    /// Starts the recording task on `tracker`; it ends on `stop`.
    pub fn start(
        client: kube::Client,
        component: String,
        tracker: &TaskTracker,
        stop: CancellationToken,
    ) -> Self {
        let (tx, rx) = mpsc::channel(QUEUED);
        let writer = Writer {
            client,
            component,
            tracker: tracker.clone(),
            limit: Arc::new(Semaphore::new(WRITERS)),
            seen: HashMap::new(),
        };
        tracker.spawn(writer.run(rx, stop));
        Self { tx }
    }

    /// Records an event about `pod` (`action` is what the component did, as in events.k8s.io/v1).
    pub fn record(&self, pod: Arc<Pod>, kind: Kind, reason: &'static str, action: &'static str, message: String) {
        let record = Record { pod, kind, reason, action, message };
        if let Err(mpsc::error::TrySendError::Full(record)) = self.tx.try_send(record) {
            tracing::debug!(reason = record.reason, "event queue full; dropping an event");
        }
    }
}

/// What identifies a repeating event: namespace, involved object's UID, type, reason and message.
type Identity = (String, String, Kind, &'static str, String);

/// An event already written, for aggregation.
#[derive(Debug, Clone)]
struct Seen {
    name: String,
    count: i32,
}

/// The task that writes events.
struct Writer {
    client: kube::Client,
    component: String,
    tracker: TaskTracker,
    limit: Arc<Semaphore>,
    seen: HashMap<Identity, Seen>,
}

/// A write to perform.
enum Write {
    Create(Box<Event>),
    Repeat { namespace: String, name: String, count: i32, fallback: Box<Event> },
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Record>, stop: CancellationToken) {
        loop {
            let record = tokio::select! {
                () = stop.cancelled() => return,
                record = rx.recv() => match record {
                    Some(record) => record,
                    None => return,
                },
            };
            let write = self.plan(record);
            let (client, limit, stop) = (self.client.clone(), self.limit.clone(), stop.clone());
            self.tracker.spawn(async move {
                let Some(_permit) = stop.run_until_cancelled(limit.acquire_owned()).await.and_then(Result::ok)
                else {
                    return;
                };
                if let Err(e) = write.apply(client).await {
                    tracing::debug!(error = %e, "cannot record an event");
                }
            });
        }
    }

    /// The write for `record`: a new event, or a repeat of one already written.
    fn plan(&mut self, record: Record) -> Write {
        let now = Timestamp::now();
        let event = self.event(&record, now);
        let namespace = event.metadata.namespace.clone().unwrap_or_default();
        let uid = record.pod.metadata.uid.clone().unwrap_or_default();
        let identity = (namespace.clone(), uid, record.kind, record.reason, record.message);
        if let Some(seen) = self.seen.get_mut(&identity) {
            seen.count = seen.count.saturating_add(1);
            let mut fallback = event;
            fallback.count = Some(seen.count);
            return Write::Repeat {
                namespace,
                name: seen.name.clone(),
                count: seen.count,
                fallback: Box::new(fallback),
            };
        }
        // Only events that can repeat are worth remembering; a full memory starts afresh, which at worst
        // creates one more event for a pod that keeps failing.
        if record.kind == Kind::Warning {
            if self.seen.len() >= REMEMBERED {
                self.seen.clear();
            }
            let name = event.metadata.name.clone().unwrap_or_default();
            self.seen.insert(identity, Seen { name, count: 1 });
        }
        Write::Create(Box::new(event))
    }

    fn event(&self, record: &Record, now: Timestamp) -> Event {
        static SEQUENCE: AtomicU64 = AtomicU64::new(0);
        let pod = &record.pod;
        let namespace = pod.metadata.namespace.clone().unwrap_or_else(|| "default".to_owned());
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        Event {
            metadata: ObjectMeta {
                // client-go names events `<object>.<unix nanos in hex>`; the sequence keeps two events of one
                // pod in the same nanosecond apart.
                name: Some(format!("{pod_name}.{:x}{sequence:04x}", now.as_nanosecond())),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: Some("v1".to_owned()),
                kind: Some("Pod".to_owned()),
                name: Some(pod_name),
                namespace: Some(namespace),
                uid: pod.metadata.uid.clone(),
                resource_version: pod.metadata.resource_version.clone(),
                ..ObjectReference::default()
            },
            reason: Some(record.reason.to_owned()),
            message: Some(record.message.clone()),
            type_: Some(record.kind.as_str().to_owned()),
            count: Some(1),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: Some(MicroTime(now)),
            action: Some(record.action.to_owned()),
            reporting_component: Some(self.component.clone()),
            reporting_instance: Some(self.component.clone()),
            source: Some(EventSource { component: Some(self.component.clone()), host: None }),
            ..Event::default()
        }
    }
}

impl Write {
    async fn apply(self, client: kube::Client) -> Result<(), kube::Error> {
        match self {
            Write::Create(event) => create(client, &event).await,
            Write::Repeat { namespace, name, count, fallback } => {
                let api: Api<Event> = Api::namespaced(client.clone(), &namespace);
                let patch = json!({"count": count, "lastTimestamp": Time(Timestamp::now())});
                match api.patch(&name, &PatchParams::default(), &Patch::Merge(patch)).await {
                    // Deleted meanwhile (events expire): start a new one, as client-go does.
                    Err(kube::Error::Api(status)) if status.code == 404 => create(client, &fallback).await,
                    other => other.map(|_| ()),
                }
            }
        }
    }
}

async fn create(client: kube::Client, event: &Event) -> Result<(), kube::Error> {
    let namespace = event.metadata.namespace.as_deref().unwrap_or("default");
    let api: Api<Event> = Api::namespaced(client, namespace);
    api.create(&PostParams::default(), event).await.map(|_| ())
}
