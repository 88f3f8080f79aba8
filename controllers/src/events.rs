//! core/v1 Events for what the controllers do, as `kubectl describe` and `kubectl events` show them.

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::PostParams;
use kube::{Api, Client, Resource};

/// Records events in the regarding object's namespace under one component name.
#[derive(Clone)]
pub struct Recorder {
    client: Client,
    component: &'static str,
}

impl Recorder {
    /// A recorder for `component` (`replicaset-controller`, `deployment-controller`).
    pub fn new(client: Client, component: &'static str) -> Self {
        Self { client, component }
    }

    /// Records a Normal event about `regarding`. Failures are logged, never returned: an event is not worth
    /// failing the reconcile that caused it.
    pub async fn normal<K: Resource<DynamicType = ()>>(&self, regarding: &K, reason: &str, message: String) {
        self.record(regarding, "Normal", reason, message).await;
    }

    /// Records a Warning event about `regarding`.
    pub async fn warning<K: Resource<DynamicType = ()>>(&self, regarding: &K, reason: &str, message: String) {
        self.record(regarding, "Warning", reason, message).await;
    }

    async fn record<K: Resource<DynamicType = ()>>(
        &self,
        regarding: &K,
        type_: &str,
        reason: &str,
        message: String,
    ) {
        let meta = regarding.meta();
        let namespace = meta.namespace.clone().unwrap_or_else(|| "default".to_owned());
        let now = Timestamp::now();
        let name = meta.name.clone().unwrap_or_default();
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!("{name}.{:x}", now.as_nanosecond())),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: Some(K::api_version(&()).into_owned()),
                kind: Some(K::kind(&()).into_owned()),
                name: Some(name),
                namespace: meta.namespace.clone(),
                uid: meta.uid.clone(),
                resource_version: meta.resource_version.clone(),
                field_path: None,
            },
            reason: Some(reason.to_owned()),
            message: Some(message),
            type_: Some(type_.to_owned()),
            count: Some(1),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            source: Some(EventSource { component: Some(self.component.to_owned()), host: None }),
            reporting_component: Some(self.component.to_owned()),
            reporting_instance: Some(self.component.to_owned()),
            ..Event::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        if let Err(error) = api.create(&PostParams::default(), &event).await {
            tracing::debug!(%error, reason, "cannot record event");
        }
    }
}
