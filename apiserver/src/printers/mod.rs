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
//!
//! Layout: `fields` reads the stored JSON and formats values as Kubernetes' helpers do (ages, label maps,
//! selectors); `workloads`, `network`, `config` and `cluster` hold the columns and cells of each served kind,
//! by kind group.

use jiff::Timestamp;
use serde_json::{Value, json};

mod certificates;
mod cluster;
mod config;
mod fields;
mod network;
mod rbac;
mod workloads;

pub use fields::human_duration;
use fields::{name, text, timestamp};

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

/// A resource's column definitions and the function that fills one row of them.
struct Printer {
    columns: &'static [Column],
    cells: CellsFn,
}

/// Renders one object's row.
type CellsFn = fn(&Value, Timestamp) -> Vec<Value>;

fn printer(resource: &str) -> Printer {
    let (columns, cells): (&'static [Column], CellsFn) = match resource {
        "pods" => (workloads::POD_COLUMNS, workloads::pod_cells),
        "deployments" => (workloads::DEPLOYMENT_COLUMNS, workloads::deployment_cells),
        "replicasets" => (workloads::REPLICASET_COLUMNS, workloads::replicaset_cells),
        "daemonsets" => (workloads::DAEMONSET_COLUMNS, workloads::daemonset_cells),
        "jobs" => (workloads::JOB_COLUMNS, workloads::job_cells),
        "services" => (network::SERVICE_COLUMNS, network::service_cells),
        "endpointslices" => (network::ENDPOINTSLICE_COLUMNS, network::endpointslice_cells),
        "networkpolicies" => (network::NETWORKPOLICY_COLUMNS, network::networkpolicy_cells),
        "configmaps" => (config::CONFIGMAP_COLUMNS, config::configmap_cells),
        "secrets" => (config::SECRET_COLUMNS, config::secret_cells),
        "serviceaccounts" => (config::SERVICEACCOUNT_COLUMNS, config::serviceaccount_cells),
        "namespaces" => (cluster::NAMESPACE_COLUMNS, cluster::namespace_cells),
        "nodes" => (cluster::NODE_COLUMNS, cluster::node_cells),
        "events" => (cluster::EVENT_COLUMNS, cluster::event_cells),
        "leases" => (cluster::LEASE_COLUMNS, cluster::lease_cells),
        "priorityclasses" => (cluster::PRIORITYCLASS_COLUMNS, cluster::priorityclass_cells),
        "poddisruptionbudgets" => (cluster::PODDISRUPTIONBUDGET_COLUMNS, cluster::poddisruptionbudget_cells),
        "rolebindings" | "clusterrolebindings" => (rbac::BINDING_COLUMNS, rbac::binding_cells),
        "certificatesigningrequests" => (certificates::CSR_COLUMNS, certificates::csr_cells),
        // Kubernetes prints roles with the default table; review kinds are never listed.
        _ => (DEFAULT_COLUMNS, default_cells),
    };
    Printer { columns, cells }
}

// ---------------------------------------------------------------------------------------------------
// Column definitions shared by every printer, and the default table.

const fn column(name: &'static str, kind: &'static str, description: &'static str) -> Column {
    Column { name, kind, format: "", description, priority: 0 }
}

const fn wide(name: &'static str, kind: &'static str, description: &'static str) -> Column {
    Column { name, kind, format: "", description, priority: 1 }
}

const NAME: Column =
    Column { name: "Name", kind: "string", format: "name", description: doc::NAME, priority: 0 };
const AGE: Column = column("Age", "string", doc::CREATION_TIMESTAMP);

const DEFAULT_COLUMNS: &[Column] = &[NAME, column("Created At", "date", doc::CREATION_TIMESTAMP)];

fn default_cells(object: &Value, _now: Timestamp) -> Vec<Value> {
    // Go formats the zero time when creationTimestamp is unset.
    let created = timestamp(object, "/metadata/creationTimestamp")
        .map_or_else(|| "0001-01-01T00:00:00Z".to_owned(), |t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    vec![name(object).into(), created.into()]
}

/// Column descriptions shared by every kind: the Kubernetes API documentation strings (`SwaggerDoc()`).
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
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;
    use crate::registry::KINDS;

    /// Every resource with its own printer (the kinds served), and one that falls back to the default table.
    fn resources() -> impl Iterator<Item = &'static str> {
        KINDS.iter().map(|kind| kind.plural).chain(["clusterroles"])
    }

    /// The instant the tests measure ages to.
    pub(super) fn now() -> Timestamp {
        "2026-01-10T12:00:00Z".parse().expect("valid timestamp")
    }

    /// The RFC 3339 time `seconds` before [`now`].
    pub(super) fn ago(seconds: i64) -> String {
        (now() - SignedDuration::from_secs(seconds)).to_string()
    }

    /// `metadata` of an object created five minutes before [`now`].
    pub(super) fn meta(name: &str) -> Value {
        json!({ "name": name, "namespace": "demo", "creationTimestamp": ago(300) })
    }

    /// Every header of `resource`, in order.
    pub(super) fn names(resource: &str) -> Vec<&'static str> {
        columns(resource).iter().map(|c| c.name).collect()
    }

    /// Checks each resource's headers: those kubectl shows by default, then those it adds with `-o wide`.
    pub(super) fn check_headers(cases: &[(&str, &[&str], &[&str])]) {
        for (resource, default, wide) in cases {
            let with_priority = |priority| -> Vec<&str> {
                columns(resource).iter().filter(|c| c.priority == priority).map(|c| c.name).collect()
            };
            assert_eq!(with_priority(0), *default, "{resource}");
            assert_eq!(with_priority(1), *wide, "{resource}");
        }
    }

    /// Checks the row of each case's object against the expected cells.
    pub(super) fn check_rows(resource: &str, cases: &[(&str, Value, Value)]) {
        for (case, object, expected) in cases {
            let got = Value::Array(cells(resource, object, now()));
            assert_eq!(&got, expected, "{resource}: {case}");
        }
    }

    #[test]
    fn every_served_kind_has_its_own_printer() {
        for kind in KINDS.iter().filter(|k| k.stored && !matches!(k.plural, "roles" | "clusterroles")) {
            assert_ne!(columns(kind.plural), DEFAULT_COLUMNS, "{}", kind.plural);
        }
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
        for resource in resources() {
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
    fn unknown_resources_get_the_default_table() {
        check_headers(&[("widgets", &["Name", "Created At"], &[])]);
        assert_eq!(columns("widgets")[1].kind, "date");
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
}
