//! The task that turns records into writes: it builds each Event, asks the correlator what to write, and
//! writes with a few requests in flight.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use k8s_openapi::api::core::v1::{Event, EventSource};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use crate::correlator::{Correlator, Decision};
use crate::{Record, Source};

/// Event writes in flight at once.
const WRITERS: usize = 8;

pub(crate) struct Writer {
    client: kube::Client,
    source: Source,
    correlator: Correlator,
    limit: Arc<Semaphore>,
}

impl Writer {
    pub(crate) fn new(client: kube::Client, source: Source) -> Self {
        Self { client, source, correlator: Correlator::default(), limit: Arc::new(Semaphore::new(WRITERS)) }
    }

    /// Writes until every recorder is dropped.
    pub(crate) async fn run(mut self, mut rx: mpsc::Receiver<Record>) {
        while let Some(record) = rx.recv().await {
            let event = event(&self.source, record, Timestamp::now());
            let decision = self.correlator.decide(event, Instant::now());
            if matches!(decision, Decision::Skip) {
                continue;
            }
            // Waiting here for a free writer keeps the backlog in the bounded channel.
            let Ok(permit) = self.limit.clone().acquire_owned().await else { return };
            let client = self.client.clone();
            tokio::spawn(async move {
                if let Err(e) = write(client, decision).await {
                    tracing::debug!(error = %e, "cannot record an event");
                }
                drop(permit);
            });
        }
    }
}

/// The Event for `record`, with client-go's naming: `<object>.<unix nanos in hex>`, plus a sequence number that
/// keeps two events of one object in the same nanosecond apart.
fn event(source: &Source, record: Record, now: Timestamp) -> Event {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let object = record.regarding.name.as_deref().unwrap_or("object");
    let namespace = record.regarding.namespace.clone().unwrap_or_else(|| "default".to_owned());
    let instance = source.host.clone().unwrap_or_else(|| source.component.clone());
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{object}.{:x}{sequence:04x}", now.as_nanosecond())),
            namespace: Some(namespace),
            ..ObjectMeta::default()
        },
        involved_object: record.regarding,
        reason: Some(record.reason),
        message: Some(record.message),
        type_: Some(record.kind.as_str().to_owned()),
        count: Some(1),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        event_time: Some(MicroTime(now)),
        action: Some(record.action),
        reporting_component: Some(source.component.clone()),
        reporting_instance: Some(instance),
        source: Some(EventSource { component: Some(source.component.clone()), host: source.host.clone() }),
        ..Event::default()
    }
}

async fn write(client: kube::Client, decision: Decision) -> Result<(), kube::Error> {
    match decision {
        Decision::Create(event) => create(client, &event).await,
        Decision::Repeat { namespace, name, count, fallback } => {
            let api: Api<Event> = Api::namespaced(client.clone(), &namespace);
            let patch = json!({"count": count, "lastTimestamp": Time(Timestamp::now())});
            match api.patch(&name, &PatchParams::default(), &Patch::Merge(patch)).await {
                // Deleted meanwhile (events expire): start a new one, as client-go does.
                Err(kube::Error::Api(status)) if status.code == 404 => create(client, &fallback).await,
                other => other.map(|_| ()),
            }
        }
        Decision::Skip => Ok(()),
    }
}

async fn create(client: kube::Client, event: &Event) -> Result<(), kube::Error> {
    let namespace = event.metadata.namespace.as_deref().unwrap_or("default");
    let api: Api<Event> = Api::namespaced(client, namespace);
    api.create(&PostParams::default(), event).await.map(|_| ())
}
