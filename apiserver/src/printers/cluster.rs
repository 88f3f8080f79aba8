//! Printers of the cluster kinds: namespaces, nodes, events, leases, priority classes and pod disruption
//! budgets.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::Value;

use super::fields::{age, created, field, flag, int, list, name, non_empty, text, timestamp};
use super::{AGE, Column, NAME, column, wide};

pub(super) const NAMESPACE_COLUMNS: &[Column] =
    &[NAME, column("Status", "string", "The status of the namespace"), AGE];

pub(super) fn namespace_cells(namespace: &Value, now: Timestamp) -> Vec<Value> {
    // status.phase defaults to Active on create.
    let phase = non_empty(text(namespace, "/status/phase")).unwrap_or("Active");
    vec![name(namespace).into(), phase.into(), created(namespace, now).into()]
}

pub(super) const NODE_COLUMNS: &[Column] = &[
    NAME,
    column("Status", "string", "The status of the node"),
    column("Roles", "string", "The roles of the node"),
    AGE,
    column("Version", "string", doc::NODE_KUBELET_VERSION),
    wide("Internal-IP", "string", doc::NODE_ADDRESSES),
    wide("External-IP", "string", doc::NODE_ADDRESSES),
    wide("OS-Image", "string", doc::NODE_OS_IMAGE),
    wide("Kernel-Version", "string", doc::NODE_KERNEL_VERSION),
    wide("Container-Runtime", "string", doc::NODE_CONTAINER_RUNTIME),
];

pub(super) fn node_cells(node: &Value, now: Timestamp) -> Vec<Value> {
    // Only the Ready condition counts; a repeated condition type keeps its last entry.
    let ready = list(node, "/status/conditions").iter().rev().find(|c| text(c, "/type") == "Ready");
    let mut status = match ready {
        Some(condition) if text(condition, "/status") == "True" => "Ready".to_owned(),
        Some(_) => "NotReady".to_owned(),
        None => "Unknown".to_owned(),
    };
    if flag(node, "/spec/unschedulable") {
        status.push_str(",SchedulingDisabled");
    }
    let roles: BTreeSet<&str> = field(node, "/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| match key.strip_prefix("node-role.kubernetes.io/") {
            Some(role) => non_empty(role),
            None if key == "kubernetes.io/role" => value.as_str().and_then(non_empty),
            None => None,
        })
        .collect();
    let roles =
        if roles.is_empty() { "<none>".to_owned() } else { roles.into_iter().collect::<Vec<_>>().join(",") };
    let address = |kind: &str| {
        list(node, "/status/addresses")
            .iter()
            .find(|a| text(a, "/type") == kind)
            .map_or("<none>", |a| text(a, "/address"))
    };
    let info = |key: &str| non_empty(text(node, &format!("/status/nodeInfo/{key}"))).unwrap_or("<unknown>");
    vec![
        name(node).into(),
        status.into(),
        roles.into(),
        created(node, now).into(),
        text(node, "/status/nodeInfo/kubeletVersion").into(),
        address("InternalIP").into(),
        address("ExternalIP").into(),
        info("osImage").into(),
        info("kernelVersion").into(),
        info("containerRuntimeVersion").into(),
    ]
}

pub(super) const EVENT_COLUMNS: &[Column] = &[
    column("Last Seen", "string", doc::EVENT_LAST_TIMESTAMP),
    column("Type", "string", doc::EVENT_TYPE),
    column("Reason", "string", doc::EVENT_REASON),
    column("Object", "string", doc::EVENT_INVOLVED_OBJECT),
    wide("Subobject", "string", doc::EVENT_FIELD_PATH),
    wide("Source", "string", doc::EVENT_SOURCE),
    column("Message", "string", doc::EVENT_MESSAGE),
    wide("First Seen", "string", doc::EVENT_FIRST_TIMESTAMP),
    wide("Count", "string", doc::EVENT_COUNT),
    Column { priority: 1, ..NAME },
];

pub(super) fn event_cells(event: &Value, now: Timestamp) -> Vec<Value> {
    // events.k8s.io/v1 names the core/v1 fields differently; both convert to the same internal Event.
    let events_api = text(event, "/apiVersion").starts_with("events.k8s.io/");
    let pick = |core: &'static str, events: &'static str| if events_api { events } else { core };
    let first_seen = match timestamp(event, pick("/firstTimestamp", "/deprecatedFirstTimestamp")) {
        Some(first) => age(Some(first), now),
        None => age(timestamp(event, "/eventTime"), now),
    };
    let mut last_seen = match timestamp(event, pick("/lastTimestamp", "/deprecatedLastTimestamp")) {
        Some(last) => age(Some(last), now),
        None => first_seen.clone(),
    };
    let mut count = int(event, pick("/count", "/deprecatedCount"));
    if let Some(series) = field(event, "/series") {
        last_seen = age(timestamp(series, "/lastObservedTime"), now);
        count = int(series, "/count");
    } else if count == 0 {
        // Singleton events leave count unset in the events.k8s.io API.
        count = 1;
    }
    let regarding = field(event, pick("/involvedObject", "/regarding")).unwrap_or(&Value::Null);
    let kind = text(regarding, "/kind").to_lowercase();
    let object = match text(regarding, "/name") {
        "" => kind,
        object_name => format!("{kind}/{object_name}"),
    };
    let source = pick("/source", "/deprecatedSource");
    let component = non_empty(text(event, &format!("{source}/component")))
        .unwrap_or_else(|| text(event, pick("/reportingComponent", "/reportingController")));
    let host = non_empty(text(event, &format!("{source}/host")))
        .unwrap_or_else(|| text(event, "/reportingInstance"));
    let source = if host.is_empty() { component.to_owned() } else { format!("{component}, {host}") };
    vec![
        last_seen.into(),
        text(event, "/type").into(),
        text(event, "/reason").into(),
        object.into(),
        text(regarding, "/fieldPath").into(),
        source.into(),
        text(event, pick("/message", "/note")).trim().into(),
        first_seen.into(),
        count.into(),
        name(event).into(),
    ]
}

pub(super) const LEASE_COLUMNS: &[Column] = &[NAME, column("Holder", "string", doc::LEASE_HOLDER), AGE];

pub(super) fn lease_cells(lease: &Value, now: Timestamp) -> Vec<Value> {
    vec![name(lease).into(), text(lease, "/spec/holderIdentity").into(), created(lease, now).into()]
}

pub(super) const PRIORITYCLASS_COLUMNS: &[Column] = &[
    NAME,
    column("Value", "integer", doc::PRIORITYCLASS_VALUE),
    column("Global-Default", "boolean", doc::PRIORITYCLASS_GLOBAL_DEFAULT),
    AGE,
    column("PreemptionPolicy", "string", doc::PRIORITYCLASS_PREEMPTION),
];

pub(super) fn priorityclass_cells(class: &Value, now: Timestamp) -> Vec<Value> {
    // preemptionPolicy defaults to PreemptLowerPriority on create.
    let preemption = non_empty(text(class, "/preemptionPolicy")).unwrap_or("PreemptLowerPriority");
    vec![
        name(class).into(),
        int(class, "/value").into(),
        flag(class, "/globalDefault").into(),
        created(class, now).into(),
        preemption.into(),
    ]
}

pub(super) const PODDISRUPTIONBUDGET_COLUMNS: &[Column] = &[
    NAME,
    column("Min Available", "string", "The minimum number of pods that must be available."),
    column("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
    column("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
    AGE,
];

pub(super) fn poddisruptionbudget_cells(budget: &Value, now: Timestamp) -> Vec<Value> {
    let int_or_string = |pointer: &str| match field(budget, pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(number @ Value::Number(_)) => int(number, "").to_string(),
        _ => "N/A".to_owned(),
    };
    vec![
        name(budget).into(),
        int_or_string("/spec/minAvailable").into(),
        int_or_string("/spec/maxUnavailable").into(),
        int(budget, "/status/disruptionsAllowed").into(),
        created(budget, now).into(),
    ]
}

/// Column descriptions: the Kubernetes API documentation strings (`SwaggerDoc()`) that printers.go uses.
mod doc {
    pub(super) const NODE_KUBELET_VERSION: &str = "Kubelet Version reported by the node.";
    pub(super) const NODE_ADDRESSES: &str = concat!(
        "List of addresses reachable to the node. Queried from cloud provider, if available. More info: ",
        "https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as ",
        "mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it ",
        "is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for ",
        "an example. Consumers should assume that addresses can change during the lifetime of a Node. ",
        "However, there are some exceptions where this may not be possible, such as Pods that inherit a ",
        "Node's address in its own status or consumers of the downward API (status.hostIP).",
    );
    pub(super) const NODE_OS_IMAGE: &str =
        "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).";
    pub(super) const NODE_KERNEL_VERSION: &str =
        "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).";
    pub(super) const NODE_CONTAINER_RUNTIME: &str = concat!(
        "ContainerRuntime Version reported by the node through runtime remote API (e.g. ",
        "containerd://1.4.2).",
    );
    pub(super) const EVENT_LAST_TIMESTAMP: &str =
        "The time at which the most recent occurrence of this event was recorded.";
    pub(super) const EVENT_TYPE: &str =
        "Type of this event (Normal, Warning), new types could be added in the future";
    pub(super) const EVENT_REASON: &str = concat!(
        "This should be a short, machine understandable string that gives the reason for the transition ",
        "into the object's current status.",
    );
    pub(super) const EVENT_INVOLVED_OBJECT: &str = "The object that this event is about.";
    pub(super) const EVENT_FIELD_PATH: &str = concat!(
        "If referring to a piece of an object instead of an entire object, this string should contain a ",
        "valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, ",
        "if the object reference is to a container within a pod, this would take on a value like: ",
        "\"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the ",
        "event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in ",
        "this pod). This syntax is chosen only to have some well-defined way of referencing a part of an ",
        "object.",
    );
    pub(super) const EVENT_SOURCE: &str =
        "The component reporting this event. Should be a short machine understandable string.";
    pub(super) const EVENT_MESSAGE: &str = "A human-readable description of the status of this operation.";
    pub(super) const EVENT_FIRST_TIMESTAMP: &str =
        "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)";
    pub(super) const EVENT_COUNT: &str = "The number of times this event has occurred.";
    pub(super) const LEASE_HOLDER: &str = concat!(
        "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader ",
        "Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name ",
        "field.",
    );
    pub(super) const PRIORITYCLASS_VALUE: &str = concat!(
        "value represents the integer value of this priority class. This is the actual priority that pods ",
        "receive when they have the name of this class in their pod spec.",
    );
    pub(super) const PRIORITYCLASS_GLOBAL_DEFAULT: &str = concat!(
        "globalDefault specifies whether this PriorityClass should be considered as the default priority ",
        "for pods that do not have any priority class. Only one PriorityClass can be marked as ",
        "`globalDefault`. However, if more than one PriorityClasses exists with their `globalDefault` ",
        "field set to true, the smallest value of such global default PriorityClasses will be used as the ",
        "default priority.",
    );
    pub(super) const PRIORITYCLASS_PREEMPTION: &str = concat!(
        "preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, ",
        "PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.",
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::printers::tests::{ago, check_headers, check_rows, meta, names};

    #[test]
    fn headers_match_kubectl() {
        check_headers(&[
            ("namespaces", &["Name", "Status", "Age"], &[]),
            (
                "nodes",
                &["Name", "Status", "Roles", "Age", "Version"],
                &["Internal-IP", "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"],
            ),
            (
                "events",
                &["Last Seen", "Type", "Reason", "Object", "Message"],
                &["Subobject", "Source", "First Seen", "Count", "Name"],
            ),
            ("leases", &["Name", "Holder", "Age"], &[]),
            ("priorityclasses", &["Name", "Value", "Global-Default", "Age", "PreemptionPolicy"], &[]),
            (
                "poddisruptionbudgets",
                &["Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"],
                &[],
            ),
        ]);
        // Events interleave wide and default columns.
        assert_eq!(
            names("events"),
            [
                "Last Seen",
                "Type",
                "Reason",
                "Object",
                "Subobject",
                "Source",
                "Message",
                "First Seen",
                "Count",
                "Name"
            ]
        );
    }

    #[test]
    fn namespace_rows() {
        check_rows(
            "namespaces",
            &[
                (
                    "active",
                    json!({ "metadata": meta("demo"), "status": { "phase": "Active" } }),
                    json!(["demo", "Active", "5m"]),
                ),
                (
                    "terminating",
                    json!({ "metadata": meta("gone"), "status": { "phase": "Terminating" } }),
                    json!(["gone", "Terminating", "5m"]),
                ),
                (
                    "phase defaults to Active",
                    json!({ "metadata": meta("new") }),
                    json!(["new", "Active", "5m"]),
                ),
            ],
        );
    }

    #[test]
    fn node_rows() {
        let info = json!({
            "kubeletVersion": "v1.37.0-wharf", "osImage": "Debian GNU/Linux 13", "kernelVersion": "6.12.0",
            "containerRuntimeVersion": "wasmtime://48.0.0",
        });
        check_rows(
            "nodes",
            &[
                (
                    "ready control plane",
                    json!({
                        "metadata": {
                            "name": "node-1",
                            "creationTimestamp": ago(2 * 86400 + 3 * 3600),
                            "labels": {
                                "node-role.kubernetes.io/control-plane": "",
                                "node-role.kubernetes.io/worker": "",
                                "node-role.kubernetes.io/": "",
                                "kubernetes.io/hostname": "node-1",
                            },
                        },
                        "status": {
                            "conditions": [
                                { "type": "MemoryPressure", "status": "False" },
                                { "type": "Ready", "status": "True" },
                            ],
                            "addresses": [
                                { "type": "Hostname", "address": "node-1" },
                                { "type": "InternalIP", "address": "192.168.1.10" },
                            ],
                            "nodeInfo": info,
                        },
                    }),
                    json!([
                        "node-1",
                        "Ready",
                        "control-plane,worker",
                        "2d3h",
                        "v1.37.0-wharf",
                        "192.168.1.10",
                        "<none>",
                        "Debian GNU/Linux 13",
                        "6.12.0",
                        "wasmtime://48.0.0",
                    ]),
                ),
                (
                    "not ready and cordoned, legacy role label",
                    json!({
                        "metadata": {
                            "name": "node-2",
                            "creationTimestamp": ago(300),
                            "labels": { "kubernetes.io/role": "edge" },
                        },
                        "spec": { "unschedulable": true },
                        "status": {
                            "conditions": [{ "type": "Ready", "status": "False" }],
                            "addresses": [{ "type": "ExternalIP", "address": "203.0.113.7" }],
                        },
                    }),
                    json!([
                        "node-2",
                        "NotReady,SchedulingDisabled",
                        "edge",
                        "5m",
                        "",
                        "<none>",
                        "203.0.113.7",
                        "<unknown>",
                        "<unknown>",
                        "<unknown>",
                    ]),
                ),
            ],
        );
    }

    #[test]
    fn node_rows_without_a_ready_condition() {
        check_rows(
            "nodes",
            &[
                (
                    "never reported",
                    json!({
                        "metadata": meta("node-3"),
                        "status": { "conditions": [{ "type": "Ready", "status": "Unknown" }] },
                    }),
                    json!([
                        "node-3",
                        "NotReady",
                        "<none>",
                        "5m",
                        "",
                        "<none>",
                        "<none>",
                        "<unknown>",
                        "<unknown>",
                        "<unknown>"
                    ]),
                ),
                (
                    "no conditions",
                    json!({ "metadata": meta("node-4"), "spec": { "unschedulable": true } }),
                    json!([
                        "node-4",
                        "Unknown,SchedulingDisabled",
                        "<none>",
                        "5m",
                        "",
                        "<none>",
                        "<none>",
                        "<unknown>",
                        "<unknown>",
                        "<unknown>",
                    ]),
                ),
            ],
        );
    }

    #[test]
    fn event_rows() {
        check_rows(
            "events",
            &[
                (
                    "core event repeated",
                    json!({
                        "apiVersion": "v1",
                        "metadata": { "name": "web-1.17a2b3c4d5e6f708", "namespace": "demo" },
                        "involvedObject": {
                            "kind": "Pod",
                            "name": "web-1",
                            "fieldPath": "spec.containers{app}",
                        },
                        "reason": "BackOff", "type": "Warning",
                        "message": "Back-off restarting failed container app\n",
                        "source": { "component": "kubelet", "host": "node-1" },
                        "firstTimestamp": ago(600), "lastTimestamp": ago(20), "count": 7,
                    }),
                    json!([
                        "20s",
                        "Warning",
                        "BackOff",
                        "pod/web-1",
                        "spec.containers{app}",
                        "kubelet, node-1",
                        "Back-off restarting failed container app",
                        "10m",
                        7,
                        "web-1.17a2b3c4d5e6f708",
                    ]),
                ),
                (
                    "core event from a controller, no last timestamp, no count",
                    json!({
                        "metadata": { "name": "web.1" },
                        "involvedObject": { "kind": "Deployment", "name": "web" },
                        "reason": "ScalingReplicaSet",
                        "type": "Normal",
                        "message": "Scaled up replica set web-7d9f to 2",
                        "reportingComponent": "deployment-controller",
                        "eventTime": "2026-01-10T11:58:59.500000Z",
                    }),
                    json!([
                        "60s",
                        "Normal",
                        "ScalingReplicaSet",
                        "deployment/web",
                        "",
                        "deployment-controller",
                        "Scaled up replica set web-7d9f to 2",
                        "60s",
                        1,
                        "web.1",
                    ]),
                ),
                (
                    "series",
                    json!({
                        "metadata": { "name": "node.1" },
                        "involvedObject": { "kind": "Node" },
                        "reason": "Rebooted", "type": "Warning",
                        "firstTimestamp": ago(7200), "lastTimestamp": ago(3600), "count": 2,
                        "series": { "count": 5, "lastObservedTime": "2026-01-10T11:58:00.000000Z" },
                        "reportingInstance": "node-9",
                    }),
                    json!(["2m", "Warning", "Rebooted", "node", "", ", node-9", "", "120m", 5, "node.1"]),
                ),
                (
                    "events.k8s.io shape",
                    json!({
                        "apiVersion": "events.k8s.io/v1",
                        "metadata": { "name": "job.2" },
                        "regarding": { "kind": "Job", "name": "pi" },
                        "reason": "Completed", "type": "Normal", "note": "Job completed",
                        "reportingController": "job-controller", "reportingInstance": "cm-1",
                        "eventTime": "2026-01-10T11:55:00.000000Z",
                    }),
                    json!([
                        "5m",
                        "Normal",
                        "Completed",
                        "job/pi",
                        "",
                        "job-controller, cm-1",
                        "Job completed",
                        "5m",
                        1,
                        "job.2"
                    ]),
                ),
                (
                    "nothing set",
                    json!({ "metadata": { "name": "bare" } }),
                    json!(["<unknown>", "", "", "", "", "", "", "<unknown>", 1, "bare"]),
                ),
            ],
        );
    }

    #[test]
    fn lease_priorityclass_and_budget_rows() {
        check_rows(
            "leases",
            &[
                (
                    "held",
                    json!({
                        "metadata": meta("kube-scheduler"),
                        "spec": { "holderIdentity": "wharf-1_3f2a" },
                    }),
                    json!(["kube-scheduler", "wharf-1_3f2a", "5m"]),
                ),
                ("free", json!({ "metadata": meta("node-1") }), json!(["node-1", "", "5m"])),
            ],
        );
        check_rows(
            "priorityclasses",
            &[
                (
                    "system class",
                    json!({
                        "metadata": meta("system-node-critical"),
                        "value": 2_000_001_000,
                        "globalDefault": false,
                        "preemptionPolicy": "Never",
                    }),
                    json!(["system-node-critical", 2_000_001_000, false, "5m", "Never"]),
                ),
                (
                    "defaults",
                    json!({ "metadata": meta("high"), "value": 1000, "globalDefault": true }),
                    json!(["high", 1000, true, "5m", "PreemptLowerPriority"]),
                ),
            ],
        );
        check_rows(
            "poddisruptionbudgets",
            &[
                (
                    "min available as a number",
                    json!({
                        "metadata": meta("web"),
                        "spec": { "minAvailable": 2 },
                        "status": { "disruptionsAllowed": 1 },
                    }),
                    json!(["web", "2", "N/A", 1, "5m"]),
                ),
                (
                    "max unavailable as a percentage",
                    json!({ "metadata": meta("db"), "spec": { "maxUnavailable": "25%" } }),
                    json!(["db", "N/A", "25%", 0, "5m"]),
                ),
            ],
        );
    }
}
