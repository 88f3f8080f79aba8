//! Server-side Table columns and cells: what `kubectl get` prints.
//!
//! kubectl asks for `application/json;as=Table;v=v1;g=meta.k8s.io` and prints the server's columns
//! verbatim, so every column name, type, priority and cell string here follows Kubernetes'
//! `pkg/printers/internalversion/printers.go`. The caller wraps [`columns`] and [`cells`] into the
//! `meta.k8s.io/v1` `Table` object.
//!
//! Conventions carried over from Kubernetes:
//! - The API server always renders the `-o wide` cells; kubectl hides the columns with `priority: 1`
//!   unless asked for them, so [`cells`] returns one cell per column in [`columns`].
//! - Cells are JSON strings, numbers or booleans, whatever the Go printer appends. A column's `type`
//!   does not always match its cells (Deployment's `Up-to-date` is declared `string` but holds numbers).
//! - Objects are read as stored JSON and may lack any field. Fields that Kubernetes defaults on create
//!   (`spec.replicas`, `spec.type`, a port's `protocol`...) are printed with their defaults when absent,
//!   which is what a Kubernetes server would print for the same manifest.
//! - A resource without a printer gets the API server's default table: `Name` and `Created At`
//!   (RFC 3339), as `kubectl get clusterroles` shows.

use std::borrow::Cow;
use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// One column definition of a Table (`meta.k8s.io/v1` `TableColumnDefinition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Header text; kubectl prints it upper-cased (`Up-to-date` → `UP-TO-DATE`).
    pub name: &'static str,
    /// The JSON `type`: `string`, `integer`, `boolean` or `date`.
    pub kind: &'static str,
    /// The JSON `format`: `name` for the column holding the object's name, otherwise empty.
    pub format: &'static str,
    /// The JSON `description`, taken from the Kubernetes API documentation.
    pub description: &'static str,
    /// 0 for default columns, 1 for those kubectl shows only with `-o wide`.
    pub priority: i32,
}

impl Column {
    /// The column as it appears in `columnDefinitions`.
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.kind,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

/// The columns of `resource` (the plural URL name: `pods`, `deployments`...).
#[must_use]
pub fn columns(resource: &str) -> &'static [Column] {
    printer(resource).columns
}

/// The cells of one row for `object`, one per entry of [`columns`]`(resource)`.
///
/// `now` is the instant ages are measured to.
#[must_use]
pub fn cells(resource: &str, object: &Value, now: Timestamp) -> Vec<Value> {
    (printer(resource).cells)(object, now)
}

/// The row `conditions` Kubernetes attaches: pods that have finished are marked `Completed`.
///
/// `None` means the row carries no `conditions` field.
#[must_use]
pub fn row_conditions(resource: &str, object: &Value) -> Option<Value> {
    if resource != "pods" {
        return None;
    }
    let (reason, message) = match text(object, "/status/phase") {
        "Succeeded" => ("Succeeded", "The pod has completed successfully."),
        "Failed" => ("Failed", "The pod failed."),
        _ => return None,
    };
    Some(json!([{ "type": "Completed", "status": "True", "reason": reason, "message": message }]))
}

/// Kubernetes' `duration.HumanDuration`: about two significant figures (`45s`, `3m20s`, `5h`, `2d3h`).
///
/// Up to a second of clock skew prints `0s`; more than that in the future prints `<invalid>`.
#[must_use]
pub fn human_duration(duration: SignedDuration) -> String {
    // Go's time.Duration is an i64 of nanoseconds and saturates; the arithmetic below is Go's.
    let saturated = if duration.is_negative() { i64::MIN } else { i64::MAX };
    let nanos = i64::try_from(duration.as_nanos()).unwrap_or(saturated);
    let seconds = nanos / 1_000_000_000;
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return match days % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        };
    }
    format!("{years}y")
}

/// A resource's column definitions and the function that fills one row of them.
struct Printer {
    columns: &'static [Column],
    cells: CellsFn,
}

/// Renders one object's row.
type CellsFn = fn(&Value, Timestamp) -> Vec<Value>;

fn printer(resource: &str) -> Printer {
    let (columns, cells): (&'static [Column], CellsFn) = match resource {
        "pods" => (POD_COLUMNS, pod_cells),
        "deployments" => (DEPLOYMENT_COLUMNS, deployment_cells),
        "replicasets" => (REPLICASET_COLUMNS, replicaset_cells),
        "statefulsets" => (STATEFULSET_COLUMNS, statefulset_cells),
        "daemonsets" => (DAEMONSET_COLUMNS, daemonset_cells),
        "jobs" => (JOB_COLUMNS, job_cells),
        "cronjobs" => (CRONJOB_COLUMNS, cronjob_cells),
        "services" => (SERVICE_COLUMNS, service_cells),
        "endpoints" => (ENDPOINTS_COLUMNS, endpoints_cells),
        "endpointslices" => (ENDPOINTSLICE_COLUMNS, endpointslice_cells),
        "configmaps" => (CONFIGMAP_COLUMNS, configmap_cells),
        "secrets" => (SECRET_COLUMNS, secret_cells),
        "serviceaccounts" => (SERVICEACCOUNT_COLUMNS, serviceaccount_cells),
        "namespaces" => (NAMESPACE_COLUMNS, namespace_cells),
        "nodes" => (NODE_COLUMNS, node_cells),
        "events" => (EVENT_COLUMNS, event_cells),
        "networkpolicies" => (NETWORKPOLICY_COLUMNS, networkpolicy_cells),
        "leases" => (LEASE_COLUMNS, lease_cells),
        "priorityclasses" => (PRIORITYCLASS_COLUMNS, priorityclass_cells),
        "poddisruptionbudgets" => (PODDISRUPTIONBUDGET_COLUMNS, poddisruptionbudget_cells),
        "rolebindings" => (ROLEBINDING_COLUMNS, rolebinding_cells),
        "clusterrolebindings" => (CLUSTERROLEBINDING_COLUMNS, rolebinding_cells),
        _ => (DEFAULT_COLUMNS, default_cells),
    };
    Printer { columns, cells }
}

// ---------------------------------------------------------------------------------------------------
// Column definitions, in Kubernetes' order.

const fn column(name: &'static str, kind: &'static str, description: &'static str) -> Column {
    Column { name, kind, format: "", description, priority: 0 }
}

const fn wide(name: &'static str, kind: &'static str, description: &'static str) -> Column {
    Column { name, kind, format: "", description, priority: 1 }
}

const NAME: Column =
    Column { name: "Name", kind: "string", format: "name", description: doc::NAME, priority: 0 };
const AGE: Column = column("Age", "string", doc::CREATION_TIMESTAMP);
const CONTAINERS: Column = wide("Containers", "string", "Names of each container in the template.");
const IMAGES: Column = wide("Images", "string", "Images referenced by each container in the template.");

const DEFAULT_COLUMNS: &[Column] = &[NAME, column("Created At", "date", doc::CREATION_TIMESTAMP)];

const POD_COLUMNS: &[Column] = &[
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

const DEPLOYMENT_COLUMNS: &[Column] = &[
    NAME,
    column("Ready", "string", "Number of the pod with ready state"),
    column("Up-to-date", "string", doc::DEPLOYMENT_UPDATED),
    column("Available", "string", doc::DEPLOYMENT_AVAILABLE),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", "string", doc::DEPLOYMENT_SELECTOR),
];

const REPLICASET_COLUMNS: &[Column] = &[
    NAME,
    column("Desired", "integer", doc::REPLICASET_DESIRED),
    column("Current", "integer", doc::REPLICASET_CURRENT),
    column("Ready", "integer", doc::REPLICASET_READY),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", "string", doc::REPLICASET_SELECTOR),
];

const STATEFULSET_COLUMNS: &[Column] =
    &[NAME, column("Ready", "string", "Number of the pod with ready state"), AGE, CONTAINERS, IMAGES];

const DAEMONSET_COLUMNS: &[Column] = &[
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

const JOB_COLUMNS: &[Column] = &[
    NAME,
    column("Status", "string", "Status of the job."),
    column("Completions", "string", doc::JOB_SUCCEEDED),
    column("Duration", "string", "Time required to complete the job."),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", "string", doc::JOB_SELECTOR),
];

const CRONJOB_COLUMNS: &[Column] = &[
    NAME,
    column("Schedule", "string", doc::CRONJOB_SCHEDULE),
    column("Timezone", "string", doc::CRONJOB_TIME_ZONE),
    column("Suspend", "boolean", doc::CRONJOB_SUSPEND),
    column("Active", "integer", doc::CRONJOB_ACTIVE),
    column("Last Schedule", "string", doc::CRONJOB_LAST_SCHEDULE),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", "string", doc::JOB_SELECTOR),
];

const SERVICE_COLUMNS: &[Column] = &[
    NAME,
    column("Type", "string", doc::SERVICE_TYPE),
    column("Cluster-IP", "string", doc::SERVICE_CLUSTER_IP),
    column("External-IP", "string", doc::SERVICE_EXTERNAL_IPS),
    column("Port(s)", "string", doc::SERVICE_PORTS),
    AGE,
    wide("Selector", "string", doc::SERVICE_SELECTOR),
];

const ENDPOINTS_COLUMNS: &[Column] = &[NAME, column("Endpoints", "string", doc::ENDPOINTS_SUBSETS), AGE];

const ENDPOINTSLICE_COLUMNS: &[Column] = &[
    NAME,
    column("AddressType", "string", doc::ENDPOINTSLICE_ADDRESS_TYPE),
    column("Ports", "string", doc::ENDPOINTSLICE_PORTS),
    column("Endpoints", "string", doc::ENDPOINTSLICE_ENDPOINTS),
    AGE,
];

const CONFIGMAP_COLUMNS: &[Column] = &[NAME, column("Data", "string", doc::CONFIGMAP_DATA), AGE];

const SECRET_COLUMNS: &[Column] =
    &[NAME, column("Type", "string", doc::SECRET_TYPE), column("Data", "string", doc::SECRET_DATA), AGE];

const SERVICEACCOUNT_COLUMNS: &[Column] =
    &[NAME, column("Secrets", "string", doc::SERVICEACCOUNT_SECRETS), AGE];

const NAMESPACE_COLUMNS: &[Column] = &[NAME, column("Status", "string", "The status of the namespace"), AGE];

const NODE_COLUMNS: &[Column] = &[
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

const EVENT_COLUMNS: &[Column] = &[
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

const NETWORKPOLICY_COLUMNS: &[Column] =
    &[NAME, column("Pod-Selector", "string", doc::NETWORKPOLICY_POD_SELECTOR), AGE];

const LEASE_COLUMNS: &[Column] = &[NAME, column("Holder", "string", doc::LEASE_HOLDER), AGE];

const PRIORITYCLASS_COLUMNS: &[Column] = &[
    NAME,
    column("Value", "integer", doc::PRIORITYCLASS_VALUE),
    column("Global-Default", "boolean", doc::PRIORITYCLASS_GLOBAL_DEFAULT),
    AGE,
    column("PreemptionPolicy", "string", doc::PRIORITYCLASS_PREEMPTION),
];

const PODDISRUPTIONBUDGET_COLUMNS: &[Column] = &[
    NAME,
    column("Min Available", "string", "The minimum number of pods that must be available."),
    column("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
    column("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
    AGE,
];

const ROLEBINDING_COLUMNS: &[Column] = &[
    NAME,
    column("Role", "string", doc::ROLEBINDING_ROLE),
    AGE,
    wide("Users", "string", "Users in the roleBinding"),
    wide("Groups", "string", "Groups in the roleBinding"),
    wide("ServiceAccounts", "string", "ServiceAccounts in the roleBinding"),
];

const CLUSTERROLEBINDING_COLUMNS: &[Column] = &[
    NAME,
    column("Role", "string", doc::CLUSTERROLEBINDING_ROLE),
    AGE,
    wide("Users", "string", "Users in the clusterRoleBinding"),
    wide("Groups", "string", "Groups in the clusterRoleBinding"),
    wide("ServiceAccounts", "string", "ServiceAccounts in the clusterRoleBinding"),
];

// ---------------------------------------------------------------------------------------------------
// Row cells, one function per printer of printers.go.

fn default_cells(object: &Value, _now: Timestamp) -> Vec<Value> {
    // Go formats the zero time when creationTimestamp is unset.
    let created = timestamp(object, "/metadata/creationTimestamp")
        .map_or_else(|| "0001-01-01T00:00:00Z".to_owned(), |t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    vec![name(object).into(), created.into()]
}

fn pod_cells(pod: &Value, now: Timestamp) -> Vec<Value> {
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

fn deployment_cells(deployment: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = container_cells(deployment, "/spec/template/spec/containers");
    let selector = match selector_string(field(deployment, "/spec/selector")) {
        Ok(selector) => selector,
        Err(InvalidSelector) => "<invalid>".to_owned(),
    };
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

fn replicaset_cells(set: &Value, now: Timestamp) -> Vec<Value> {
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

fn statefulset_cells(set: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = container_cells(set, "/spec/template/spec/containers");
    vec![
        name(set).into(),
        format!("{}/{}", int(set, "/status/readyReplicas"), replicas(set)).into(),
        created(set, now).into(),
        names.into(),
        images.into(),
    ]
}

fn daemonset_cells(set: &Value, now: Timestamp) -> Vec<Value> {
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

fn job_cells(job: &Value, now: Timestamp) -> Vec<Value> {
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

fn cronjob_cells(cronjob: &Value, now: Timestamp) -> Vec<Value> {
    let last_schedule = match timestamp(cronjob, "/status/lastScheduleTime") {
        Some(last) => age(Some(last), now),
        // A lastScheduleTime that is present but the zero time still prints as an age.
        None if field(cronjob, "/status/lastScheduleTime").is_some() => age(None, now),
        None => "<none>".to_owned(),
    };
    let time_zone = field(cronjob, "/spec/timeZone").and_then(Value::as_str).unwrap_or("<none>");
    // spec.suspend defaults to false on create.
    let suspend = if flag(cronjob, "/spec/suspend") { "True" } else { "False" };
    let (names, images) = container_cells(cronjob, "/spec/jobTemplate/spec/template/spec/containers");
    vec![
        name(cronjob).into(),
        text(cronjob, "/spec/schedule").into(),
        time_zone.into(),
        suspend.into(),
        count(list(cronjob, "/status/active").len()).into(),
        last_schedule.into(),
        created(cronjob, now).into(),
        names.into(),
        images.into(),
        format_label_selector(field(cronjob, "/spec/jobTemplate/spec/selector")).into(),
    ]
}

fn service_cells(service: &Value, now: Timestamp) -> Vec<Value> {
    // spec.type defaults to ClusterIP and spec.clusterIPs to [spec.clusterIP] on create.
    let kind = non_empty(text(service, "/spec/type")).unwrap_or("ClusterIP");
    let cluster_ip = match list(service, "/spec/clusterIPs").first() {
        Some(first) => first.as_str().unwrap_or(""),
        None => non_empty(text(service, "/spec/clusterIP")).unwrap_or("<none>"),
    };
    let external_ips: Vec<&str> = strings(service, "/spec/externalIPs").collect();
    let external_ip = match kind {
        "ClusterIP" | "NodePort" if external_ips.is_empty() => "<none>".to_owned(),
        "ClusterIP" | "NodePort" => external_ips.join(","),
        "LoadBalancer" => {
            // The API server renders the wide form, so ingress addresses are not clipped.
            let ingress: BTreeSet<&str> = list(service, "/status/loadBalancer/ingress")
                .iter()
                .filter_map(|i| non_empty(text(i, "/ip")).or_else(|| non_empty(text(i, "/hostname"))))
                .collect();
            let all: Vec<&str> = ingress.into_iter().chain(external_ips).collect();
            if all.is_empty() { "<pending>".to_owned() } else { all.join(",") }
        }
        "ExternalName" => text(service, "/spec/externalName").to_owned(),
        _ => "<unknown>".to_owned(),
    };
    let ports: Vec<String> = list(service, "/spec/ports")
        .iter()
        .map(|port| {
            let protocol = non_empty(text(port, "/protocol")).unwrap_or("TCP");
            match int(port, "/nodePort") {
                node_port if node_port > 0 => format!("{}:{node_port}/{protocol}", int(port, "/port")),
                _ => format!("{}/{protocol}", int(port, "/port")),
            }
        })
        .collect();
    let ports = if ports.is_empty() { "<none>".to_owned() } else { ports.join(",") };
    vec![
        name(service).into(),
        kind.into(),
        cluster_ip.into(),
        external_ip.into(),
        ports.into(),
        created(service, now).into(),
        format_labels(field(service, "/spec/selector")).into(),
    ]
}

/// At most this many addresses or ports are listed before ` + N more...`.
const LIST_LIMIT: usize = 3;

fn endpoints_cells(endpoints: &Value, now: Timestamp) -> Vec<Value> {
    let subsets = list(endpoints, "/subsets");
    let formatted = if subsets.is_empty() {
        "<none>".to_owned()
    } else {
        let mut shown = Vec::new();
        let mut total = 0;
        for subset in subsets {
            let addresses: Vec<&str> = list(subset, "/addresses").iter().map(|a| text(a, "/ip")).collect();
            let ports = list(subset, "/ports");
            if ports.is_empty() {
                // Headless services may have no ports.
                total += addresses.len();
                shown.extend(addresses.iter().map(|ip| (*ip).to_owned()));
            } else {
                for port in ports {
                    total += addresses.len();
                    shown.extend(addresses.iter().map(|ip| join_host_port(ip, int(port, "/port"))));
                }
            }
        }
        let more = shown.len() > LIST_LIMIT;
        shown.truncate(LIST_LIMIT);
        let joined = shown.join(",");
        if more { format!("{joined} + {} more...", total - LIST_LIMIT) } else { joined }
    };
    vec![name(endpoints).into(), formatted.into(), created(endpoints, now).into()]
}

fn endpointslice_cells(slice: &Value, now: Timestamp) -> Vec<Value> {
    let ports = list(slice, "/ports").iter().map(|port| match field(port, "/port") {
        Some(number) => int(number, "").to_string(),
        None => field(port, "/name").and_then(Value::as_str).unwrap_or("*").to_owned(),
    });
    let addresses =
        list(slice, "/endpoints").iter().flat_map(|e| strings(e, "/addresses")).map(str::to_owned);
    vec![
        name(slice).into(),
        text(slice, "/addressType").into(),
        list_with_more(ports).into(),
        list_with_more(addresses).into(),
        created(slice, now).into(),
    ]
}

fn configmap_cells(configmap: &Value, now: Timestamp) -> Vec<Value> {
    let entries = map_len(configmap, "/data") + map_len(configmap, "/binaryData");
    vec![name(configmap).into(), count(entries).into(), created(configmap, now).into()]
}

fn secret_cells(secret: &Value, now: Timestamp) -> Vec<Value> {
    // type defaults to Opaque on create.
    let kind = non_empty(text(secret, "/type")).unwrap_or("Opaque");
    vec![
        name(secret).into(),
        kind.into(),
        count(map_len(secret, "/data")).into(),
        created(secret, now).into(),
    ]
}

fn serviceaccount_cells(account: &Value, now: Timestamp) -> Vec<Value> {
    vec![name(account).into(), count(list(account, "/secrets").len()).into(), created(account, now).into()]
}

fn namespace_cells(namespace: &Value, now: Timestamp) -> Vec<Value> {
    // status.phase defaults to Active on create.
    let phase = non_empty(text(namespace, "/status/phase")).unwrap_or("Active");
    vec![name(namespace).into(), phase.into(), created(namespace, now).into()]
}

fn node_cells(node: &Value, now: Timestamp) -> Vec<Value> {
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

fn event_cells(event: &Value, now: Timestamp) -> Vec<Value> {
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

fn networkpolicy_cells(policy: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(policy).into(),
        format_label_selector(field(policy, "/spec/podSelector")).into(),
        created(policy, now).into(),
    ]
}

fn lease_cells(lease: &Value, now: Timestamp) -> Vec<Value> {
    vec![name(lease).into(), text(lease, "/spec/holderIdentity").into(), created(lease, now).into()]
}

fn priorityclass_cells(class: &Value, now: Timestamp) -> Vec<Value> {
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

fn poddisruptionbudget_cells(budget: &Value, now: Timestamp) -> Vec<Value> {
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

fn rolebinding_cells(binding: &Value, now: Timestamp) -> Vec<Value> {
    let role = format!("{}/{}", text(binding, "/roleRef/kind"), text(binding, "/roleRef/name"));
    let (mut users, mut groups, mut accounts) = (Vec::new(), Vec::new(), Vec::new());
    for subject in list(binding, "/subjects") {
        match text(subject, "/kind") {
            "ServiceAccount" => {
                accounts.push(format!("{}/{}", text(subject, "/namespace"), text(subject, "/name")));
            }
            "User" => users.push(text(subject, "/name").to_owned()),
            "Group" => groups.push(text(subject, "/name").to_owned()),
            _ => {}
        }
    }
    vec![
        name(binding).into(),
        role.into(),
        created(binding, now).into(),
        users.join(", ").into(),
        groups.join(", ").into(),
        accounts.join(", ").into(),
    ]
}

// ---------------------------------------------------------------------------------------------------
// Reading the stored JSON. Every accessor tolerates a missing or mistyped field, yielding the Go zero
// value, which is what Kubernetes' printers see for an unset field.

/// The value at `pointer` (a JSON pointer such as `/status/phase`), treating `null` as absent.
fn field<'a>(value: &'a Value, pointer: &str) -> Option<&'a Value> {
    value.pointer(pointer).filter(|v| !v.is_null())
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn int(value: &Value, pointer: &str) -> i64 {
    value.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn flag(value: &Value, pointer: &str) -> bool {
    value.pointer(pointer).and_then(Value::as_bool).unwrap_or(false)
}

fn list<'a>(value: &'a Value, pointer: &str) -> &'a [Value] {
    value.pointer(pointer).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn strings<'a>(value: &'a Value, pointer: &str) -> impl Iterator<Item = &'a str> {
    list(value, pointer).iter().filter_map(Value::as_str)
}

fn map_len(value: &Value, pointer: &str) -> usize {
    value.pointer(pointer).and_then(Value::as_object).map_or(0, serde_json::Map::len)
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn name(object: &Value) -> &str {
    text(object, "/metadata/name")
}

/// `spec.replicas`, which defaults to 1 on create.
fn replicas(object: &Value) -> i64 {
    field(object, "/spec/replicas").map_or(1, |r| int(r, ""))
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn or_none(s: &str) -> &str {
    non_empty(s).unwrap_or("<none>")
}

/// A `metav1.Time` or `MicroTime`; `None` when unset, unparsable or Go's zero time.
fn timestamp(value: &Value, pointer: &str) -> Option<Timestamp> {
    /// 0001-01-01T00:00:00Z, Go's zero `time.Time`, which `metav1.Time.IsZero` treats as unset.
    const GO_ZERO_SECOND: i64 = -62_135_596_800;
    let parsed: Timestamp = value.pointer(pointer)?.as_str()?.parse().ok()?;
    (parsed.as_second() != GO_ZERO_SECOND || parsed.subsec_nanosecond() != 0).then_some(parsed)
}

/// `translateTimestampSince`: the age of `time`, or `<unknown>` when it is unset.
fn age(time: Option<Timestamp>, now: Timestamp) -> String {
    time.map_or_else(|| "<unknown>".to_owned(), |time| human_duration(now.duration_since(time)))
}

/// The `Age` cell.
fn created(object: &Value, now: Timestamp) -> String {
    age(timestamp(object, "/metadata/creationTimestamp"), now)
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

/// Go's `net.JoinHostPort`: IPv6 addresses are bracketed.
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// `listWithMoreString`: the first three items, then ` + N more...`; `<unset>` when there are none.
fn list_with_more(items: impl Iterator<Item = String>) -> String {
    let mut shown = Vec::new();
    let mut total = 0;
    for item in items {
        if shown.len() < LIST_LIMIT {
            shown.push(item);
        }
        total += 1;
    }
    let joined = shown.join(",");
    if total > LIST_LIMIT {
        format!("{joined} + {} more...", total - LIST_LIMIT)
    } else if joined.is_empty() {
        "<unset>".to_owned()
    } else {
        joined
    }
}

/// `labels.FormatLabels`: `key=value` pairs in sorted order, or `<none>`.
fn format_labels(labels: Option<&Value>) -> String {
    let mut pairs: Vec<String> = labels
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(key, value)| format!("{key}={}", value.as_str().unwrap_or("")))
        .collect();
    // Go sorts the joined pairs, not the keys: `a.b=1` sorts before `a=2`.
    pairs.sort_unstable();
    if pairs.is_empty() { "<none>".to_owned() } else { pairs.join(",") }
}

/// A label selector that Kubernetes refuses to convert (bad operator, key or value).
#[derive(Debug, PartialEq, Eq)]
struct InvalidSelector;

/// `metav1.LabelSelectorAsSelector(..).String()`: requirements sorted by key, such as
/// `app=web,!legacy,tier in (a,b)`. An absent or empty selector is the empty string.
fn selector_string(selector: Option<&Value>) -> Result<String, InvalidSelector> {
    let Some(selector) = selector else { return Ok(String::new()) };
    let mut requirements: Vec<(&str, String)> = Vec::new();
    if let Some(labels) = field(selector, "/matchLabels") {
        for (key, value) in labels.as_object().ok_or(InvalidSelector)? {
            let value = value.as_str().ok_or(InvalidSelector)?;
            check(is_qualified_name(key) && is_label_value(value))?;
            requirements.push((key, format!("{key}={value}")));
        }
    }
    for expression in list(selector, "/matchExpressions") {
        let key = text(expression, "/key");
        let mut values = list(expression, "/values")
            .iter()
            .map(|v| v.as_str().filter(|v| is_label_value(v)).ok_or(InvalidSelector))
            .collect::<Result<Vec<&str>, _>>()?;
        check(is_qualified_name(key))?;
        // Values print sorted without changing the stored order.
        values.sort_unstable();
        let rendered = match (text(expression, "/operator"), values.is_empty()) {
            ("In", false) => format!("{key} in ({})", values.join(",")),
            ("NotIn", false) => format!("{key} notin ({})", values.join(",")),
            ("Exists", true) => key.to_owned(),
            ("DoesNotExist", true) => format!("!{key}"),
            _ => return Err(InvalidSelector),
        };
        requirements.push((key, rendered));
    }
    // Stable, as Go's insertion sort is for the short lists selectors have.
    requirements.sort_by(|a, b| a.0.cmp(b.0));
    let rendered: Vec<String> = requirements.into_iter().map(|(_, r)| r).collect();
    Ok(rendered.join(","))
}

/// `metav1.FormatLabelSelector`: like [`selector_string`], with `<none>` and `<error>` placeholders.
fn format_label_selector(selector: Option<&Value>) -> String {
    match selector_string(selector) {
        Ok(rendered) if rendered.is_empty() => "<none>".to_owned(),
        Ok(rendered) => rendered,
        Err(InvalidSelector) => "<error>".to_owned(),
    }
}

fn check(valid: bool) -> Result<(), InvalidSelector> {
    if valid { Ok(()) } else { Err(InvalidSelector) }
}

/// A label key: an optional DNS subdomain prefix and `/`, then a name of at most 63 characters.
fn is_qualified_name(key: &str) -> bool {
    let name = match key.split_once('/') {
        None => key,
        Some((prefix, name)) => {
            if !is_dns_subdomain(prefix) || name.contains('/') {
                return false;
            }
            name
        }
    };
    !name.is_empty() && is_label_value(name)
}

/// A label value: empty, or up to 63 alphanumerics, `-`, `_` and `.`, starting and ending alphanumeric.
fn is_label_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    match (bytes.first(), bytes.last()) {
        (None, _) | (_, None) => true,
        (Some(first), Some(last)) => {
            bytes.len() <= 63
                && first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
    }
}

/// An RFC 1123 subdomain: dot-separated lowercase labels, at most 253 characters.
fn is_dns_subdomain(prefix: &str) -> bool {
    prefix.len() <= 253
        && prefix.split('.').all(|label| {
            let bytes = label.as_bytes();
            match (bytes.first(), bytes.last()) {
                (Some(first), Some(last)) => {
                    (first.is_ascii_lowercase() || first.is_ascii_digit())
                        && (last.is_ascii_lowercase() || last.is_ascii_digit())
                        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
                }
                _ => false,
            }
        })
}

/// Column descriptions: the Kubernetes API documentation strings (`SwaggerDoc()`) that printers.go uses.
mod doc {
    pub(super) const NAME: &str = concat!(
        "Name must be unique within a namespace. Is required when creating resources, although some ",
        "resources may allow a client to request the generation of an appropriate name automatically. ",
        "Name is primarily intended for creation idempotence and configuration definition. Cannot be ",
        "updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
    );
    pub(super) const CREATION_TIMESTAMP: &str = concat!(
        "CreationTimestamp is a timestamp representing the server time when this object was created. It ",
        "is not guaranteed to be set in happens-before order across separate operations. Clients may not ",
        "set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. ",
        "Read-only. Null for lists. More info: ",
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
    );
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
    pub(super) const CRONJOB_SCHEDULE: &str =
        "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.";
    pub(super) const CRONJOB_TIME_ZONE: &str = concat!(
        "The time zone name for the given schedule, see ",
        "https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will ",
        "default to the time zone of the kube-controller-manager process. The set of valid time zone ",
        "names and the time zone offset is loaded from the system-wide time zone database by the API ",
        "server during CronJob validation and the controller manager during execution. If no system-wide ",
        "time zone database can be found a bundled version of the database is used instead. If the time ",
        "zone name becomes invalid during the lifetime of a CronJob or due to a change in host ",
        "configuration, the controller will stop creating new new Jobs and will create a system event ",
        "with the reason UnknownTimeZone. More information can be found in ",
        "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones",
    );
    pub(super) const CRONJOB_SUSPEND: &str = concat!(
        "This flag tells the controller to suspend subsequent executions, it does not apply to already ",
        "started executions.  Defaults to false.",
    );
    pub(super) const CRONJOB_ACTIVE: &str = "A list of pointers to currently running jobs.";
    pub(super) const CRONJOB_LAST_SCHEDULE: &str =
        "Information when was the last time the job was successfully scheduled.";
    pub(super) const SERVICE_TYPE: &str = concat!(
        "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ",
        "ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal ",
        "IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that ",
        "is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If ",
        "clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of ",
        "endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on ",
        "every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on ",
        "NodePort and creates an external load-balancer (if supported in the current cloud) which routes ",
        "to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified ",
        "externalName. Several other fields do not apply to ExternalName services. More info: ",
        "https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types",
    );
    pub(super) const SERVICE_CLUSTER_IP: &str = concat!(
        "clusterIP is the IP address of the service and is usually assigned randomly. If an address is ",
        "specified manually, is in-range (as per system configuration), and is not in use, it will be ",
        "allocated to the service; otherwise creation of the service will fail. This field may not be ",
        "changed through updates unless the type field is also being changed to ExternalName (which ",
        "requires this field to be blank) or the type field is being changed from ExternalName (in which ",
        "case this field may optionally be specified, as describe above).  Valid values are \"None\", ",
        "empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless ",
        "service\" (no virtual IP), which is useful when direct endpoint connections are preferred and ",
        "proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this ",
        "field is specified when creating a Service of type ExternalName, creation will fail. This field ",
        "will be wiped when updating a Service to type ExternalName. More info: ",
        "https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
    );
    pub(super) const SERVICE_EXTERNAL_IPS: &str = concat!(
        "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic ",
        "for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ",
        "ensuring that traffic arrives at a node with this IP.  A common example is external ",
        "load-balancers that are not part of the Kubernetes system.",
    );
    pub(super) const SERVICE_PORTS: &str = concat!(
        "The list of ports that are exposed by this service. More info: ",
        "https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
    );
    pub(super) const SERVICE_SELECTOR: &str = concat!(
        "Route service traffic to pods with label keys and values matching this selector. If empty or not ",
        "present, the service is assumed to have an external process managing its endpoints, which ",
        "Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored ",
        "if type is ExternalName. More info: ",
        "https://kubernetes.io/docs/concepts/services-networking/service/",
    );
    pub(super) const ENDPOINTS_SUBSETS: &str = concat!(
        "The set of all endpoints is the union of all subsets. Addresses are placed into subsets ",
        "according to the IPs they share. A single address with multiple ports, some of which are ready ",
        "and some of which are not (because they come from different containers) will result in the ",
        "address being displayed in different subsets for the different ports. No address will appear in ",
        "both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that ",
        "comprise a service.",
    );
    pub(super) const CONFIGMAP_DATA: &str = concat!(
        "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' ",
        "or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in ",
        "Data must not overlap with the keys in the BinaryData field, this is enforced during validation ",
        "process.",
    );
    pub(super) const SECRET_TYPE: &str = concat!(
        "Used to facilitate programmatic handling of secret data. More info: ",
        "https://kubernetes.io/docs/concepts/configuration/secret/#secret-types",
    );
    pub(super) const SECRET_DATA: &str = concat!(
        "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or ",
        "'.'. The serialized form of the secret data is a base64 encoded string, representing the ",
        "arbitrary (possibly non-string) data value here. Described in ",
        "https://tools.ietf.org/html/rfc4648#section-4",
    );
    pub(super) const SERVICEACCOUNT_SECRETS: &str = concat!(
        "Secrets is a list of the secrets in the same namespace that pods running using this ",
        "ServiceAccount are allowed to use. Pods are only limited to this list if this service account ",
        "has a \"kubernetes.io/enforce-mountable-secrets\" annotation set to \"true\". The ",
        "\"kubernetes.io/enforce-mountable-secrets\" annotation is deprecated since v1.32. Prefer ",
        "separate namespaces to isolate access to mounted secrets. This field should not be used to find ",
        "auto-generated service account token secrets for use outside of pods. Instead, tokens can be ",
        "requested directly using the TokenRequest API, or service account token secrets can be manually ",
        "created. More info: https://kubernetes.io/docs/concepts/configuration/secret",
    );
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
    pub(super) const NETWORKPOLICY_POD_SELECTOR: &str = concat!(
        "Selects the pods to which this NetworkPolicy object applies.  The array of ingress rules is ",
        "applied to any pods selected by this field. Multiple network policies can select the same set of ",
        "pods.  In this case, the ingress rules for each are combined additively. This field is NOT ",
        "optional and follows standard label selector semantics. An empty podSelector matches all pods in ",
        "this namespace.",
    );
    pub(super) const LEASE_HOLDER: &str = concat!(
        "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader ",
        "Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name ",
        "field.",
    );
    pub(super) const ENDPOINTSLICE_ADDRESS_TYPE: &str = concat!(
        "addressType specifies the type of address carried by this EndpointSlice. All addresses in this ",
        "slice must be the same type. This field is immutable after creation. The following address types ",
        "are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. ",
        "* FQDN: Represents a Fully Qualified Domain Name.",
    );
    pub(super) const ENDPOINTSLICE_PORTS: &str = concat!(
        "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must ",
        "have a unique name. When ports is empty, it indicates that there are no defined ports. When a ",
        "port is defined with a nil port value, it indicates \"all ports\". Each slice may include a ",
        "maximum of 100 ports.",
    );
    pub(super) const ENDPOINTSLICE_ENDPOINTS: &str = concat!(
        "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 ",
        "endpoints.",
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
    pub(super) const ROLEBINDING_ROLE: &str = concat!(
        "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. ",
        "If the RoleRef cannot be resolved, the Authorizer must return an error.",
    );
    pub(super) const CLUSTERROLEBINDING_ROLE: &str = concat!(
        "RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be ",
        "resolved, the Authorizer must return an error.",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every resource with its own printer, and one that falls back to the default table.
    const RESOURCES: &[&str] = &[
        "pods",
        "deployments",
        "replicasets",
        "statefulsets",
        "daemonsets",
        "jobs",
        "cronjobs",
        "services",
        "endpoints",
        "endpointslices",
        "configmaps",
        "secrets",
        "serviceaccounts",
        "namespaces",
        "nodes",
        "events",
        "networkpolicies",
        "leases",
        "priorityclasses",
        "poddisruptionbudgets",
        "rolebindings",
        "clusterrolebindings",
        "clusterroles",
    ];

    fn now() -> Timestamp {
        "2026-01-10T12:00:00Z".parse().expect("valid timestamp")
    }

    /// The RFC 3339 time `seconds` before [`now`].
    fn ago(seconds: i64) -> String {
        (now() - SignedDuration::from_secs(seconds)).to_string()
    }

    fn meta(name: &str) -> Value {
        json!({ "name": name, "namespace": "demo", "creationTimestamp": ago(300) })
    }

    fn names(resource: &str) -> Vec<&'static str> {
        columns(resource).iter().map(|c| c.name).collect()
    }

    /// The headers kubectl shows without `-o wide`.
    fn default_names(resource: &str) -> Vec<&'static str> {
        columns(resource).iter().filter(|c| c.priority == 0).map(|c| c.name).collect()
    }

    fn check_rows(resource: &str, cases: &[(&str, Value, Value)]) {
        for (case, object, expected) in cases {
            let got = Value::Array(cells(resource, object, now()));
            assert_eq!(&got, expected, "{resource}: {case}");
        }
    }

    #[test]
    fn human_duration_matches_go_at_every_boundary() {
        let cases: &[(i64, &str)] = &[
            (-3, "<invalid>"),
            (-2, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (45, "45s"),
            (119, "119s"),
            (120, "2m"),
            (200, "3m20s"),
            (599, "9m59s"),
            (600, "10m"),
            (179 * 60 + 59, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 5 * 60, "3h5m"),
            (8 * 3600 - 1, "7h59m"),
            (8 * 3600, "8h"),
            (5 * 3600 * 9, "45h"),
            (48 * 3600 - 1, "47h"),
            (48 * 3600, "2d"),
            (51 * 3600, "2d3h"),
            (8 * 86400 - 1, "7d23h"),
            (8 * 86400, "8d"),
            (730 * 86400 - 1, "729d"),
            (730 * 86400, "2y"),
            (731 * 86400, "2y1d"),
            (8 * 365 * 86400 - 1, "7y364d"),
            (8 * 365 * 86400, "8y"),
            (3 * 365 * 86400 * 100, "292y"), // Go's Duration saturates near 292 years.
        ];
        for &(seconds, expected) in cases {
            assert_eq!(human_duration(SignedDuration::from_secs(seconds)), expected, "{seconds}s");
        }
        // Sub-second skew: Go truncates toward zero before comparing.
        assert_eq!(human_duration(SignedDuration::from_millis(-1999)), "0s");
        assert_eq!(human_duration(SignedDuration::from_millis(-2000)), "<invalid>");
        assert_eq!(human_duration(SignedDuration::from_millis(1999)), "1s");
    }

    #[test]
    fn age_is_unknown_without_a_creation_timestamp() {
        let cases = [
            json!({ "metadata": { "name": "a" } }),
            json!({ "metadata": { "name": "a", "creationTimestamp": null } }),
            json!({ "metadata": { "name": "a", "creationTimestamp": "0001-01-01T00:00:00Z" } }),
            json!({ "metadata": { "name": "a", "creationTimestamp": "yesterday" } }),
        ];
        for object in &cases {
            assert_eq!(cells("configmaps", object, now())[2], json!("<unknown>"), "{object}");
        }
        let fractional = json!({ "metadata": { "creationTimestamp": "2026-01-10T11:59:14.5Z" } });
        assert_eq!(cells("configmaps", &fractional, now())[2], json!("45s"));
    }

    #[test]
    fn every_printer_fills_one_cell_per_column_for_any_object() {
        let odd_objects = [
            json!({}),
            json!(null),
            json!(42),
            json!("pod"),
            json!({
                "metadata": [],
                "spec": "x",
                "status": { "conditions": {}, "containerStatuses": [1, null] },
            }),
            json!({ "spec": { "selector": { "matchLabels": 3, "matchExpressions": [{}] }, "ports": [{}] } }),
        ];
        for resource in RESOURCES {
            let columns = columns(resource);
            assert!(!columns.is_empty(), "{resource}");
            assert_eq!(
                columns.iter().filter(|c| c.format == "name").count(),
                1,
                "{resource}: one name column"
            );
            for object in &odd_objects {
                assert_eq!(cells(resource, object, now()).len(), columns.len(), "{resource}: {object}");
            }
        }
    }

    #[test]
    fn column_json_has_the_table_column_definition_shape() {
        assert_eq!(
            columns("deployments")[5].to_json(),
            json!({
                "name": "Containers",
                "type": "string",
                "format": "",
                "description": "Names of each container in the template.",
                "priority": 1,
            })
        );
        let name = columns("pods")[0].to_json();
        assert_eq!(name["format"], "name");
        assert!(name["description"].as_str().is_some_and(|d| d.starts_with("Name must be unique within a")));
        let restarts = columns("pods")[3].description;
        assert!(restarts.ends_with("been restarted and when the last container in this pod has restarted."));
    }

    #[test]
    fn headers_match_kubectl() {
        let cases: &[(&str, &[&str], &[&str])] = &[
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
            ("services", &["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"], &["Selector"]),
            ("configmaps", &["Name", "Data", "Age"], &[]),
            ("secrets", &["Name", "Type", "Data", "Age"], &[]),
            ("serviceaccounts", &["Name", "Secrets", "Age"], &[]),
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
            ("networkpolicies", &["Name", "Pod-Selector", "Age"], &[]),
            ("leases", &["Name", "Holder", "Age"], &[]),
            ("endpointslices", &["Name", "AddressType", "Ports", "Endpoints", "Age"], &[]),
            ("priorityclasses", &["Name", "Value", "Global-Default", "Age", "PreemptionPolicy"], &[]),
            (
                "poddisruptionbudgets",
                &["Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"],
                &[],
            ),
            ("widgets", &["Name", "Created At"], &[]),
        ];
        for (resource, default, wide) in cases {
            assert_eq!(default_names(resource), *default, "{resource}");
            let wide_names: Vec<_> =
                columns(resource).iter().filter(|c| c.priority == 1).map(|c| c.name).collect();
            assert_eq!(wide_names, *wide, "{resource}");
        }
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
        assert_eq!(columns("pods")[3].kind, "string", "restarts may carry a last-restart age");
        assert_eq!(columns("widgets")[1].kind, "date");
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
    fn finished_pods_carry_a_completed_row_condition() {
        let succeeded = json!({ "status": { "phase": "Succeeded" } });
        let condition = row_conditions("pods", &succeeded).expect("succeeded pods are marked");
        assert_eq!(
            condition,
            json!([{
                "type": "Completed", "status": "True", "reason": "Succeeded",
                "message": "The pod has completed successfully.",
            }])
        );
        let failed = json!({ "status": { "phase": "Failed" } });
        assert_eq!(row_conditions("pods", &failed).expect("failed pods are marked")[0]["reason"], "Failed");
        assert_eq!(row_conditions("pods", &json!({ "status": { "phase": "Running" } })), None);
        assert_eq!(row_conditions("jobs", &succeeded), None);
    }

    #[test]
    fn replicaset_statefulset_and_daemonset_rows() {
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
            "statefulsets",
            &[(
                "partly ready",
                json!({
                    "metadata": meta("db"),
                    "spec": { "replicas": 3, "template": template },
                    "status": { "readyReplicas": 2 },
                }),
                json!(["db", "2/3", "5m", "web", "web:1"]),
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

    #[test]
    fn cronjob_rows() {
        check_rows(
            "cronjobs",
            &[
                (
                    "scheduled before",
                    json!({
                        "metadata": meta("nightly"),
                        "spec": {
                            "schedule": "0 3 * * *", "timeZone": "Etc/UTC", "suspend": false,
                            "jobTemplate": { "spec": { "template": { "spec": { "containers": [
                                { "name": "backup", "image": "backup:1" },
                            ] } } } },
                        },
                        "status": { "active": [{ "name": "nightly-1" }], "lastScheduleTime": ago(3600) },
                    }),
                    json!([
                        "nightly",
                        "0 3 * * *",
                        "Etc/UTC",
                        "False",
                        1,
                        "60m",
                        "5m",
                        "backup",
                        "backup:1",
                        "<none>"
                    ]),
                ),
                (
                    "never scheduled, suspended",
                    json!({ "metadata": meta("off"), "spec": { "schedule": "@hourly", "suspend": true } }),
                    json!(["off", "@hourly", "<none>", "True", 0, "<none>", "5m", "", "", "<none>"]),
                ),
            ],
        );
    }

    #[test]
    fn service_rows() {
        check_rows(
            "services",
            &[
                (
                    "cluster IP",
                    json!({
                        "metadata": meta("web"),
                        "spec": {
                            "type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                            "ports": [{ "port": 80, "targetPort": 8080, "protocol": "TCP" }],
                            "selector": { "app": "web" },
                        },
                    }),
                    json!(["web", "ClusterIP", "10.96.0.10", "<none>", "80/TCP", "5m", "app=web"]),
                ),
                (
                    "node port, several ports",
                    json!({
                        "metadata": meta("web-np"),
                        "spec": {
                            "type": "NodePort", "clusterIPs": ["10.96.0.11"],
                            "ports": [
                                { "name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP" },
                                { "name": "dns", "port": 53, "nodePort": 30053, "protocol": "UDP" },
                            ],
                            "selector": { "app": "web", "tier": "front" },
                        },
                    }),
                    json!([
                        "web-np",
                        "NodePort",
                        "10.96.0.11",
                        "<none>",
                        "80:30080/TCP,53:30053/UDP",
                        "5m",
                        "app=web,tier=front"
                    ]),
                ),
                (
                    "defaults: type, protocol and clusterIPs",
                    json!({
                        "metadata": meta("plain"),
                        "spec": { "clusterIP": "10.96.0.12", "ports": [{ "port": 8080 }] },
                    }),
                    json!(["plain", "ClusterIP", "10.96.0.12", "<none>", "8080/TCP", "5m", "<none>"]),
                ),
                (
                    "headless with external IPs",
                    json!({
                        "metadata": meta("db"),
                        "spec": {
                            "clusterIP": "None",
                            "clusterIPs": ["None"],
                            "externalIPs": ["1.2.3.4", "5.6.7.8"],
                        },
                    }),
                    json!(["db", "ClusterIP", "None", "1.2.3.4,5.6.7.8", "<none>", "5m", "<none>"]),
                ),
                (
                    "external name",
                    json!({
                        "metadata": meta("ext"),
                        "spec": { "type": "ExternalName", "externalName": "db.example.com" },
                    }),
                    json!(["ext", "ExternalName", "<none>", "db.example.com", "<none>", "5m", "<none>"]),
                ),
            ],
        );
    }

    #[test]
    fn load_balancer_service_rows() {
        check_rows(
            "services",
            &[
                (
                    "load balancer pending",
                    json!({
                        "metadata": meta("lb"),
                        "spec": {
                            "type": "LoadBalancer",
                            "clusterIPs": ["10.96.0.13"],
                            "ports": [{ "port": 443, "nodePort": 31443 }],
                        },
                    }),
                    json!(["lb", "LoadBalancer", "10.96.0.13", "<pending>", "443:31443/TCP", "5m", "<none>"]),
                ),
                (
                    "load balancer with ingress, sorted, not clipped",
                    json!({
                        "metadata": meta("lb2"),
                        "spec": {
                            "type": "LoadBalancer",
                            "clusterIPs": ["10.96.0.14"],
                            "externalIPs": ["9.9.9.9"],
                        },
                        "status": { "loadBalancer": { "ingress": [
                            { "hostname": "lb.example.com" }, { "ip": "203.0.113.10" },
                        ] } },
                    }),
                    json!([
                        "lb2",
                        "LoadBalancer",
                        "10.96.0.14",
                        "203.0.113.10,lb.example.com,9.9.9.9",
                        "<none>",
                        "5m",
                        "<none>"
                    ]),
                ),
            ],
        );
    }

    #[test]
    fn endpoint_rows() {
        check_rows(
            "endpoints",
            &[
                (
                    "more than three",
                    json!({
                        "metadata": meta("web"),
                        "subsets": [
                            {
                                "addresses": [{ "ip": "10.0.0.1" }, { "ip": "10.0.0.2" }],
                                "ports": [{ "port": 80 }, { "port": 81 }],
                            },
                            { "addresses": [{ "ip": "fd00::1" }], "ports": [{ "port": 80 }] },
                        ],
                    }),
                    json!(["web", "10.0.0.1:80,10.0.0.2:80,10.0.0.1:81 + 2 more...", "5m"]),
                ),
                (
                    "headless without ports, IPv6",
                    json!({
                        "metadata": meta("db"),
                        "subsets": [
                            { "addresses": [{ "ip": "fd00::2" }] },
                            { "addresses": [{ "ip": "fd00::3" }], "ports": [{ "port": 5432 }] },
                        ],
                    }),
                    json!(["db", "fd00::2,[fd00::3]:5432", "5m"]),
                ),
                ("none", json!({ "metadata": meta("empty") }), json!(["empty", "<none>", "5m"])),
            ],
        );
        check_rows(
            "endpointslices",
            &[
                (
                    "ports and addresses",
                    json!({
                        "metadata": meta("web-abc12"),
                        "addressType": "IPv4",
                        "ports": [
                            { "name": "http", "port": 8080, "protocol": "TCP" },
                            { "name": "metrics" },
                            {},
                        ],
                        "endpoints": [
                            { "addresses": ["10.0.0.1"] },
                            { "addresses": ["10.0.0.2", "10.0.0.3"] },
                            { "addresses": ["10.0.0.4"] },
                        ],
                    }),
                    json!([
                        "web-abc12",
                        "IPv4",
                        "8080,metrics,*",
                        "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...",
                        "5m"
                    ]),
                ),
                (
                    "empty",
                    json!({ "metadata": meta("empty"), "addressType": "IPv6" }),
                    json!(["empty", "IPv6", "<unset>", "<unset>", "5m"]),
                ),
            ],
        );
    }

    #[test]
    fn config_and_identity_rows() {
        check_rows(
            "configmaps",
            &[(
                "data and binary data both count",
                json!({
                    "metadata": meta("web-config"),
                    "data": { "GREETING": "hi", "COLOR": "blue" },
                    "binaryData": { "logo": "AAE=" },
                }),
                json!(["web-config", 3, "5m"]),
            )],
        );
        check_rows(
            "secrets",
            &[
                (
                    "tls",
                    json!({
                        "metadata": meta("tls"),
                        "type": "kubernetes.io/tls",
                        "data": { "tls.crt": "", "tls.key": "" },
                    }),
                    json!(["tls", "kubernetes.io/tls", 2, "5m"]),
                ),
                (
                    "type defaults to Opaque",
                    json!({ "metadata": meta("empty") }),
                    json!(["empty", "Opaque", 0, "5m"]),
                ),
            ],
        );
        check_rows(
            "serviceaccounts",
            &[
                ("default", json!({ "metadata": meta("default") }), json!(["default", 0, "5m"])),
                (
                    "with a secret",
                    json!({ "metadata": meta("builder"), "secrets": [{ "name": "builder-token" }] }),
                    json!(["builder", 1, "5m"]),
                ),
            ],
        );
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
        check_rows(
            "rolebindings",
            &[(
                "subjects of every kind",
                json!({
                    "metadata": meta("readers"),
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": "view",
                    },
                    "subjects": [
                        { "kind": "User", "name": "alice" },
                        { "kind": "Group", "name": "devs" },
                        { "kind": "ServiceAccount", "name": "ci", "namespace": "build" },
                        { "kind": "User", "name": "bob" },
                    ],
                }),
                json!(["readers", "ClusterRole/view", "5m", "alice, bob", "devs", "build/ci"]),
            )],
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
    fn policy_and_coordination_rows() {
        check_rows(
            "networkpolicies",
            &[
                (
                    "selects pods",
                    json!({
                        "metadata": meta("deny"),
                        "spec": { "podSelector": { "matchLabels": { "app": "db" } } },
                    }),
                    json!(["deny", "app=db", "5m"]),
                ),
                (
                    "selects every pod",
                    json!({ "metadata": meta("all"), "spec": { "podSelector": {} } }),
                    json!(["all", "<none>", "5m"]),
                ),
            ],
        );
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

    #[test]
    fn unknown_resources_get_the_default_table() {
        let role =
            json!({ "metadata": { "name": "admin", "creationTimestamp": "2026-01-02T03:04:05.678Z" } });
        check_rows(
            "clusterroles",
            &[
                ("timestamp without fraction", role, json!(["admin", "2026-01-02T03:04:05Z"])),
                (
                    "zero time when unset",
                    json!({ "metadata": { "name": "x" } }),
                    json!(["x", "0001-01-01T00:00:00Z"]),
                ),
            ],
        );
    }

    #[test]
    fn label_selectors_print_like_kubernetes() {
        let cases: &[(Value, &str, &str)] = &[
            (json!(null), "", "<none>"),
            (json!({}), "", "<none>"),
            (json!({ "matchLabels": {}, "matchExpressions": [] }), "", "<none>"),
            (
                json!({ "matchLabels": { "tier": "front", "app": "web" } }),
                "app=web,tier=front",
                "app=web,tier=front",
            ),
            (
                json!({
                    "matchLabels": { "zone": "a" },
                    "matchExpressions": [
                        { "key": "tier", "operator": "In", "values": ["b", "a"] },
                        { "key": "env", "operator": "NotIn", "values": ["dev"] },
                        { "key": "legacy", "operator": "DoesNotExist" },
                        { "key": "app", "operator": "Exists", "values": [] },
                    ],
                }),
                "app,env notin (dev),!legacy,tier in (a,b),zone=a",
                "app,env notin (dev),!legacy,tier in (a,b),zone=a",
            ),
            (
                json!({
                    "matchLabels": { "app": "x" },
                    "matchExpressions": [{ "key": "app", "operator": "Exists" }],
                }),
                "app=x,app",
                "app=x,app",
            ),
            (
                json!({ "matchLabels": { "example.com/app": "web" } }),
                "example.com/app=web",
                "example.com/app=web",
            ),
        ];
        for (selector, raw, formatted) in cases {
            let selector = Some(selector).filter(|s| !s.is_null());
            assert_eq!(selector_string(selector).as_deref(), Ok(*raw), "{selector:?}");
            assert_eq!(format_label_selector(selector), *formatted, "{selector:?}");
        }
        let invalid = [
            json!({ "matchExpressions": [{ "key": "app", "operator": "Gt", "values": ["1"] }] }),
            json!({ "matchExpressions": [{ "key": "app", "operator": "In", "values": [] }] }),
            json!({ "matchExpressions": [{ "key": "app", "operator": "Exists", "values": ["x"] }] }),
            json!({ "matchExpressions": [{ "key": "", "operator": "Exists" }] }),
            json!({ "matchLabels": { "app": "bad value" } }),
            json!({ "matchLabels": { "Example.com/app": "web" } }),
            json!({ "matchLabels": { "a/b/c": "web" } }),
            json!({ "matchLabels": { "app": 3 } }),
            json!({ "matchLabels": ["app"] }),
        ];
        for selector in &invalid {
            assert_eq!(selector_string(Some(selector)), Err(InvalidSelector), "{selector}");
            assert_eq!(format_label_selector(Some(selector)), "<error>", "{selector}");
        }
    }

    #[test]
    fn label_maps_sort_by_the_joined_pair() {
        assert_eq!(format_labels(Some(&json!({ "a": "2", "a.b": "1" }))), "a.b=1,a=2");
        assert_eq!(format_labels(Some(&json!({}))), "<none>");
        assert_eq!(format_labels(None), "<none>");
    }

    #[test]
    fn label_syntax() {
        for valid in ["a", "app", "A-b_c.d", "x".repeat(63).as_str(), ""] {
            assert!(is_label_value(valid), "{valid}");
        }
        for invalid in ["-a", "a-", "a b", "x".repeat(64).as_str(), "ä"] {
            assert!(!is_label_value(invalid), "{invalid}");
        }
        for valid in ["app", "example.com/app", "k8s.io/a-b", "a1.b-2.c/x"] {
            assert!(is_qualified_name(valid), "{valid}");
        }
        for invalid in ["", "/app", "example.com/", "Example.com/app", "a..b/app", "-a.com/app", "a/b/c"] {
            assert!(!is_qualified_name(invalid), "{invalid}");
        }
    }
}
