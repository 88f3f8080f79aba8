//! The scheduler against a real API server: Node objects with allocatable resources and a Ready condition, pods
//! created through the API, and the scheduler service running in-process as any other client would.

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::runtime::watcher;
use kube::{Api, Client};
use scheduler::{Options, Service};
use serde_json::{Value, json};
use tests::{PATIENCE, TestServer, eventually};

/// A server and a scheduler running against it.
struct Cluster {
    server: TestServer,
    client: Client,
    scheduler: Option<Service>,
}

impl Cluster {
    async fn start() -> Self {
        let server = TestServer::start().await;
        let client = server.client();
        Self { server, client, scheduler: None }
    }

    fn start_scheduler(&mut self) {
        self.scheduler = Some(Service::start(self.server.client(), Options::default()));
    }

    async fn stop(mut self) {
        if let Some(scheduler) = self.scheduler.take() {
            scheduler.shutdown().await;
        }
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), "default")
    }

    /// Registers a ready node offering `cpu` and `memory` (and 110 pods), with `spec` (labels, taints).
    async fn node(&self, name: &str, cpu: &str, memory: &str, labels: Value, spec: Value) {
        let nodes: Api<Node> = Api::all(self.client.clone());
        let node = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels},
            "spec": spec,
        }))
        .unwrap();
        nodes.create(&PostParams::default(), &node).await.unwrap();
        let resources = json!({"cpu": cpu, "memory": memory, "pods": "110"});
        let status = json!({"status": {
            "capacity": resources,
            "allocatable": resources,
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "node agent is posting ready status"}],
        }});
        tests::merge_status(&nodes, name, status).await.unwrap();
    }

    /// Creates a pod requesting `cpu` and `memory`, with `extra` merged into its spec. Pods go at once when
    /// deleted (no node agent runs them).
    async fn pod(&self, name: &str, cpu: &str, memory: &str, extra: Value) -> Pod {
        let mut spec = json!({
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "app", "image": "/opt/app.wasm",
                            "resources": {"requests": {"cpu": cpu, "memory": memory}}}],
        });
        if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
            spec.extend(extra.clone());
        }
        let pod = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec,
        }))
        .unwrap();
        self.pods().create(&PostParams::default(), &pod).await.unwrap()
    }

    /// Waits until the pod `name` is bound and returns its node.
    async fn bound(&self, name: &str) -> String {
        let pods = self.pods();
        eventually(&format!("pod {name} to be bound"), PATIENCE, || async {
            let pod = pods.get(name).await.ok()?;
            pod.spec?.node_name.filter(|n| !n.is_empty())
        })
        .await
    }

    /// Waits until the pod `name` is marked unschedulable and returns the condition's message.
    async fn unschedulable(&self, name: &str) -> String {
        let pods = self.pods();
        eventually(&format!("pod {name} to be marked unschedulable"), PATIENCE, || async {
            let pod = pods.get(name).await.ok()?;
            let condition = pod.status?.conditions?.into_iter().find(|c| c.type_ == "PodScheduled")?;
            (condition.status == "False" && condition.reason.as_deref() == Some("Unschedulable"))
                .then(|| condition.message.unwrap_or_default())
        })
        .await
    }

    /// Waits for an event about the pod `name` with `reason`, and returns it.
    async fn event(&self, name: &str, reason: &str) -> Event {
        let events: Api<Event> = Api::namespaced(self.client.clone(), "default");
        eventually(&format!("a {reason} event for {name}"), PATIENCE, || async {
            let list = events.list(&ListParams::default()).await.ok()?;
            list.items.into_iter().find(|e| {
                e.involved_object.name.as_deref() == Some(name) && e.reason.as_deref() == Some(reason)
            })
        })
        .await
    }
}

async fn priority_class(client: &Client, name: &str, value: i32) {
    let classes: Api<PriorityClass> = Api::all(client.clone());
    let class = serde_json::from_value(json!({
        "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
        "metadata": {"name": name}, "value": value,
    }))
    .unwrap();
    classes.create(&PostParams::default(), &class).await.unwrap();
}

#[tokio::test]
async fn bin_packing_fills_the_fullest_node_first() {
    let mut cluster = Cluster::start().await;
    cluster.node("roomy", "8", "16Gi", json!({}), json!({})).await;
    cluster.node("snug", "4", "8Gi", json!({}), json!({})).await;
    cluster.node("busy", "8", "16Gi", json!({}), json!({})).await;
    cluster.start_scheduler();

    // A pod already on `busy` makes it the fullest node; it takes pods until they no longer fit.
    cluster.pod("resident", "6", "12Gi", json!({"nodeName": "busy"})).await;
    for i in 0..7 {
        cluster.pod(&format!("web-{i}"), "1", "2Gi", json!({})).await;
    }
    let mut placed: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..7 {
        *placed.entry(cluster.bound(&format!("web-{i}")).await).or_default() += 1;
    }
    // busy: 6 + 2 = 8 of 8 CPUs; snug (4 CPUs) is then fuller than roomy (8 CPUs) for every pod.
    assert_eq!(
        placed,
        BTreeMap::from([("busy".to_owned(), 2), ("snug".to_owned(), 4), ("roomy".to_owned(), 1)])
    );

    let scheduled = cluster.event("web-0", "Scheduled").await;
    assert_eq!(scheduled.type_.as_deref(), Some("Normal"));
    let node = cluster.bound("web-0").await;
    assert_eq!(scheduled.message, Some(format!("Successfully assigned default/web-0 to {node}")));
    assert_eq!(scheduled.source.and_then(|s| s.component).as_deref(), Some("default-scheduler"));
    let pod = cluster.pods().get("web-0").await.unwrap();
    let condition = pod.status.and_then(|s| s.conditions).unwrap_or_default();
    assert!(condition.iter().any(|c| c.type_ == "PodScheduled" && c.status == "True"), "{condition:?}");
    cluster.stop().await;
}

#[tokio::test]
async fn an_unschedulable_pod_is_explained_and_placed_when_a_node_joins() {
    let mut cluster = Cluster::start().await;
    cluster.node("small-1", "2", "4Gi", json!({}), json!({})).await;
    cluster.node("small-2", "2", "4Gi", json!({}), json!({})).await;
    cluster.start_scheduler();

    cluster.pod("big", "3", "1Gi", json!({})).await;
    // No node could ever hold it, so evicting pods would not help (kube-scheduler's unresolvable fit).
    let expected = "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 \
                    Preemption is not helpful for scheduling.";
    assert_eq!(cluster.unschedulable("big").await, expected);
    let event = cluster.event("big", "FailedScheduling").await;
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    assert_eq!(event.message.as_deref(), Some(expected));
    assert_eq!(event.source.and_then(|s| s.component).as_deref(), Some("default-scheduler"));

    cluster.node("large", "4", "8Gi", json!({}), json!({})).await;
    assert_eq!(cluster.bound("big").await, "large");
    cluster.stop().await;
}

#[tokio::test]
async fn node_selectors_and_taints_steer_pods() {
    let mut cluster = Cluster::start().await;
    cluster.node("general", "4", "8Gi", json!({}), json!({})).await;
    cluster
        .node(
            "accel",
            "4",
            "8Gi",
            json!({"accelerator": "tpu"}),
            json!({"taints": [{"key": "dedicated", "value": "tpu", "effect": "NoSchedule"}]}),
        )
        .await;
    cluster.start_scheduler();

    let selecting = json!({"nodeSelector": {"accelerator": "tpu"}});
    cluster.pod("intolerant", "1", "1Gi", selecting.clone()).await;
    let mut tolerating = selecting;
    tolerating["tolerations"] = json!([{"key": "dedicated", "operator": "Equal", "value": "tpu",
                                        "effect": "NoSchedule"}]);
    cluster.pod("trainer", "1", "1Gi", tolerating).await;
    cluster.pod("plain", "1", "1Gi", json!({})).await;

    assert_eq!(cluster.bound("trainer").await, "accel");
    // The tainted node is fuller now, but the plain pod does not tolerate its taint.
    assert_eq!(cluster.bound("plain").await, "general");
    assert_eq!(
        cluster.unschedulable("intolerant").await,
        "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated \
         taint(s). preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
    );
    cluster.stop().await;
}

#[tokio::test]
async fn the_queue_takes_higher_priority_first() {
    let mut cluster = Cluster::start().await;
    priority_class(&cluster.client, "batch", 10).await;
    priority_class(&cluster.client, "critical", 1000).await;
    cluster.node("only", "1", "2Gi", json!({}), json!({})).await;
    // Both wait before the scheduler starts; the older one has the lower priority.
    cluster.pod("batch-job", "1", "1Gi", json!({"priorityClassName": "batch"})).await;
    cluster.pod("critical-job", "1", "1Gi", json!({"priorityClassName": "critical"})).await;
    let critical = cluster.pods().get("critical-job").await.unwrap();
    assert_eq!(critical.spec.and_then(|s| s.priority), Some(1000));
    cluster.start_scheduler();

    assert_eq!(cluster.bound("critical-job").await, "only");
    assert_eq!(
        cluster.unschedulable("batch-job").await,
        "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption \
         victims found for incoming pod."
    );
    cluster.stop().await;
}

#[tokio::test]
async fn a_high_priority_pod_preempts_a_low_priority_one() {
    let mut cluster = Cluster::start().await;
    priority_class(&cluster.client, "low", 10).await;
    priority_class(&cluster.client, "high", 1000).await;
    cluster.node("n1", "2", "4Gi", json!({}), json!({})).await;
    cluster.start_scheduler();

    let low = cluster.pod("low", "2", "1Gi", json!({"priorityClassName": "low"})).await;
    assert_eq!(cluster.bound("low").await, "n1");

    // Watch the preemptor from its creation, to see the nomination even if it is brief.
    let pods = cluster.pods();
    let config = watcher::Config::default().fields("metadata.name=high");
    let mut changes = watcher(pods.clone(), config).boxed();
    let first = changes.try_next().await.unwrap();
    assert!(matches!(first, Some(watcher::Event::Init)), "{first:?}");
    while !matches!(changes.try_next().await.unwrap(), Some(watcher::Event::InitDone)) {}

    cluster.pod("high", "2", "1Gi", json!({"priorityClassName": "high"})).await;
    let mut nominated = None;
    let node = tokio::time::timeout(PATIENCE, async {
        while let Some(event) = changes.try_next().await.unwrap() {
            let watcher::Event::Apply(pod) = event else { continue };
            if let Some(n) = pod.status.as_ref().and_then(|s| s.nominated_node_name.clone()) {
                nominated = Some(n);
            }
            if let Some(node) = pod.spec.and_then(|s| s.node_name) {
                return node;
            }
        }
        panic!("the watch ended")
    })
    .await
    .expect("the high-priority pod is bound");
    assert_eq!(node, "n1");
    assert_eq!(nominated.as_deref(), Some("n1"));

    // The victim is gone, and says why in an event.
    let gone = pods.get_opt("low").await.unwrap();
    assert!(gone.is_none_or(|p| p.metadata.uid != low.metadata.uid), "the victim is still there");
    let preempted = cluster.event("low", "Preempted").await;
    let high_uid = pods.get("high").await.unwrap().metadata.uid.unwrap();
    assert_eq!(preempted.message, Some(format!("Preempted by pod {high_uid} on node n1")));
    let failed = cluster.event("high", "FailedScheduling").await;
    assert_eq!(failed.message.as_deref(), Some("0/1 nodes are available: 1 Insufficient cpu."));
    cluster.stop().await;
}

#[tokio::test]
async fn pods_deleted_or_bound_by_others_mid_decision_do_not_wedge_the_loop() {
    let mut cluster = Cluster::start().await;
    cluster.node("n1", "3", "8Gi", json!({}), json!({})).await;
    cluster.start_scheduler();
    let pods = cluster.pods();

    // Pods that vanish while the scheduler decides and binds them: some bindings find them gone.
    let doomed = (0..40).map(|i| {
        let (cluster, pods) = (&cluster, pods.clone());
        async move {
            let name = format!("doomed-{i}");
            cluster.pod(&name, "100m", "64Mi", json!({})).await;
            pods.delete(&name, &DeleteParams::default()).await.unwrap();
        }
    });
    futures::future::join_all(doomed).await;
    // A pod that someone else binds while the scheduler may be binding it too: one of the two gets a conflict.
    cluster.pod("raced", "1", "1Gi", json!({})).await;
    let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "raced"},
                         "target": {"kind": "Node", "name": "n1"}});
    let _ = pods.create_subresource::<_, Value>("binding", "raced", &PostParams::default(), &binding).await;
    assert_eq!(cluster.bound("raced").await, "n1");

    // Nothing leaked: exactly two more 1-CPU pods fit beside `raced`, and a third does not.
    for name in ["after-1", "after-2", "after-3"] {
        cluster.pod(name, "1", "1Gi", json!({})).await;
    }
    assert_eq!(cluster.bound("after-1").await, "n1");
    assert_eq!(cluster.bound("after-2").await, "n1");
    assert_eq!(
        cluster.unschedulable("after-3").await,
        "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption \
         victims found for incoming pod."
    );
    let left = pods.list(&ListParams::default()).await.unwrap();
    assert!(left.items.iter().all(|p| !p.metadata.name.as_deref().unwrap_or_default().starts_with("doomed")));
    cluster.stop().await;
}
