//! Events about pods, as core/v1 Events from the `kubelet` component, so `kubectl describe pod` tells the story.
//! Emitting never blocks the pod: the request runs in the background and a failure is only logged.

use std::sync::atomic::{AtomicU64, Ordering};

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use kube::Api;
use kube::api::PostParams;

use crate::agent::Shared;

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// Records an Event of `kind` (Normal or Warning) about `pod`.
pub fn emit(shared: &Shared, pod: &Pod, kind: &str, reason: &str, message: &str) {
    let namespace = pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let now = jiff::Timestamp::now();
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let event = Event {
        metadata: ObjectMeta {
            name: Some(format!("{pod_name}.{:x}{sequence:04x}", now.as_nanosecond())),
            namespace: Some(namespace.clone()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            name: Some(pod_name),
            namespace: Some(namespace.clone()),
            uid: pod.metadata.uid.clone(),
            resource_version: pod.metadata.resource_version.clone(),
            ..ObjectReference::default()
        },
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        type_: Some(kind.to_owned()),
        count: Some(1),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        event_time: Some(MicroTime(now)),
        reporting_component: Some("kubelet".into()),
        reporting_instance: Some(shared.config.node_name.clone()),
        action: Some(reason.to_owned()),
        source: Some(EventSource {
            component: Some("kubelet".into()),
            host: Some(shared.config.node_name.clone()),
        }),
        ..Event::default()
    };
    let api: Api<Event> = Api::namespaced(shared.client.clone(), &namespace);
    tokio::spawn(async move {
        if let Err(e) = api.create(&PostParams::default(), &event).await {
            tracing::debug!(error = %e, "cannot record an event");
        }
    });
}
