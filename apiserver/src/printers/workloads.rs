//! Printers of the workload kinds: pods, deployments, replica sets, daemon sets and jobs.

use std::borrow::Cow;

use jiff::Timestamp;
use serde_json::Value;

use super::fields::{
    age, created, field, flag, format_label_selector, format_labels, human_duration, int, list, name,
    non_empty, or_none, selector_string, text, timestamp,
};
use super::{AGE, Column, NAME, column, wide};

const CONTAINERS: Column = wide("Containers", "string", "Names of each container in the template.");
const IMAGES: Column = wide("Images", "string", "Images referenced by each container in the template.");

pub(super) const POD_COLUMNS: &[Column] = &[
    NAME,
    column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
    column("Status", "string", "The aggregate status of the containers in this pod."),
    column(
        "Restarts",
        "string",
        "The number of times the containers in this pod have been restarted and when the last container \
         in this pod has restarted.",
    ),
    AGE,
    wide("IP", "string", doc::POD_IP),
    wide("Node", "string", doc::POD_NODE_NAME),
    wide("Nominated Node", "string", doc::POD_NOMINATED_NODE),
    wide("Readiness Gates", "string", doc::POD_READINESS_GATES),
];

pub(super) fn pod_cells(pod: &Value, now: Timestamp) -> Vec<Value> {
    let summary = PodSummary::of(pod);
    let restarts = match summary.last_restart {
        Some(last) if summary.restarts != 0 => format!("{} ({} ago)", summary.restarts, age(Some(last), now)),
        _ => summary.restarts.to_string(),
    };
    // Conversion to the internal type fills podIPs from podIP.
    let ip = match list(pod, "/status/podIPs").first() {
        Some(first) => text(first, "/ip"),
        None => text(pod, "/status/podIP"),
    };
    let gates = list(pod, "/spec/readinessGates");
    let readiness_gates = if gates.is_empty() {
        "<none>".to_owned()
    } else {
        let conditions = list(pod, "/status/conditions");
        let passed = gates
            .iter()
            .filter(|gate| {
                let kind = text(gate, "/conditionType");
                conditions
                    .iter()
                    .find(|c| text(c, "/type") == kind)
                    .is_some_and(|c| text(c, "/status") == "True")
            })
            .count();
        format!("{passed}/{}", gates.len())
    };
    vec![
        name(pod).into(),
        format!("{}/{}", summary.ready, summary.total).into(),
        summary.reason.into_owned().into(),
        restarts.into(),
        created(pod, now).into(),
        or_none(ip).into(),
        or_none(text(pod, "/spec/nodeName")).into(),
        or_none(text(pod, "/status/nominatedNodeName")).into(),
        readiness_gates.into(),
    ]
}

/// The pod's `Ready`, `Status` and `Restarts` cells, aggregated from container states as `printPod` does.
struct PodSummary<'a> {
    ready: usize,
    total: usize,
    reason: Cow<'a, str>,
    restarts: i64,
    last_restart: Option<Timestamp>,
    /// Restarts of sidecars (restartable init containers), which still count once the pod is initialized.
    sidecar_restarts: i64,
    last_sidecar_restart: Option<Timestamp>,
}

impl<'a> PodSummary<'a> {
    fn of(pod: &'a Value) -> Self {
        let init_specs = list(pod, "/spec/initContainers");
        let phase = text(pod, "/status/phase");
        let status_reason = text(pod, "/status/reason");
        let conditions = list(pod, "/status/conditions");
        let mut summary = PodSummary {
            ready: 0,
            total: list(pod, "/spec/containers").len()
                + init_specs.iter().filter(|c| is_restartable_init_container(c)).count(),
            reason: Cow::Borrowed(non_empty(status_reason).unwrap_or(phase)),
            restarts: 0,
            last_restart: None,
            sidecar_restarts: 0,
            last_sidecar_restart: None,
        };
        if conditions
            .iter()
            .any(|c| text(c, "/type") == "PodScheduled" && text(c, "/reason") == "SchedulingGated")
        {
            summary.reason = Cow::Borrowed("SchedulingGated");
        }
        let initializing =
            summary.read_init_containers(init_specs, list(pod, "/status/initContainerStatuses"));
        if !initializing || first_condition_true(conditions, "Initialized") {
            summary.read_containers(list(pod, "/status/containerStatuses"), conditions);
        }
        if field(pod, "/metadata/deletionTimestamp").is_some() {
            if status_reason == "NodeLost" {
                summary.reason = Cow::Borrowed("Unknown");
            } else if phase != "Succeeded" && phase != "Failed" {
                summary.reason = Cow::Borrowed("Terminating");
            }
        }
        summary
    }

    /// Reads init container statuses up to the first one still initializing; returns whether there is one.
    fn read_init_containers(&mut self, specs: &[Value], statuses: &'a [Value]) -> bool {
        // Go keeps the last spec of a duplicated name in its map; a missing spec is not restartable.
        let is_sidecar = |name: &str| {
            specs.iter().rev().find(|c| text(c, "/name") == name).is_some_and(is_restartable_init_container)
        };
        for (index, status) in statuses.iter().enumerate() {
            let count = int(status, "/restartCount");
            let finished = timestamp(status, "/lastState/terminated/finishedAt");
            self.restarts += count;
            self.last_restart = self.last_restart.max(finished);
            let sidecar = is_sidecar(text(status, "/name"));
            if sidecar {
                self.sidecar_restarts += count;
                self.last_sidecar_restart = self.last_sidecar_restart.max(finished);
            }
            let terminated = field(status, "/state/terminated");
            if terminated.is_some_and(|t| int(t, "/exitCode") == 0) {
                continue;
            }
            if sidecar && flag(status, "/started") {
                self.ready += usize::from(flag(status, "/ready"));
                continue;
            }
            let waiting = text(status, "/state/waiting/reason");
            self.reason = Cow::Owned(match terminated {
                Some(terminated) => match (text(terminated, "/reason"), int(terminated, "/signal")) {
                    ("", 0) => format!("Init:ExitCode:{}", int(terminated, "/exitCode")),
                    ("", signal) => format!("Init:Signal:{signal}"),
                    (reason, _) => format!("Init:{reason}"),
                },
                None if !waiting.is_empty() && waiting != "PodInitializing" => format!("Init:{waiting}"),
                None => format!("Init:{index}/{}", specs.len()),
            });
            return true;
        }
        false
    }

    /// Reads app container statuses, last to first, so the first container's state wins.
    fn read_containers(&mut self, statuses: &'a [Value], conditions: &[Value]) {
        // Once initialized, only sidecars' restarts still count among the init containers'.
        self.restarts = self.sidecar_restarts;
        self.last_restart = self.last_sidecar_restart;
        let mut has_running = false;
        for status in statuses.iter().rev() {
            self.restarts += int(status, "/restartCount");
            self.last_restart = self.last_restart.max(timestamp(status, "/lastState/terminated/finishedAt"));
            let waiting = text(status, "/state/waiting/reason");
            if !waiting.is_empty() {
                self.reason = Cow::Borrowed(waiting);
            } else if let Some(terminated) = field(status, "/state/terminated") {
                self.reason = match (text(terminated, "/reason"), int(terminated, "/signal")) {
                    ("", 0) => Cow::Owned(format!("ExitCode:{}", int(terminated, "/exitCode"))),
                    ("", signal) => Cow::Owned(format!("Signal:{signal}")),
                    (reason, _) => Cow::Borrowed(reason),
                };
            } else if flag(status, "/ready") && field(status, "/state/running").is_some() {
                has_running = true;
                self.ready += 1;
            }
        }
        // One container completed while another still runs: the pod is not done yet.
        if self.reason == "Completed" && has_running {
            let ready =
                conditions.iter().any(|c| text(c, "/type") == "Ready" && text(c, "/status") == "True");
            self.reason = Cow::Borrowed(if ready { "Running" } else { "NotReady" });
        }
    }
}

pub(super) const DEPLOYMENT_COLUMNS: &[Column] = &[
    NAME,
    column("Ready", "string", "Number of the pod with ready state"),
    column("Up-to-date", "string", doc::DEPLOYMENT_UPDATED),
    column("Available", "string", doc::DEPLOYMENT_AVAILABLE),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", "string", doc::DEPLOYMENT_SELECTOR),
];

pub(super) fn deployment_cells(deployment: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = container_cells(deployment, "/spec/template/spec/containers");
    let selector =
        selector_string(field(deployment, "/spec/selector")).unwrap_or_else(|| "<invalid>".to_owned());
    vec![
        name(deployment).into(),
        format!("{}/{}", int(deployment, "/status/readyReplicas"), replicas(deployment)).into(),
        int(deployment, "/status/updatedReplicas").into(),
        int(deployment, "/status/availableReplicas").into(),
        created(deployment, now).into(),
        names.into(),
        images.into(),
        selector.into(),
    ]
}

pub(super) const REPLICASET_COLUMNS: &[Column] = &[
    NAME,
    column("Desired", "integer", doc::REPLICASET_DESIRED),
    column("Current", "integer", doc::REPLICASET_CURRENT),
    column("Ready", "integer", doc::REPLICASET_READY),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", "string", doc::REPLICASET_SELECTOR),
];

pub(super) fn replicaset_cells(set: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = container_cells(set, "/spec/template/spec/containers");
    vec![
        name(set).into(),
        replicas(set).into(),
        int(set, "/status/replicas").into(),
        int(set, "/status/readyReplicas").into(),
        created(set, now).into(),
        names.into(),
        images.into(),
        format_label_selector(field(set, "/spec/selector")).into(),
    ]
}

pub(super) const DAEMONSET_COLUMNS: &[Column] = &[
    NAME,
    column("Desired", "integer", doc::DAEMONSET_DESIRED),
    column("Current", "integer", doc::DAEMONSET_CURRENT),
    column("Ready", "integer", doc::DAEMONSET_READY),
    column("Up-to-date", "integer", doc::DAEMONSET_UPDATED),
    column("Available", "integer", doc::DAEMONSET_AVAILABLE),
    column("Node Selector", "string", doc::POD_NODE_SELECTOR),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", "string", doc::DAEMONSET_SELECTOR),
];

pub(super) fn daemonset_cells(set: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = container_cells(set, "/spec/template/spec/containers");
    vec![
        name(set).into(),
        int(set, "/status/desiredNumberScheduled").into(),
        int(set, "/status/currentNumberScheduled").into(),
        int(set, "/status/numberReady").into(),
        int(set, "/status/updatedNumberScheduled").into(),
        int(set, "/status/numberAvailable").into(),
        format_labels(field(set, "/spec/template/spec/nodeSelector")).into(),
        created(set, now).into(),
        names.into(),
        images.into(),
        format_label_selector(field(set, "/spec/selector")).into(),
    ]
}

pub(super) const JOB_COLUMNS: &[Column] = &[
    NAME,
    column("Status", "string", "Status of the job."),
    column("Completions", "string", doc::JOB_SUCCEEDED),
    column("Duration", "string", "Time required to complete the job."),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", "string", doc::JOB_SELECTOR),
];

pub(super) fn job_cells(job: &Value, now: Timestamp) -> Vec<Value> {
    let succeeded = int(job, "/status/succeeded");
    let completions = match (field(job, "/spec/completions"), int(job, "/spec/parallelism")) {
        (Some(completions), _) => format!("{succeeded}/{}", int(completions, "")),
        (None, parallelism) if parallelism > 1 => format!("{succeeded}/1 of {parallelism}"),
        (None, _) => format!("{succeeded}/1"),
    };
    let duration = match timestamp(job, "/status/startTime") {
        None => String::new(),
        Some(start) => {
            let end = timestamp(job, "/status/completionTime").unwrap_or(now);
            human_duration(end.duration_since(start))
        }
    };
    let conditions = list(job, "/status/conditions");
    let status = if first_condition_true(conditions, "Complete") {
        "Complete"
    } else if first_condition_true(conditions, "Failed") {
        "Failed"
    } else if field(job, "/metadata/deletionTimestamp").is_some() {
        "Terminating"
    } else if first_condition_true(conditions, "Suspended") {
        "Suspended"
    } else if first_condition_true(conditions, "FailureTarget") {
        "FailureTarget"
    } else if first_condition_true(conditions, "SuccessCriteriaMet") {
        "SuccessCriteriaMet"
    } else {
        "Running"
    };
    let (names, images) = container_cells(job, "/spec/template/spec/containers");
    vec![
        name(job).into(),
        status.into(),
        completions.into(),
        duration.into(),
        created(job, now).into(),
        names.into(),
        images.into(),
        format_label_selector(field(job, "/spec/selector")).into(),
    ]
}

/// `spec.replicas`, which defaults to 1 on create.
fn replicas(object: &Value) -> i64 {
    field(object, "/spec/replicas").map_or(1, |r| int(r, ""))
}

/// Whether the condition of type `kind` that comes first has status `True`.
fn first_condition_true(conditions: &[Value], kind: &str) -> bool {
    conditions.iter().find(|c| text(c, "/type") == kind).is_some_and(|c| text(c, "/status") == "True")
}

/// A sidecar: an init container with `restartPolicy: Always`.
fn is_restartable_init_container(container: &Value) -> bool {
    text(container, "/restartPolicy") == "Always"
}

/// The `Containers` and `Images` cells: the template's container names and images, comma-separated.
fn container_cells(object: &Value, pointer: &str) -> (String, String) {
    let containers = list(object, pointer);
    let names: Vec<&str> = containers.iter().map(|c| text(c, "/name")).collect();
    let images: Vec<&str> = containers.iter().map(|c| text(c, "/image")).collect();
    (names.join(","), images.join(","))
}

/// Column descriptions: the Kubernetes API documentation strings (`SwaggerDoc()`) that printers.go uses.
mod doc {
    pub(super) const POD_IP: &str = concat!(
        "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet ",
        "allocated.",
    );
    pub(super) const POD_NODE_NAME: &str = concat!(
        "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for ",
        "scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for ",
        "this node becomes responsible for the lifecycle of this pod. This field should not be used to ",
        "express a desire for the pod to be scheduled on a specific node. ",
        "https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename",
    );
    pub(super) const POD_NOMINATED_NODE: &str = concat!(
        "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be ",
        "scheduled right away as preemption victims receive their graceful termination periods. This ",
        "field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to ",
        "place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to ",
        "give the resources on this node to a higher priority pod that is created after preemption. As a ",
        "result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
    );
    pub(super) const POD_READINESS_GATES: &str = concat!(
        "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all ",
        "its containers are ready AND all conditions specified in the readiness gates have status equal ",
        "to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
    );
    pub(super) const POD_NODE_SELECTOR: &str = concat!(
        "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must ",
        "match a node's labels for the pod to be scheduled on that node. More info: ",
        "https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
    );
    pub(super) const DEPLOYMENT_UPDATED: &str = concat!(
        "Total number of non-terminating pods targeted by this deployment that have the desired template ",
        "spec.",
    );
    pub(super) const DEPLOYMENT_AVAILABLE: &str = concat!(
        "Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by ",
        "this deployment.",
    );
    pub(super) const DEPLOYMENT_SELECTOR: &str = concat!(
        "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones ",
        "affected by this deployment.",
    );
    pub(super) const REPLICASET_DESIRED: &str = concat!(
        "Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero ",
        "and unspecified. Defaults to 1. More info: ",
        "https://kubernetes.io/docs/concepts/workloads/controllers/replicaset",
    );
    pub(super) const REPLICASET_CURRENT: &str = concat!(
        "Replicas is the most recently observed number of non-terminating pods. More info: ",
        "https://kubernetes.io/docs/concepts/workloads/controllers/replicaset",
    );
    pub(super) const REPLICASET_READY: &str =
        "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.";
    pub(super) const REPLICASET_SELECTOR: &str = concat!(
        "Selector is a label query over pods that should match the replica count. If the selector is ",
        "empty, it is defaulted to the labels present on the pod template. Label keys and values that ",
        "must match in order to be controlled by this replica set. More info: ",
        "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    );
    pub(super) const DAEMONSET_DESIRED: &str = concat!(
        "The total number of nodes that should be running the daemon pod (including nodes correctly ",
        "running the daemon pod). More info: ",
        "https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
    );
    pub(super) const DAEMONSET_CURRENT: &str = concat!(
        "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon ",
        "pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
    );
    pub(super) const DAEMONSET_READY: &str = concat!(
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod ",
        "running and ready.",
    );
    pub(super) const DAEMONSET_UPDATED: &str =
        "The total number of nodes that are running updated daemon pod";
    pub(super) const DAEMONSET_AVAILABLE: &str = concat!(
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod ",
        "running and available (ready for at least spec.minReadySeconds)",
    );
    pub(super) const DAEMONSET_SELECTOR: &str = concat!(
        "A label query over pods that are managed by the daemon set. Must match in order to be ",
        "controlled. If empty, defaulted to labels on Pod template. More info: ",
        "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    );
    pub(super) const JOB_SUCCEEDED: &str = concat!(
        "The number of pods which reached phase Succeeded. The value increases monotonically for a given ",
        "spec. However, it may decrease in reaction to scale down of elastic indexed jobs.",
    );
    pub(super) const JOB_SELECTOR: &str = concat!(
        "A label query over pods that should match the pod count. Normally, the system sets this field ",
        "for you. More info: ",
        "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::printers::cells;
    use crate::printers::tests::{ago, check_headers, check_rows, meta};

    #[test]
    fn headers_match_kubectl() {
        check_headers(&[
            (
                "pods",
                &["Name", "Ready", "Status", "Restarts", "Age"],
                &["IP", "Node", "Nominated Node", "Readiness Gates"],
            ),
            (
                "deployments",
                &["Name", "Ready", "Up-to-date", "Available", "Age"],
                &["Containers", "Images", "Selector"],
            ),
            (
                "replicasets",
                &["Name", "Desired", "Current", "Ready", "Age"],
                &["Containers", "Images", "Selector"],
            ),
            (
                "daemonsets",
                &["Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age"],
                &["Containers", "Images", "Selector"],
            ),
            (
                "jobs",
                &["Name", "Status", "Completions", "Duration", "Age"],
                &["Containers", "Images", "Selector"],
            ),
        ]);
        assert_eq!(POD_COLUMNS[3].kind, "string", "restarts may carry a last-restart age");
    }

    #[test]
    fn deployment_row_matches_the_recorded_sample() {
        let sample = json!({
            "kind": "Deployment",
            "apiVersion": "apps/v1",
            "metadata": { "name": "web", "namespace": "demo", "creationTimestamp": "2026-11-22T01:49:40Z" },
            "spec": {
                "replicas": 2,
                "selector": { "matchLabels": { "app": "web" } },
                "template": {
                    "spec": { "containers": [{ "name": "web", "image": "registry.local/web.wasm:v1" }] },
                },
            },
            "status": { "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2 },
        });
        let now: Timestamp = "2026-11-22T01:49:42Z".parse().expect("valid timestamp");
        assert_eq!(
            Value::Array(cells("deployments", &sample, now)),
            json!(["web", "2/2", 2, 2, "2s", "web", "registry.local/web.wasm:v1", "app=web"])
        );
    }

    #[test]
    fn deployment_rows() {
        let template = json!({ "spec": { "containers": [
            { "name": "web", "image": "web:1" }, { "name": "log", "image": "log:2" },
        ] } });
        check_rows(
            "deployments",
            &[
                (
                    "scaling up, set-based selector",
                    json!({
                        "metadata": meta("api"),
                        "spec": { "replicas": 3, "template": template, "selector": {
                            "matchLabels": { "app": "api" },
                            "matchExpressions": [{ "key": "tier", "operator": "In", "values": ["b", "a"] }],
                        } },
                        "status": { "readyReplicas": 1, "updatedReplicas": 2, "availableReplicas": 1 },
                    }),
                    json!(["api", "1/3", 2, 1, "5m", "web,log", "web:1,log:2", "app=api,tier in (a,b)"]),
                ),
                (
                    "new, no status yet; replicas default to 1",
                    json!({
                        "metadata": meta("new"),
                        "spec": { "selector": { "matchLabels": { "app": "new" } } },
                    }),
                    json!(["new", "0/1", 0, 0, "5m", "", "", "app=new"]),
                ),
                (
                    "invalid selector",
                    json!({ "metadata": meta("bad"), "spec": { "replicas": 0, "selector": {
                    "matchExpressions": [{ "key": "app", "operator": "Near" }],
                } } }),
                    json!(["bad", "0/0", 0, 0, "5m", "", "", "<invalid>"]),
                ),
            ],
        );
    }

    fn running_container(name: &str, restarts: i64) -> Value {
        json!({
            "name": name, "ready": true, "started": true, "restartCount": restarts,
            "state": { "running": { "startedAt": ago(100) } },
        })
    }

    fn single_container_spec() -> Value {
        json!({ "containers": [{ "name": "app", "image": "app:1" }], "nodeName": "node-1" })
    }

    fn two_init_containers_spec() -> Value {
        json!({
            "initContainers": [{ "name": "migrate" }, { "name": "seed" }],
            "containers": [{ "name": "app" }],
        })
    }

    #[test]
    fn pod_rows_running() {
        let one = single_container_spec();
        check_rows(
            "pods",
            &[
                (
                    "running",
                    json!({
                        "metadata": meta("web-1"),
                        "spec": one,
                        "status": {
                            "phase": "Running",
                            "podIP": "10.0.0.5",
                            "podIPs": [{ "ip": "10.0.0.5" }, { "ip": "fd00::5" }],
                            "conditions": [{ "type": "Ready", "status": "True" }],
                            "containerStatuses": [running_container("app", 0)],
                        },
                    }),
                    json!(["web-1", "1/1", "Running", "0", "5m", "10.0.0.5", "node-1", "<none>", "<none>"]),
                ),
                (
                    "restarts without a recorded finish time",
                    json!({
                        "metadata": meta("web-3"),
                        "spec": one,
                        "status": { "phase": "Running", "containerStatuses": [running_container("app", 2)] },
                    }),
                    json!(["web-3", "1/1", "Running", "2", "5m", "<none>", "node-1", "<none>", "<none>"]),
                ),
                (
                    "pending with nothing reported",
                    json!({ "metadata": meta("fresh"), "spec": one, "status": { "phase": "Pending" } }),
                    json!(["fresh", "0/1", "Pending", "0", "5m", "<none>", "node-1", "<none>", "<none>"]),
                ),
                (
                    "scheduling gated",
                    json!({
                        "metadata": meta("gated"),
                        "spec": one,
                        "status": { "phase": "Pending", "conditions": [
                            { "type": "PodScheduled", "status": "False", "reason": "SchedulingGated" },
                        ] },
                    }),
                    json!([
                        "gated",
                        "0/1",
                        "SchedulingGated",
                        "0",
                        "5m",
                        "<none>",
                        "node-1",
                        "<none>",
                        "<none>"
                    ]),
                ),
            ],
        );
    }

    #[test]
    fn pod_rows_failing() {
        let one = single_container_spec();
        check_rows(
            "pods",
            &[
                (
                    "crash loop with restarts",
                    json!({
                        "metadata": meta("web-2"),
                        "spec": one,
                        "status": {
                            "phase": "Running",
                            "podIP": "10.0.0.6",
                            "containerStatuses": [{
                                "name": "app", "ready": false, "restartCount": 5,
                                "state": {
                                    "waiting": { "reason": "CrashLoopBackOff", "message": "back-off 5m" },
                                },
                                "lastState": { "terminated": {
                                    "exitCode": 1, "reason": "Error", "finishedAt": ago(200),
                                } },
                            }],
                        },
                    }),
                    json!([
                        "web-2",
                        "0/1",
                        "CrashLoopBackOff",
                        "5 (3m20s ago)",
                        "5m",
                        "10.0.0.6",
                        "node-1",
                        "<none>",
                        "<none>"
                    ]),
                ),
                (
                    "out of memory",
                    json!({
                        "metadata": meta("oom"),
                        "spec": one,
                        "status": { "phase": "Running", "containerStatuses": [{
                            "name": "app", "restartCount": 1,
                            "state": { "terminated": { "exitCode": 137, "reason": "OOMKilled" } },
                        }] },
                    }),
                    json!(["oom", "0/1", "OOMKilled", "1", "5m", "<none>", "node-1", "<none>", "<none>"]),
                ),
                (
                    "failed without a reason",
                    json!({
                        "metadata": meta("exit"),
                        "status": { "phase": "Failed", "containerStatuses": [
                            { "name": "app", "state": { "terminated": { "exitCode": 3 } } },
                        ] },
                    }),
                    json!(["exit", "0/0", "ExitCode:3", "0", "5m", "<none>", "<none>", "<none>", "<none>"]),
                ),
                (
                    "pulling",
                    json!({
                        "metadata": meta("pull"),
                        "spec": { "containers": [{ "name": "a" }, { "name": "b" }] },
                        "status": { "phase": "Pending", "containerStatuses": [
                            { "name": "a", "state": { "waiting": { "reason": "ImagePullBackOff" } } },
                            { "name": "b", "state": { "waiting": { "reason": "ContainerCreating" } } },
                        ] },
                    }),
                    // Statuses are read last to first, so the first container's reason wins.
                    json!([
                        "pull",
                        "0/2",
                        "ImagePullBackOff",
                        "0",
                        "5m",
                        "<none>",
                        "<none>",
                        "<none>",
                        "<none>"
                    ]),
                ),
            ],
        );
    }

    #[test]
    fn pod_rows_initializing() {
        let two_inits = two_init_containers_spec();
        check_rows(
            "pods",
            &[
                (
                    "first init container running",
                    json!({
                        "metadata": meta("init-1"),
                        "spec": two_inits,
                        "status": {
                            "phase": "Pending",
                            "initContainerStatuses": [
                                { "name": "migrate", "state": { "running": {} } },
                                { "name": "seed", "state": { "waiting": { "reason": "PodInitializing" } } },
                            ],
                            "containerStatuses": [
                                { "name": "app", "state": { "waiting": { "reason": "PodInitializing" } } },
                            ],
                        },
                    }),
                    json!(["init-1", "0/1", "Init:0/2", "0", "5m", "<none>", "<none>", "<none>", "<none>"]),
                ),
                (
                    "second init container waiting on PodInitializing counts as its index",
                    json!({
                        "metadata": meta("init-2"),
                        "spec": two_inits,
                        "status": {
                            "phase": "Pending",
                            "initContainerStatuses": [
                                {
                                    "name": "migrate",
                                    "state": { "terminated": { "exitCode": 0, "reason": "Completed" } },
                                },
                                { "name": "seed", "state": { "waiting": { "reason": "PodInitializing" } } },
                            ],
                        },
                    }),
                    json!(["init-2", "0/1", "Init:1/2", "0", "5m", "<none>", "<none>", "<none>", "<none>"]),
                ),
                (
                    "init container crash looping",
                    json!({
                        "metadata": meta("init-4"),
                        "spec": two_inits,
                        "status": { "initContainerStatuses": [{
                            "name": "migrate", "state": { "waiting": { "reason": "CrashLoopBackOff" } },
                        }] },
                    }),
                    json!([
                        "init-4",
                        "0/1",
                        "Init:CrashLoopBackOff",
                        "0",
                        "5m",
                        "<none>",
                        "<none>",
                        "<none>",
                        "<none>"
                    ]),
                ),
            ],
        );
    }

    #[test]
    fn pod_rows_init_failures() {
        let two_inits = two_init_containers_spec();
        check_rows(
            "pods",
            &[
                (
                    "init container failed",
                    json!({
                        "metadata": meta("init-3"),
                        "spec": two_inits,
                        "status": {
                            "phase": "Pending",
                            "initContainerStatuses": [{
                                "name": "migrate", "restartCount": 3,
                                "state": { "terminated": { "exitCode": 2, "reason": "Error" } },
                                "lastState": { "terminated": { "exitCode": 2, "finishedAt": ago(30) } },
                            }],
                        },
                    }),
                    json!([
                        "init-3",
                        "0/1",
                        "Init:Error",
                        "3 (30s ago)",
                        "5m",
                        "<none>",
                        "<none>",
                        "<none>",
                        "<none>"
                    ]),
                ),
                (
                    "init container killed without a reason",
                    json!({
                        "metadata": meta("init-5"),
                        "spec": two_inits,
                        "status": { "initContainerStatuses": [
                            {
                                "name": "migrate",
                                "state": { "terminated": { "exitCode": 137, "signal": 9 } },
                            },
                        ] },
                    }),
                    json!([
                        "init-5",
                        "0/1",
                        "Init:Signal:9",
                        "0",
                        "5m",
                        "<none>",
                        "<none>",
                        "<none>",
                        "<none>"
                    ]),
                ),
            ],
        );
    }

    #[test]
    fn pod_rows_terminating() {
        let one = single_container_spec();
        check_rows(
            "pods",
            &[
                (
                    "terminating",
                    json!({
                        "metadata": {
                            "name": "old",
                            "creationTimestamp": ago(7200),
                            "deletionTimestamp": ago(-30),
                        },
                        "spec": one,
                        "status": { "phase": "Running", "containerStatuses": [running_container("app", 0)] },
                    }),
                    json!(["old", "1/1", "Terminating", "0", "120m", "<none>", "node-1", "<none>", "<none>"]),
                ),
                (
                    "deleted while its node is lost",
                    json!({
                        "metadata": {
                            "name": "lost",
                            "creationTimestamp": ago(60),
                            "deletionTimestamp": ago(0),
                        },
                        "status": { "phase": "Running", "reason": "NodeLost" },
                    }),
                    json!(["lost", "0/0", "Unknown", "0", "60s", "<none>", "<none>", "<none>", "<none>"]),
                ),
                (
                    "deleted after it succeeded",
                    json!({
                        "metadata": {
                            "name": "done",
                            "creationTimestamp": ago(60),
                            "deletionTimestamp": ago(0),
                        },
                        "spec": one,
                        "status": { "phase": "Succeeded", "containerStatuses": [{
                            "name": "app", "state": {
                                "terminated": { "exitCode": 0, "reason": "Completed" },
                            },
                        }] },
                    }),
                    json!(["done", "0/1", "Completed", "0", "60s", "<none>", "node-1", "<none>", "<none>"]),
                ),
            ],
        );
    }

    #[test]
    fn pod_rows_sidecars_and_wide_cells() {
        check_rows(
            "pods",
            &[
                (
                    "sidecar counts as a container and keeps the pod running",
                    json!({
                        "metadata": meta("sidecar"),
                        "spec": {
                            "initContainers": [{ "name": "proxy", "restartPolicy": "Always" }],
                            "containers": [{ "name": "app" }],
                        },
                        "status": {
                            "phase": "Running",
                            "conditions": [
                                { "type": "Initialized", "status": "True" },
                                { "type": "Ready", "status": "False" },
                            ],
                            "initContainerStatuses": [{
                                "name": "proxy", "started": true, "ready": true, "restartCount": 1,
                                "state": { "running": {} },
                                "lastState": { "terminated": { "exitCode": 1, "finishedAt": ago(90) } },
                            }],
                            "containerStatuses": [{
                                "name": "app", "ready": false, "restartCount": 0,
                                "state": { "terminated": { "exitCode": 0, "reason": "Completed" } },
                            }],
                        },
                    }),
                    json!([
                        "sidecar",
                        "1/2",
                        "Completed",
                        "1 (90s ago)",
                        "5m",
                        "<none>",
                        "<none>",
                        "<none>",
                        "<none>"
                    ]),
                ),
                (
                    "completed container next to a running one",
                    json!({
                        "metadata": meta("mixed"),
                        "spec": { "containers": [{ "name": "a" }, { "name": "b" }] },
                        "status": {
                            "phase": "Running",
                            "conditions": [{ "type": "Ready", "status": "False" }],
                            "containerStatuses": [
                                {
                                    "name": "a",
                                    "state": { "terminated": { "exitCode": 0, "reason": "Completed" } },
                                },
                                running_container("b", 0),
                            ],
                        },
                    }),
                    json!(["mixed", "1/2", "NotReady", "0", "5m", "<none>", "<none>", "<none>", "<none>"]),
                ),
                (
                    "wide cells: nominated node and readiness gates",
                    json!({
                        "metadata": meta("gates"),
                        "spec": {
                            "containers": [{ "name": "app" }],
                            "readinessGates": [
                                { "conditionType": "example.com/lb" },
                                { "conditionType": "example.com/dns" },
                            ],
                        },
                        "status": {
                            "phase": "Pending",
                            "nominatedNodeName": "node-2",
                            "conditions": [
                                { "type": "example.com/lb", "status": "True" },
                                { "type": "example.com/dns", "status": "False" },
                            ],
                        },
                    }),
                    json!(["gates", "0/1", "Pending", "0", "5m", "<none>", "<none>", "node-2", "1/2"]),
                ),
            ],
        );
    }

    #[test]
    fn replicaset_and_daemonset_rows() {
        let template = json!({ "spec": { "containers": [{ "name": "web", "image": "web:1" }] } });
        check_rows(
            "replicasets",
            &[(
                "owned by a deployment",
                json!({
                    "metadata": meta("web-7d9f"),
                    "spec": { "replicas": 2, "template": template, "selector": { "matchLabels": {
                        "app": "web", "pod-template-hash": "7d9f",
                    } } },
                    "status": { "replicas": 2, "readyReplicas": 1 },
                }),
                json!(["web-7d9f", 2, 2, 1, "5m", "web", "web:1", "app=web,pod-template-hash=7d9f"]),
            )],
        );
        check_rows(
            "daemonsets",
            &[
                (
                    "with a node selector",
                    json!({
                        "metadata": meta("agent"),
                        "spec": {
                            "selector": { "matchLabels": { "app": "agent" } },
                            "template": { "spec": {
                                "nodeSelector": { "kubernetes.io/os": "linux", "disk": "ssd" },
                                "containers": [{ "name": "agent", "image": "agent:3" }],
                            } },
                        },
                        "status": {
                            "desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
                            "updatedNumberScheduled": 3, "numberAvailable": 2,
                        },
                    }),
                    json!([
                        "agent",
                        3,
                        3,
                        2,
                        3,
                        2,
                        "disk=ssd,kubernetes.io/os=linux",
                        "5m",
                        "agent",
                        "agent:3",
                        "app=agent"
                    ]),
                ),
                (
                    "empty",
                    json!({ "metadata": meta("none") }),
                    json!(["none", 0, 0, 0, 0, 0, "<none>", "5m", "", "", "<none>"]),
                ),
            ],
        );
    }

    #[test]
    fn job_rows() {
        let spec = json!({
            "completions": 1,
            "selector": { "matchLabels": { "batch.kubernetes.io/controller-uid": "1f0e" } },
            "template": { "spec": { "containers": [{ "name": "pi", "image": "pi:1" }] } },
        });
        let selector = "batch.kubernetes.io/controller-uid=1f0e";
        check_rows(
            "jobs",
            &[
                (
                    "completed",
                    json!({
                        "metadata": { "name": "pi", "creationTimestamp": ago(600) },
                        "spec": spec,
                        "status": {
                            "succeeded": 1, "startTime": ago(600), "completionTime": ago(555),
                            "conditions": [
                                { "type": "SuccessCriteriaMet", "status": "True" },
                                { "type": "Complete", "status": "True" },
                            ],
                        },
                    }),
                    json!(["pi", "Complete", "1/1", "45s", "10m", "pi", "pi:1", selector]),
                ),
                (
                    "running",
                    json!({
                        "metadata": meta("run"),
                        "spec": spec,
                        "status": { "active": 1, "startTime": ago(200) },
                    }),
                    json!(["run", "Running", "0/1", "3m20s", "5m", "pi", "pi:1", selector]),
                ),
                (
                    "failed",
                    json!({
                        "metadata": meta("fail"), "spec": spec,
                        "status": { "startTime": ago(100), "conditions": [
                            { "type": "FailureTarget", "status": "True" },
                            { "type": "Failed", "status": "True" },
                        ] },
                    }),
                    json!(["fail", "Failed", "0/1", "100s", "5m", "pi", "pi:1", selector]),
                ),
                (
                    "suspended, never started",
                    json!({
                        "metadata": meta("later"), "spec": spec,
                        "status": { "conditions": [{ "type": "Suspended", "status": "True" }] },
                    }),
                    json!(["later", "Suspended", "0/1", "", "5m", "pi", "pi:1", selector]),
                ),
                (
                    "terminating",
                    json!({
                        "metadata": {
                            "name": "bye",
                            "creationTimestamp": ago(300),
                            "deletionTimestamp": ago(0),
                        },
                        "spec": spec,
                        "status": { "conditions": [{ "type": "Suspended", "status": "True" }] },
                    }),
                    json!(["bye", "Terminating", "0/1", "", "5m", "pi", "pi:1", selector]),
                ),
                (
                    "work queue with parallelism",
                    json!({
                        "metadata": meta("queue"),
                        "spec": { "parallelism": 4 },
                        "status": { "succeeded": 2 },
                    }),
                    json!(["queue", "Running", "2/1 of 4", "", "5m", "", "", "<none>"]),
                ),
                (
                    "condition that is no longer true",
                    json!({
                        "metadata": meta("resumed"), "spec": { "completions": 3 },
                        "status": { "conditions": [{ "type": "Suspended", "status": "False" }] },
                    }),
                    json!(["resumed", "Running", "0/3", "", "5m", "", "", "<none>"]),
                ),
            ],
        );
    }
}
