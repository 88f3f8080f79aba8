//! Events about pods, as core/v1 Events from `default-scheduler`, so that `kubectl describe pod` and
//! `kubectl get events` tell why a pod is pending or where it went.
//!
//! Like client-go's event recorder, recording never blocks scheduling: events go through a bounded channel to
//! one task and are dropped when it is full, and a failed write is only logged. An event that repeats (the same
//! pod, type, reason and message) updates the existing object's `count` and `lastTimestamp` instead of
//! creating another, as client-go's correlator does, and at most once per [`REPEAT_INTERVAL`].

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Events waiting to be written; more are dropped. client-go keeps 1,000, which a burst of a few thousand
/// bindings overflows; an event costs a few hundred bytes while it waits.
const QUEUED: usize = 10_000;
/// Event writes in flight at once.
const WRITERS: usize = 8;
/// Repeating events remembered for aggregation (client-go's correlator keeps 4,096).
const REMEMBERED: usize = 4096;
/// The shortest time between two writes of one repeating event. Repeats in between only count, and the next
/// write carries the count, so that thousands of pods retried together do not flood the API server (client-go
/// rate-limits each object's events for the same reason).
const REPEAT_INTERVAL: Duration = Duration::from_secs(10);

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
    pub fn record(
        &self,
        pod: Arc<Pod>,
        kind: Kind,
        reason: &'static str,
        action: &'static str,
        message: String,
    ) {
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
    written: Instant,
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
            let Some(write) = self.plan(record) else { continue };
            // Waiting here for a free writer keeps the backlog in the bounded channel.
            let Some(Ok(permit)) = stop.run_until_cancelled(self.limit.clone().acquire_owned()).await else {
                return;
            };
            let (client, stop) = (self.client.clone(), stop.clone());
            self.tracker.spawn(async move {
                if let Some(Err(e)) = stop.run_until_cancelled(write.apply(client)).await {
                    tracing::debug!(error = %e, "cannot record an event");
                }
                drop(permit);
            });
        }
    }

    /// The write for `record`: a new event, a repeat of one already written, or nothing when the repeat comes
    /// too soon after the last write.
    fn plan(&mut self, record: Record) -> Option<Write> {
        let now = Timestamp::now();
        let event = self.event(&record, now);
        let namespace = event.metadata.namespace.clone().unwrap_or_default();
        let uid = record.pod.metadata.uid.clone().unwrap_or_default();
        let identity = (namespace.clone(), uid, record.kind, record.reason, record.message);
        if let Some(seen) = self.seen.get_mut(&identity) {
            seen.count = seen.count.saturating_add(1);
            if seen.written.elapsed() < REPEAT_INTERVAL {
                return None;
            }
            seen.written = Instant::now();
            let mut fallback = event;
            fallback.count = Some(seen.count);
            return Some(Write::Repeat {
                namespace,
                name: seen.name.clone(),
                count: seen.count,
                fallback: Box::new(fallback),
            });
        }
        // Only events that can repeat are worth remembering; a full memory starts afresh, which at worst
        // creates one more event for a pod that keeps failing.
        if record.kind == Kind::Warning {
            if self.seen.len() >= REMEMBERED {
                self.seen.clear();
            }
            let name = event.metadata.name.clone().unwrap_or_default();
            self.seen.insert(identity, Seen { name, count: 1, written: Instant::now() });
        }
        Some(Write::Create(Box::new(event)))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> Writer {
        let config = kube::Config::new("http://127.0.0.1:1".parse().unwrap_or_else(|e| panic!("{e}")));
        Writer {
            client: kube::Client::try_from(config).unwrap_or_else(|e| panic!("{e}")),
            component: "default-scheduler".to_owned(),
            tracker: TaskTracker::new(),
            limit: Arc::new(Semaphore::new(1)),
            seen: HashMap::new(),
        }
    }

    fn record(kind: Kind, message: &str) -> Record {
        let pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "shop", "uid": "u1", "resourceVersion": "7"},
        }))
        .unwrap_or_else(|e| panic!("bad fixture: {e}"));
        Record {
            pod: Arc::new(pod),
            kind,
            reason: "FailedScheduling",
            action: "Scheduling",
            message: message.into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn repeats_update_one_event_at_most_every_interval() {
        let mut writer = writer();
        let Some(Write::Create(first)) = writer.plan(record(Kind::Warning, "0/1 nodes are available."))
        else {
            panic!("the first event is created")
        };
        assert_eq!(first.involved_object.name.as_deref(), Some("web"));
        assert_eq!(first.involved_object.uid.as_deref(), Some("u1"));
        assert_eq!(first.metadata.namespace.as_deref(), Some("shop"));
        assert_eq!(first.type_.as_deref(), Some("Warning"));
        assert_eq!(first.source.and_then(|s| s.component).as_deref(), Some("default-scheduler"));
        assert_eq!(first.count, Some(1));

        assert!(writer.plan(record(Kind::Warning, "0/1 nodes are available.")).is_none(), "too soon");
        tokio::time::advance(REPEAT_INTERVAL).await;
        let Some(Write::Repeat { name, count, .. }) =
            writer.plan(record(Kind::Warning, "0/1 nodes are available."))
        else {
            panic!("a repeat updates the event")
        };
        assert_eq!((name, count), (first.metadata.name.unwrap_or_default(), 3));

        // Another message is another event; normal events are not remembered.
        assert!(matches!(
            writer.plan(record(Kind::Warning, "0/2 nodes are available.")),
            Some(Write::Create(_))
        ));
        assert!(matches!(writer.plan(record(Kind::Normal, "done")), Some(Write::Create(_))));
        assert!(matches!(writer.plan(record(Kind::Normal, "done")), Some(Write::Create(_))));
    }
}
