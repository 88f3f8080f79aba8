//! Kubernetes strategic merge patch (`application/strategic-merge-patch+json`) for the built-in kinds.
//!
//! A port of the server side of `k8s.io/apimachinery/pkg/util/strategicpatch` (`StrategicMergeMapPatch`),
//! which is what `kubectl apply`, `kubectl edit`, `kubectl set image`, `kubectl rollout restart` and
//! `kubectl patch` rely on:
//!
//! - objects merge recursively and a `null` value deletes the key;
//! - lists replace the original list, unless the field is tagged `patchStrategy:"merge"` in the Kubernetes
//!   Go types: lists of objects then merge element by element on their `patchMergeKey`, lists of scalars
//!   merge as sets;
//! - directives: `$patch: replace | delete` in an object, `$patch: delete | replace` as a list element,
//!   `$setElementOrder/<list>`, `$retainKeys` and `$deleteFromPrimitiveList/<list>`.
//!
//! The merge metadata depends on where a field sits, so it comes from a small schema per kind (`KINDS`)
//! that mirrors the `patchStrategy`/`patchMergeKey` struct tags of `k8s.io/api` and `ObjectMeta`. Fields it
//! does not list use the defaults (objects merge, lists are atomic), exactly like untagged Go fields.
//!
//! Where this port knowingly differs from the Go code:
//! - patch values taken as they are (new fields, new list elements, atomic lists, `$patch: replace`) are
//!   stripped of `null` object members and of directives, recursively. Kubernetes leaves some of them in its
//!   intermediate map and only loses them when decoding into the Go types; stripping gives the same object.
//! - `$deleteFromPrimitiveList/<list>` is ignored unless both values are lists. Kubernetes can overwrite a
//!   same-typed scalar or merge an object with it, an accident of its type comparison.
//! - fields unknown to the schema merge with the defaults; Kubernetes rejects nested objects and lists under
//!   fields its Go type lacks. Custom resources, which Kubernetes refuses to strategic-merge (415), are for
//!   the caller to reject: an unknown kind gets the `ObjectMeta` rules only.
//! - keys are processed in a fixed order (`$retainKeys`, `$setElementOrder`, fields, deletion lists) where Go
//!   iterates a map at random. Inputs on which Go panics (lists starting with `null`, objects in a list
//!   without merge key under `$setElementOrder`) produce a result or an error instead, and an empty list with
//!   an empty `$setElementOrder` is accepted where Go fails to find its element type.

use std::mem;

use serde_json::{Map, Value};

/// How a list field merges, from its `patchStrategy` and `patchMergeKey` struct tags in Kubernetes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListStrategy {
    /// No `patchStrategy:"merge"` tag: the patch's list replaces the original list.
    Atomic,
    /// `patchStrategy:"merge" patchMergeKey:"<key>"`: object elements are matched, merged and deleted by the
    /// value of this key.
    MergeByKey(&'static str),
    /// `patchStrategy:"merge"` without a merge key, on a list of scalars: the union of both lists.
    MergeSet,
}

impl ListStrategy {
    fn merge_key(self) -> Option<&'static str> {
        match self {
            Self::MergeByKey(key) => Some(key),
            Self::Atomic | Self::MergeSet => None,
        }
    }
}

/// Why a strategic merge patch cannot be applied; [`status_code`](Self::status_code) is the HTTP status
/// Kubernetes answers with.
///
/// Paths are written `.spec.template.spec.containers`, `.` being the object itself; list elements share the
/// path of their list.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StrategicMergeError {
    /// The patch document is not a JSON object.
    #[error("the patch must be a json object, not {0}")]
    PatchNotObject(&'static str),
    /// The object to patch is not a JSON object.
    #[error("the object to patch must be a json object, not {0}")]
    OriginalNotObject(&'static str),
    /// `$patch` carries a value that is not valid where it is (objects accept `replace` and `delete`).
    #[error("unknown patch type {value} at {path}")]
    UnknownPatchType {
        /// Where the directive is.
        path: String,
        /// The offending value, as JSON.
        value: String,
    },
    /// `$patch: merge` as a list element, which Kubernetes does not implement.
    #[error("merging lists cannot yet be specified in the patch at {path}")]
    MergeDirectiveInList {
        /// The list.
        path: String,
    },
    /// An element of a list merged by key lacks that key.
    #[error("an element of the list at {path} does not contain the declared merge key {key:?}")]
    MissingMergeKey {
        /// The list.
        path: String,
        /// The merge key of the list.
        key: &'static str,
    },
    /// A list of objects must be merged (deletion list, `$setElementOrder`) but has no merge key.
    #[error("cannot merge the list of objects at {path} without a merge key")]
    NoMergeKey {
        /// The list.
        path: String,
    },
    /// A directive is malformed: a list directive key without its field name, or `$retainKeys` that is not a
    /// list.
    #[error("invalid {directive} directive at {path}: {reason}")]
    InvalidDirective {
        /// The object holding the directive.
        path: String,
        /// The directive key, e.g. `$setElementOrder/containers`.
        directive: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The patch sets a field that its `$retainKeys` directive does not list.
    #[error("field {field:?} at {path} is set by the patch but not listed in its $retainKeys directive")]
    NotRetained {
        /// The object holding the directive.
        path: String,
        /// The unlisted field.
        field: String,
    },
    /// The patch's list elements are not a subsequence of its `$setElementOrder` list.
    #[error("the order of the list at {path} does not match its $setElementOrder directive")]
    OrderMismatch {
        /// The list.
        path: String,
    },
    /// A value has the wrong JSON type for how it must be merged.
    #[error("expected {expected} at {path}, but received {found}")]
    TypeMismatch {
        /// Where the value is.
        path: String,
        /// The JSON type needed, with its article.
        expected: &'static str,
        /// The JSON type found, with its article.
        found: &'static str,
    },
    /// A merged list whose elements are lists.
    #[error("lists of lists are not supported at {path}")]
    ListOfLists {
        /// The list.
        path: String,
    },
    /// A merged list whose elements (original and patch together) are not all of one JSON type.
    #[error("list element types are not identical at {path}")]
    MixedElementTypes {
        /// The list.
        path: String,
    },
}

impl StrategicMergeError {
    /// The HTTP status the Kubernetes API server answers with (`interpretStrategicMergePatchError`): 400 for
    /// a patch that is not an object and for malformed `$retainKeys`, `$setElementOrder/` and
    /// `$deleteFromPrimitiveList/` keys, 422 for lists of lists, and 500 ("Internal error occurred") for the
    /// rest, which Go reports as plain errors.
    #[must_use]
    pub fn status_code(&self) -> u16 {
        match self {
            Self::PatchNotObject(_) | Self::InvalidDirective { .. } | Self::NotRetained { .. } => 400,
            Self::ListOfLists { .. } => 422,
            Self::OriginalNotObject(_)
            | Self::UnknownPatchType { .. }
            | Self::MergeDirectiveInList { .. }
            | Self::MissingMergeKey { .. }
            | Self::NoMergeKey { .. }
            | Self::OrderMismatch { .. }
            | Self::TypeMismatch { .. }
            | Self::MixedElementTypes { .. } => 500,
        }
    }
}

type Merged<T> = Result<T, StrategicMergeError>;

/// Applies the strategic merge `patch` to `original`, an object of the given Kubernetes `kind` (such as
/// `"Deployment"`), and returns the patched object.
///
/// The kind selects which lists merge and by which key; kinds without tagged fields (and unknown kinds) still
/// get the `metadata` rules.
///
/// # Errors
///
/// When either document is not a JSON object, or the patch is malformed: a bad directive, a list element
/// without its merge key, lists whose elements cannot be merged. See [`StrategicMergeError`].
pub fn apply(kind: &str, original: &Value, patch: &Value) -> Result<Value, StrategicMergeError> {
    let Value::Object(patch) = patch else {
        return Err(StrategicMergeError::PatchNotObject(type_name(patch)));
    };
    let Value::Object(original) = original else {
        return Err(StrategicMergeError::OriginalNotObject(type_name(original)));
    };
    merge_map(original.clone(), patch, kind_schema(kind), &Path::ROOT).map(Value::Object)
}

/// The merge strategy of the list at `path` (field names from the object root; list elements take the
/// path of their list, e.g. `["spec", "template", "spec", "containers", "env"]`) in an object of `kind`.
#[must_use]
pub fn list_strategy(kind: &str, path: &[&str]) -> ListStrategy {
    let mut schema = kind_schema(kind);
    let mut strategy = ListStrategy::Atomic;
    for name in path {
        let field = lookup(schema, name);
        strategy = field.list;
        schema = field.fields;
    }
    strategy
}

// ---------------------------------------------------------------------------------------------------------
// Schema: the tagged fields of the Kubernetes types, by kind.
// ---------------------------------------------------------------------------------------------------------

/// The fields of an object type that merge differently from the defaults.
type Schema = &'static [Field];

/// One field of a Kubernetes type with a `patchStrategy` tag, or leading to one.
#[derive(Clone, Copy, Debug)]
struct Field {
    name: &'static str,
    /// How the field merges when it is a list.
    list: ListStrategy,
    /// `patchStrategy:"replace"` on an object field: the patch's object replaces the original one.
    replace: bool,
    /// The fields of the value, or of each element when the value is a list.
    fields: Schema,
}

/// What an unlisted field gets: objects merge, lists are atomic.
const UNTAGGED: Field = Field { name: "", list: ListStrategy::Atomic, replace: false, fields: &[] };

/// An object field whose own fields have rules.
const fn object(name: &'static str, fields: Schema) -> Field {
    Field { name, list: ListStrategy::Atomic, replace: false, fields }
}

/// `patchStrategy:"merge" patchMergeKey:"<key>"`.
const fn keyed(name: &'static str, key: &'static str) -> Field {
    keyed_with(name, key, &[])
}

/// `patchStrategy:"merge" patchMergeKey:"<key>"` on a list whose elements have rules of their own.
const fn keyed_with(name: &'static str, key: &'static str, fields: Schema) -> Field {
    Field { name, list: ListStrategy::MergeByKey(key), replace: false, fields }
}

/// `patchStrategy:"merge"` on a list of scalars.
const fn set(name: &'static str) -> Field {
    Field { name, list: ListStrategy::MergeSet, replace: false, fields: &[] }
}

/// `patchStrategy:"replace"` on an object field.
const fn replaced(name: &'static str) -> Field {
    Field { name, list: ListStrategy::Atomic, replace: true, fields: &[] }
}

/// `ObjectMeta`, wherever an object or a template embeds one.
const METADATA: Field = object("metadata", &[keyed("ownerReferences", "uid"), set("finalizers")]);

/// `Container`, and `EphemeralContainerCommon` which repeats its tags.
const CONTAINER: Schema = &[
    keyed("ports", "containerPort"),
    keyed("env", "name"),
    keyed("volumeMounts", "mountPath"),
    keyed("volumeDevices", "devicePath"),
];

/// `PodSpec`. `volumes` and `resourceClaims` are also tagged `retainKeys`, like `DeploymentSpec.strategy`:
/// that tag only tells clients to send `$retainKeys`, which the server honours wherever it appears.
/// `tolerations`, `readinessGates` and the rest are untagged, hence atomic.
const POD_SPEC: Schema = &[
    keyed_with("volumes", "name", &[object("ephemeral", &[object("volumeClaimTemplate", &[METADATA])])]),
    keyed_with("initContainers", "name", CONTAINER),
    keyed_with("containers", "name", CONTAINER),
    keyed_with("ephemeralContainers", "name", CONTAINER),
    keyed("imagePullSecrets", "name"),
    keyed("hostAliases", "ip"),
    keyed("topologySpreadConstraints", "topologyKey"),
    keyed("schedulingGates", "name"),
    keyed("resourceClaims", "name"),
    keyed("evictionResponders", "name"),
];

/// `PodTemplateSpec`, in every workload.
const POD_TEMPLATE_SPEC: Schema = &[METADATA, object("spec", POD_SPEC)];

/// `PodStatus`. The tags inside `containerStatuses` and `volumeHealth` are unreachable: those lists are
/// atomic, so their elements are never merged.
const POD_STATUS: Schema = &[
    keyed("conditions", "type"),
    keyed("hostIPs", "ip"),
    keyed("podIPs", "ip"),
    keyed("resourceClaimStatuses", "name"),
    keyed_with(
        "nodeAllocatableResourceClaimStatuses",
        "resourceClaimName",
        &[keyed("mapping", "name"), keyed("overhead", "name")],
    ),
];

/// A `status` whose only tagged field is `conditions`.
const STATUS_CONDITIONS: Field = object("status", &[keyed("conditions", "type")]);

/// The spec of `Deployment`, `ReplicaSet`, `DaemonSet`, `StatefulSet` and `ReplicationController`, as far as
/// merging goes (`StatefulSet.spec.volumeClaimTemplates` is atomic).
const WORKLOAD_SPEC: Schema = &[object("template", POD_TEMPLATE_SPEC)];

/// `JobSpec`, in `Job` and in `CronJob` job templates.
const JOB_SPEC: Schema =
    &[object("template", POD_TEMPLATE_SPEC), object("scheduling", &[keyed("resourceClaims", "name")])];

/// `webhooks` of the admission webhook configurations.
const WEBHOOKS: Field = keyed_with("webhooks", "name", &[keyed("matchConditions", "name")]);

/// Every built-in kind with tagged fields beyond `metadata`, from the `k8s.io/api` types of Kubernetes 1.37
/// (plus `APIService` from `kube-aggregator`).
const KINDS: &[(&str, Schema)] = &[
    // core/v1
    ("Pod", &[METADATA, object("spec", POD_SPEC), object("status", POD_STATUS)]),
    ("PodTemplate", &[METADATA, object("template", POD_TEMPLATE_SPEC)]),
    ("ReplicationController", &[METADATA, object("spec", WORKLOAD_SPEC), STATUS_CONDITIONS]),
    ("Service", &[METADATA, object("spec", &[keyed("ports", "port")]), STATUS_CONDITIONS]),
    ("ServiceAccount", &[METADATA, keyed("secrets", "name")]),
    (
        "Node",
        &[
            METADATA,
            object("spec", &[set("podCIDRs")]),
            object("status", &[keyed("conditions", "type"), keyed("addresses", "type")]),
        ],
    ),
    ("Namespace", &[METADATA, STATUS_CONDITIONS]),
    (
        "PersistentVolumeClaim",
        &[
            METADATA,
            object(
                "status",
                &[
                    keyed("conditions", "type"),
                    object("healthStatus", &[keyed("healthConditions", "status")]),
                ],
            ),
        ],
    ),
    ("ComponentStatus", &[METADATA, keyed("conditions", "type")]),
    // apps/v1
    ("Deployment", &[METADATA, object("spec", WORKLOAD_SPEC), STATUS_CONDITIONS]),
    ("ReplicaSet", &[METADATA, object("spec", WORKLOAD_SPEC), STATUS_CONDITIONS]),
    ("DaemonSet", &[METADATA, object("spec", WORKLOAD_SPEC), STATUS_CONDITIONS]),
    ("StatefulSet", &[METADATA, object("spec", WORKLOAD_SPEC), STATUS_CONDITIONS]),
    // batch/v1
    ("Job", &[METADATA, object("spec", JOB_SPEC), STATUS_CONDITIONS]),
    ("CronJob", &[METADATA, object("spec", &[object("jobTemplate", &[METADATA, object("spec", JOB_SPEC)])])]),
    // autoscaling/v2, policy/v1, networking/v1, storage/v1
    ("HorizontalPodAutoscaler", &[METADATA, STATUS_CONDITIONS]),
    ("PodDisruptionBudget", &[METADATA, object("spec", &[replaced("selector")]), STATUS_CONDITIONS]),
    ("ServiceCIDR", &[METADATA, STATUS_CONDITIONS]),
    (
        "CSINode",
        &[
            METADATA,
            object("spec", &[keyed("drivers", "name")]),
            object("status", &[keyed("storageHealth", "name")]),
        ],
    ),
    // resource/v1
    ("ResourceClaim", &[METADATA, object("status", &[keyed("reservedFor", "uid")])]),
    ("ResourceClaimTemplate", &[METADATA, object("spec", &[METADATA])]),
    ("DeviceTaintRule", &[METADATA, STATUS_CONDITIONS]),
    // admissionregistration/v1
    ("ValidatingWebhookConfiguration", &[METADATA, WEBHOOKS]),
    ("MutatingWebhookConfiguration", &[METADATA, WEBHOOKS]),
    (
        "ValidatingAdmissionPolicy",
        &[METADATA, object("spec", &[keyed("matchConditions", "name"), keyed("variables", "name")])],
    ),
    ("MutatingAdmissionPolicy", &[METADATA, object("spec", &[keyed("matchConditions", "name")])]),
    // flowcontrol/v1, certificates/v1, storagemigration/v1, apiregistration/v1
    ("FlowSchema", &[METADATA, STATUS_CONDITIONS]),
    ("PriorityLevelConfiguration", &[METADATA, STATUS_CONDITIONS]),
    ("PodCertificateRequest", &[METADATA, STATUS_CONDITIONS]),
    ("StorageVersionMigration", &[METADATA, STATUS_CONDITIONS]),
    ("APIService", &[METADATA, STATUS_CONDITIONS]),
];

/// Kinds without tagged fields of their own (`ConfigMap`, `Secret`, ...) and unknown kinds.
const METADATA_ONLY: Schema = &[METADATA];

fn kind_schema(kind: &str) -> Schema {
    KINDS.iter().find(|(name, _)| *name == kind).map_or(METADATA_ONLY, |(_, schema)| schema)
}

fn lookup(schema: Schema, name: &str) -> &'static Field {
    schema.iter().find(|field| field.name == name).unwrap_or(&UNTAGGED)
}

// ---------------------------------------------------------------------------------------------------------
// Merging
// ---------------------------------------------------------------------------------------------------------

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";

/// Where the merge is, for error messages: a chain of field names on the stack.
#[derive(Clone, Copy)]
struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    name: &'a str,
}

impl<'a> Path<'a> {
    const ROOT: Path<'static> = Path { parent: None, name: "" };

    fn child<'b>(&'b self, name: &'b str) -> Path<'b>
    where
        'a: 'b,
    {
        Path { parent: Some(self), name }
    }

    fn render(&self) -> String {
        let mut names = Vec::new();
        let mut next = Some(self);
        while let Some(segment) = next {
            if segment.parent.is_some() {
                names.push(segment.name);
            }
            next = segment.parent;
        }
        if names.is_empty() {
            return ".".to_owned();
        }
        names.iter().rev().fold(String::new(), |mut out, name| {
            out.push('.');
            out.push_str(name);
            out
        })
    }
}

/// Kubernetes' `mergeMap`: merges `patch` into `original`, an object whose fields follow `schema`.
fn merge_map(
    mut original: Map<String, Value>,
    patch: &Map<String, Value>,
    schema: Schema,
    at: &Path<'_>,
) -> Merged<Map<String, Value>> {
    if let Some(directive) = patch.get(PATCH) {
        // handleDirectiveInMergeMap: only replace and delete are valid on an object (not even merge).
        return match directive.as_str() {
            Some("replace") => Ok(clean_map(patch)),
            Some("delete") => Ok(Map::new()),
            _ => {
                Err(StrategicMergeError::UnknownPatchType { path: at.render(), value: directive.to_string() })
            }
        };
    }
    if let Some(retained) = patch.get(RETAIN_KEYS) {
        retain_keys(&mut original, retained, patch, at)?;
    }

    // A list named by `$setElementOrder` is merged and ordered with its directive, and skipped below.
    let mut ordered = Vec::new();
    for (key, order) in patch {
        if let Some(list) = directive_target(key, SET_ELEMENT_ORDER, at)? {
            set_element_order(&mut original, list, order, patch.get(list), schema, at)?;
            ordered.push(list);
        }
    }

    let mut deletions = Vec::new();
    for (key, value) in patch {
        if key == RETAIN_KEYS || key.starts_with(SET_ELEMENT_ORDER) || ordered.contains(&key.as_str()) {
            continue;
        }
        match directive_target(key, DELETE_FROM_PRIMITIVE_LIST, at)? {
            Some(list) => deletions.push((list, value)),
            None => merge_field(&mut original, key, value, false, schema, at)?,
        }
    }
    // Deletions go last so that an element both added and deleted by one patch ends up deleted.
    for (list, value) in deletions {
        merge_field(&mut original, list, value, true, schema, at)?;
    }
    Ok(original)
}

/// The field a `$setElementOrder/<field>` or `$deleteFromPrimitiveList/<field>` key names, if `key` is one.
fn directive_target<'k>(key: &'k str, prefix: &str, at: &Path<'_>) -> Merged<Option<&'k str>> {
    let Some(rest) = key.strip_prefix(prefix) else {
        return Ok(None);
    };
    match rest.strip_prefix('/') {
        Some(field) => Ok(Some(field)),
        None => Err(invalid_directive(at, key, "the directive must be followed by /<field>")),
    }
}

/// Kubernetes' `applyRetainKeysDirective`: drops the original fields not listed, after checking that the
/// patch sets no unlisted field.
fn retain_keys(
    original: &mut Map<String, Value>,
    retained: &Value,
    patch: &Map<String, Value>,
    at: &Path<'_>,
) -> Merged<()> {
    let Value::Array(retained) = retained else {
        return Err(invalid_directive(at, RETAIN_KEYS, "the value must be a list of field names"));
    };
    let listed = |key: &str| retained.iter().any(|name| name.as_str() == Some(key));
    for (key, value) in patch {
        // Nulls (deletions) and the list directives may name fields that are not retained.
        let exempt = value.is_null()
            || key == RETAIN_KEYS
            || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || key.starts_with(SET_ELEMENT_ORDER);
        if !exempt && !listed(key) {
            return Err(StrategicMergeError::NotRetained { path: at.render(), field: key.clone() });
        }
    }
    original.retain(|key, _| listed(key));
    Ok(())
}

/// Merges the patch value of one field (or of a `$deleteFromPrimitiveList` directive) into `original`.
fn merge_field(
    original: &mut Map<String, Value>,
    key: &str,
    value: &Value,
    delete_list: bool,
    schema: Schema,
    at: &Path<'_>,
) -> Merged<()> {
    if value.is_null() {
        // `retain` rather than `remove` keeps the other keys in place when maps preserve order.
        original.retain(|name, _| name != key);
        return Ok(());
    }
    let field = lookup(schema, key);
    let at = at.child(key);
    let Some(current) = original.get_mut(key) else {
        if !delete_list && let Some(value) = clean(value) {
            original.insert(key.to_owned(), value);
        }
        return Ok(());
    };
    match (current, value) {
        (Value::Object(current), Value::Object(patch)) if !delete_list => {
            *current = if field.replace {
                clean_map(patch)
            } else {
                merge_map(mem::take(current), patch, field.fields, &at)?
            };
        }
        (Value::Array(current), Value::Array(patch)) => {
            *current = merge_list_field(mem::take(current), patch, field, delete_list, &at, None)?;
        }
        // A deletion list only acts on a list.
        _ if delete_list => {}
        (current, value) => match clean(value) {
            Some(value) => *current = value,
            None => original.retain(|name, _| name != key),
        },
    }
    Ok(())
}

/// Kubernetes' `mergeSliceHandler`: merges a list field according to its strategy.
fn merge_list_field(
    original: Vec<Value>,
    patch: &[Value],
    field: &Field,
    delete_list: bool,
    at: &Path<'_>,
    alias: Option<&mut Alias>,
) -> Merged<Vec<Value>> {
    match field.list {
        ListStrategy::MergeByKey(_) | ListStrategy::MergeSet => {
            merge_list(original, patch, field.list.merge_key(), field.fields, delete_list, at, alias)
        }
        // "Delete lists are handled the same way regardless of what the field's patch strategy is".
        ListStrategy::Atomic if delete_list => merge_list(original, patch, None, &[], true, at, alias),
        ListStrategy::Atomic => Ok(clean_list(patch)),
    }
}

/// Kubernetes' `mergeSlice`: merges two lists of a field with merge semantics.
fn merge_list(
    original: Vec<Value>,
    patch: &[Value],
    key: Option<&'static str>,
    schema: Schema,
    delete_list: bool,
    at: &Path<'_>,
    mut alias: Option<&mut Alias>,
) -> Merged<Vec<Value>> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    if element_type(original.iter().chain(patch), at)? != Some(JsonType::Object) {
        if delete_list {
            return Ok(original.into_iter().filter(|item| !patch.contains(item)).collect());
        }
        let server_order = identities(&original, key, at)?;
        let patch_order = identities(patch, key, at)?;
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for item in original.into_iter().chain(patch.iter().cloned()) {
            if !merged.contains(&item) {
                merged.push(item);
            }
        }
        return normalize_order(merged, &patch_order, &server_order, key, at);
    }

    let Some(key) = key else {
        return Err(StrategicMergeError::NoMergeKey { path: at.render() });
    };
    let (mut merged, patch) = apply_list_directives(original, patch, key, at, alias.as_deref_mut())?;
    let server_order = identities(&merged, Some(key), at)?;
    let patch_order = patch
        .iter()
        .map(|item| item.get(key).cloned().ok_or_else(|| missing_merge_key(at, key)))
        .collect::<Merged<Vec<_>>>()?;
    for (item, id) in patch.into_iter().zip(&patch_order) {
        // Elements match on the first original element with the same key value; new ones are appended.
        if let Some(Value::Object(slot)) = merged.iter_mut().find(|current| current.get(key) == Some(id)) {
            *slot = merge_map(mem::take(slot), item, schema, at)?;
        } else {
            merged.push(Value::Object(clean_map(item)));
            if let Some(alias) = alias.as_deref_mut() {
                alias.append(id);
            }
        }
    }
    normalize_order(merged, &patch_order, &server_order, Some(key), at)
}

/// A list after its `$patch` elements, and the patch elements left to merge into it.
type SplitPatch<'p> = (Vec<Value>, Vec<&'p Map<String, Value>>);

/// Kubernetes' `mergeSliceWithSpecialElements`: applies the `$patch` elements of a list patch.
///
/// Returns the original list after deletions (or the replacement list) and the plain patch elements left to
/// merge into it.
fn apply_list_directives<'p>(
    mut original: Vec<Value>,
    patch: &'p [Value],
    key: &'static str,
    at: &Path<'_>,
    mut alias: Option<&mut Alias>,
) -> Merged<SplitPatch<'p>> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Value::Object(element) = item else {
            return Err(type_mismatch(at, "an object", item));
        };
        let Some(directive) = element.get(PATCH) else {
            plain.push(element);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let id = element.get(key).ok_or_else(|| missing_merge_key(at, key))?;
                original.retain(|current| current.get(key) != Some(id));
                if let Some(alias) = alias.as_deref_mut() {
                    alias.delete(id);
                }
            }
            // The other `$patch` elements are still validated and dropped.
            Some("replace") => replace = true,
            Some("merge") => return Err(StrategicMergeError::MergeDirectiveInList { path: at.render() }),
            _ => {
                return Err(StrategicMergeError::UnknownPatchType {
                    path: at.render(),
                    value: directive.to_string(),
                });
            }
        }
    }
    if replace {
        // `{"$patch": "replace"}` in a list: its other elements become the whole list.
        return Ok((
            plain.into_iter().map(|element| Value::Object(clean_map(element))).collect(),
            Vec::new(),
        ));
    }
    Ok((original, plain))
}

/// Kubernetes' `mergePatchIntoOriginal` for one `$setElementOrder/<name>` directive: merges the list `name`
/// and orders it as the directive says, elements it does not name keeping their place relative to the
/// original list.
fn set_element_order(
    original: &mut Map<String, Value>,
    name: &str,
    order: &Value,
    patch: Option<&Value>,
    schema: Schema,
    at: &Path<'_>,
) -> Merged<()> {
    let Value::Array(order) = order else {
        let directive = format!("{SET_ELEMENT_ORDER}/{name}");
        return Err(type_mismatch(&at.child(&directive), "a list", order));
    };
    let at = at.child(name);
    let patch = match patch {
        None => None,
        Some(Value::Array(patch)) => Some(patch.as_slice()),
        Some(other) => return Err(type_mismatch(&at, "a list", other)),
    };
    let current = match original.get_mut(name) {
        None => None,
        Some(Value::Array(current)) => Some(mem::take(current)),
        Some(other) => return Err(type_mismatch(&at, "a list", other)),
    };
    if current.is_none() && patch.is_none() {
        return Ok(());
    }

    let field = lookup(schema, name);
    let key = field.list.merge_key();
    validate_order(patch.unwrap_or_default(), order, key, &at)?;
    let element = element_type(current.iter().flatten().chain(patch.into_iter().flatten()), &at)?;
    if element == Some(JsonType::Object) && key.is_none() {
        return Err(StrategicMergeError::NoMergeKey { path: at.render() });
    }
    let mut server_order = Alias::new(match &current {
        Some(current) => identities(current, key, &at)?,
        None => Vec::new(),
    });
    let order = identities(order, key, &at)?;
    let merged = match (current, patch) {
        (Some(current), Some(patch)) => {
            merge_list_field(current, patch, field, false, &at, Some(&mut server_order))?
        }
        (Some(current), None) => current,
        (None, patch) => clean_list(patch.unwrap_or_default()),
    };
    let merged = if element.is_some() {
        normalize_order(merged, &order, &server_order.ids, key, &at)?
    } else {
        merged
    };
    match original.get_mut(name) {
        Some(slot) => *slot = Value::Array(merged),
        None => {
            original.insert(name.to_owned(), Value::Array(merged));
        }
    }
    Ok(())
}

/// The original list as Go's `mergePatchIntoOriginal` still sees it after merging, by element identity.
///
/// Go deletes list elements with `append(list[:i], list[i+1:]...)` and appends new ones in the same backing
/// array, so the original slice it orders `$setElementOrder` lists by shows these edits: elements shift left
/// over deleted ones, the last one is left behind duplicated, and appended elements fill the freed places.
/// The resulting order is observable (`"add map and delete map from merging list"` in Kubernetes' tests).
struct Alias {
    ids: Vec<Value>,
    /// The length of the list being edited, over the same storage.
    live: usize,
}

impl Alias {
    fn new(ids: Vec<Value>) -> Self {
        Self { live: ids.len(), ids }
    }

    /// `deleteMatchingEntries`: every element with this identity, first to last.
    fn delete(&mut self, id: &Value) {
        while let Some(index) = self.ids.get(..self.live).and_then(|live| live.iter().position(|x| x == id)) {
            let last = self.live - 1;
            if let Some(tail) = self.ids.get_mut(index..=last) {
                tail.rotate_left(1);
            }
            // The slot freed at the end keeps its old element, which is now also one place to the left.
            if index < last
                && let Some(kept) = self.ids.get(last - 1).cloned()
                && let Some(slot) = self.ids.get_mut(last)
            {
                *slot = kept;
            }
            self.live = last;
        }
    }

    fn append(&mut self, id: &Value) {
        if let Some(slot) = self.ids.get_mut(self.live) {
            *slot = id.clone();
        }
        self.live += 1;
    }
}

/// Kubernetes' `validatePatchWithSetOrderList`: the plain elements of the patch list must appear in the
/// `$setElementOrder` list, in the same relative order.
fn validate_order(patch: &[Value], order: &[Value], key: Option<&'static str>, at: &Path<'_>) -> Merged<()> {
    if order.is_empty() || patch.is_empty() {
        return Ok(());
    }
    let mut items = Vec::with_capacity(patch.len());
    for item in patch {
        if key.is_some() {
            let Value::Object(element) = item else {
                return Err(type_mismatch(at, "an object", item));
            };
            if element.get(PATCH).and_then(Value::as_str) == Some("delete") {
                continue;
            }
        }
        items.push(item);
    }
    let (mut at_item, mut at_order) = (0, 0);
    while let (Some(item), Some(entry)) = (items.get(at_item), order.get(at_order)) {
        if item.get(PATCH).is_some() {
            at_item += 1;
            continue;
        }
        if identity(item, key, at)? == identity(entry, key, at)? {
            at_item += 1;
        }
        at_order += 1;
    }
    if at_item < items.len() && at_order >= order.len() {
        return Err(StrategicMergeError::OrderMismatch { path: at.render() });
    }
    Ok(())
}

/// Kubernetes' `normalizeElementOrder`: the elements named by `patch_order` come in that order, the others
/// in their `server_order`, and the two sequences are interleaved so that server elements stay in front of
/// the patch elements that followed them in the original list.
fn normalize_order(
    merged: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    key: Option<&'static str>,
    at: &Path<'_>,
) -> Merged<Vec<Value>> {
    let position = |order: &[Value], id: &Value| order.iter().position(|entry| entry == id);
    let mut from_patch = Vec::new();
    let mut server_only = Vec::new();
    for item in merged {
        let id = identity(&item, key, at)?;
        let server = position(server_order, id);
        match position(patch_order, id) {
            Some(rank) => from_patch.push((rank, server, item)),
            None => server_only.push((server, item)),
        }
    }
    // Stable sorts, as Go's `sort.SliceStable`.
    from_patch.sort_by_key(|(rank, _, _)| *rank);
    server_only.sort_by_key(|(server, _)| server.unwrap_or(usize::MAX));

    // mergeSortedSlice: a server element goes first only if both are in the original list and it came first.
    let mut result = Vec::with_capacity(from_patch.len() + server_only.len());
    let mut server_only = server_only.into_iter().peekable();
    let mut from_patch = from_patch.into_iter().peekable();
    loop {
        let server_first = match (server_only.peek(), from_patch.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((left, _)), Some((_, right, _))) => matches!((left, right), (Some(l), Some(r)) if l < r),
        };
        if server_first {
            result.extend(server_only.next().map(|(_, item)| item));
        } else {
            result.extend(from_patch.next().map(|(_, _, item)| item));
        }
    }
    Ok(result)
}

/// What identifies a list element: its merge key value, or the element itself in a list of scalars.
fn identity<'v>(item: &'v Value, key: Option<&'static str>, at: &Path<'_>) -> Merged<&'v Value> {
    let Some(key) = key else {
        return Ok(item);
    };
    let Value::Object(element) = item else {
        return Err(type_mismatch(at, "an object", item));
    };
    element.get(key).ok_or_else(|| missing_merge_key(at, key))
}

fn identities(items: &[Value], key: Option<&'static str>, at: &Path<'_>) -> Merged<Vec<Value>> {
    items.iter().map(|item| identity(item, key, at).cloned()).collect()
}

/// The JSON types as Kubernetes' decoder tells them apart (integers and floats are distinct Go types).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JsonType {
    Null,
    Bool,
    Integer,
    Float,
    String,
    List,
    Object,
}

fn json_type(value: &Value) -> JsonType {
    match value {
        Value::Null => JsonType::Null,
        Value::Bool(_) => JsonType::Bool,
        Value::Number(number) if number.is_f64() => JsonType::Float,
        Value::Number(_) => JsonType::Integer,
        Value::String(_) => JsonType::String,
        Value::Array(_) => JsonType::List,
        Value::Object(_) => JsonType::Object,
    }
}

/// Kubernetes' `sliceElementType`: the common type of the elements of a list and its patch.
fn element_type<'v>(items: impl Iterator<Item = &'v Value>, at: &Path<'_>) -> Merged<Option<JsonType>> {
    let mut common = None;
    for item in items {
        let found = json_type(item);
        match common {
            None if found == JsonType::List => {
                return Err(StrategicMergeError::ListOfLists { path: at.render() });
            }
            None => common = Some(found),
            Some(common) if common != found => {
                return Err(StrategicMergeError::MixedElementTypes { path: at.render() });
            }
            Some(_) => {}
        }
    }
    Ok(common)
}

/// A patch value taken as it is, without the parts that only make sense in a patch: objects carrying
/// `$patch` (dropped whole, as Kubernetes' `removeDirectives` does), `null` members (as its
/// `discardNullValuesFromPatch` does) and directive keys. `None` when the value itself carries `$patch`.
fn clean(value: &Value) -> Option<Value> {
    match value {
        Value::Object(map) if map.get(PATCH).is_some_and(|directive| !directive.is_null()) => None,
        Value::Object(map) => Some(Value::Object(clean_map(map))),
        Value::Array(items) => Some(Value::Array(clean_list(items))),
        scalar => Some(scalar.clone()),
    }
}

fn clean_map(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .filter(|(key, value)| !value.is_null() && !is_directive(key))
        .filter_map(|(key, value)| Some((key.clone(), clean(value)?)))
        .collect()
}

fn clean_list(items: &[Value]) -> Vec<Value> {
    items.iter().filter_map(clean).collect()
}

fn is_directive(key: &str) -> bool {
    key == PATCH
        || key == RETAIN_KEYS
        || key.starts_with(SET_ELEMENT_ORDER)
        || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn type_mismatch(at: &Path<'_>, expected: &'static str, found: &Value) -> StrategicMergeError {
    StrategicMergeError::TypeMismatch { path: at.render(), expected, found: type_name(found) }
}

fn missing_merge_key(at: &Path<'_>, key: &'static str) -> StrategicMergeError {
    StrategicMergeError::MissingMergeKey { path: at.render(), key }
}

fn invalid_directive(at: &Path<'_>, directive: &str, reason: &'static str) -> StrategicMergeError {
    StrategicMergeError::InvalidDirective { path: at.render(), directive: directive.to_owned(), reason }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// One successful patch: `apply(kind, original, patch) == expected`.
    struct Case {
        name: &'static str,
        kind: &'static str,
        original: Value,
        patch: Value,
        expected: Value,
    }

    fn check(cases: Vec<Case>) {
        for case in cases {
            match apply(case.kind, &case.original, &case.patch) {
                Ok(patched) => assert_eq!(patched, case.expected, "{}", case.name),
                Err(error) => panic!("{}: {error}", case.name),
            }
        }
    }

    fn deployment(containers: &Value) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": containers}
                }
            }
        })
    }

    /// A patch of the pod template of a workload.
    fn template_patch(spec: &Value) -> Value {
        json!({"spec": {"template": {"spec": spec}}})
    }

    fn pod_spec(spec: &Value) -> Value {
        json!({"metadata": {"name": "p"}, "spec": spec})
    }

    #[test]
    fn maps_merge_recursively_and_null_deletes() {
        check(vec![
            Case {
                name: "recursive map merge keeps untouched fields",
                kind: "Deployment",
                original: json!({
                    "metadata": {"name": "web", "labels": {"app": "web"}},
                    "spec": {"replicas": 1, "paused": false}
                }),
                patch: json!({"metadata": {"labels": {"tier": "frontend"}}, "spec": {"replicas": 3}}),
                expected: json!({
                    "metadata": {"name": "web", "labels": {"app": "web", "tier": "frontend"}},
                    "spec": {"replicas": 3, "paused": false}
                }),
            },
            Case {
                name: "kubectl label app- removes the label with null",
                kind: "Pod",
                original: json!({"metadata": {"name": "p", "labels": {"app": "web", "tier": "fe"}}}),
                patch: json!({"metadata": {"labels": {"app": null}}}),
                expected: json!({"metadata": {"name": "p", "labels": {"tier": "fe"}}}),
            },
            Case {
                name: "null on an absent key changes nothing, a new object is added without its nulls",
                kind: "Pod",
                original: json!({"metadata": {"name": "p"}}),
                patch: json!({"metadata": {"labels": null, "annotations": {"a": null}}}),
                expected: json!({"metadata": {"name": "p", "annotations": {}}}),
            },
            Case {
                name: "null deletes a whole object",
                kind: "Deployment",
                original: json!({"spec": {"replicas": 1, "strategy": {"type": "Recreate"}}}),
                patch: json!({"spec": {"strategy": null}}),
                expected: json!({"spec": {"replicas": 1}}),
            },
            Case {
                name: "a new subtree loses its nulls and directives",
                kind: "Pod",
                original: pod_spec(&json!({})),
                patch: pod_spec(&json!({"affinity": {
                    "nodeAffinity": null,
                    "podAffinity": {"$patch": "delete"},
                    "podAntiAffinity": {
                        "$retainKeys": ["x"],
                        "x": 1,
                        "$setElementOrder/y": [],
                        "y": [1, {"$patch": "delete"}]
                    }
                }})),
                expected: pod_spec(&json!({"affinity": {"podAntiAffinity": {"x": 1, "y": [1]}}})),
            },
            Case {
                name: "a value of another type replaces the original",
                kind: "ConfigMap",
                original: json!({"data": {"a": "1"}, "binaryData": "x"}),
                patch: json!({"data": "flat", "binaryData": {"b": "eA=="}}),
                expected: json!({"data": "flat", "binaryData": {"b": "eA=="}}),
            },
        ]);
    }

    #[test]
    fn objects_take_patch_directives_and_strategies() {
        check(vec![
            Case {
                name: "$patch: replace on a map replaces it",
                kind: "Pod",
                original: pod_spec(&json!({"nodeSelector": {"disk": "hdd", "zone": "a"}})),
                patch: pod_spec(&json!({"nodeSelector": {"$patch": "replace", "disk": "ssd"}})),
                expected: pod_spec(&json!({"nodeSelector": {"disk": "ssd"}})),
            },
            Case {
                name: "$patch: delete on a map leaves an empty map",
                kind: "Pod",
                original: pod_spec(&json!({"nodeSelector": {"disk": "hdd"}})),
                patch: pod_spec(&json!({"nodeSelector": {"$patch": "delete"}})),
                expected: pod_spec(&json!({"nodeSelector": {}})),
            },
            Case {
                name: "$patch: delete on an absent map adds nothing",
                kind: "Pod",
                original: pod_spec(&json!({})),
                patch: pod_spec(&json!({"nodeSelector": {"$patch": "delete"}})),
                expected: pod_spec(&json!({})),
            },
            Case {
                name: "patchStrategy replace on PodDisruptionBudget spec.selector",
                kind: "PodDisruptionBudget",
                original: json!({"spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}}),
                patch: json!({"spec": {"selector": {
                    "matchExpressions": [{"key": "app", "operator": "Exists"}]
                }}}),
                expected: json!({"spec": {"minAvailable": 1, "selector": {
                    "matchExpressions": [{"key": "app", "operator": "Exists"}]
                }}}),
            },
            Case {
                name: "kubectl rollout restart",
                kind: "Deployment",
                original: deployment(&json!([{"name": "web", "image": "v1"}])),
                patch: json!({"spec": {"template": {"metadata": {"annotations": {
                    "kubectl.kubernetes.io/restartedAt": "2026-01-02T03:04:05Z"
                }}}}}),
                expected: {
                    let mut expected = deployment(&json!([{"name": "web", "image": "v1"}]));
                    expected["spec"]["template"]["metadata"]["annotations"] =
                        json!({"kubectl.kubernetes.io/restartedAt": "2026-01-02T03:04:05Z"});
                    expected
                },
            },
        ]);
    }

    #[test]
    fn untagged_lists_are_replaced() {
        check(vec![
            Case {
                name: "untagged lists (args) are replaced",
                kind: "Deployment",
                original: deployment(&json!([{"name": "web", "image": "v1", "args": ["a", "b"]}])),
                patch: template_patch(&json!({"containers": [{"name": "web", "args": ["c"]}]})),
                expected: deployment(&json!([{"name": "web", "image": "v1", "args": ["c"]}])),
            },
            Case {
                name: "tolerations are atomic",
                kind: "Pod",
                original: pod_spec(&json!({"tolerations": [{"key": "a", "operator": "Exists"}]})),
                patch: pod_spec(
                    &json!({"tolerations": [{"key": "b", "operator": "Exists", "effect": null}]}),
                ),
                expected: pod_spec(&json!({"tolerations": [{"key": "b", "operator": "Exists"}]})),
            },
        ]);
    }

    #[test]
    fn lists_merge_by_key() {
        check(vec![
            Case {
                name: "containers merge by name",
                kind: "Deployment",
                original: deployment(
                    &json!([{"name": "web", "image": "v1"}, {"name": "log", "image": "l1"}]),
                ),
                patch: template_patch(&json!({"containers": [{"name": "log", "image": "l2"}]})),
                expected: deployment(
                    &json!([{"name": "web", "image": "v1"}, {"name": "log", "image": "l2"}]),
                ),
            },
            Case {
                // mergeSortedSlice: an element the original lacks is placed before the original ones.
                name: "a new element without $setElementOrder comes first",
                kind: "Deployment",
                original: deployment(&json!([{"name": "web", "image": "v1"}])),
                patch: template_patch(&json!({"containers": [{"name": "log", "image": "l1", "tty": null}]})),
                expected: deployment(
                    &json!([{"name": "log", "image": "l1"}, {"name": "web", "image": "v1"}]),
                ),
            },
            Case {
                name: "$patch: delete removes the element with that key",
                kind: "Deployment",
                original: deployment(
                    &json!([{"name": "web", "image": "v1"}, {"name": "log", "image": "l1"}]),
                ),
                patch: template_patch(&json!({"containers": [{"name": "log", "$patch": "delete"}]})),
                expected: deployment(&json!([{"name": "web", "image": "v1"}])),
            },
            Case {
                name: "$patch: delete of an absent element changes nothing",
                kind: "Deployment",
                original: deployment(&json!([{"name": "web", "image": "v1"}])),
                patch: template_patch(&json!({"containers": [{"name": "x", "$patch": "delete"}]})),
                expected: deployment(&json!([{"name": "web", "image": "v1"}])),
            },
            Case {
                name: "$patch: replace in a list replaces the whole list",
                kind: "Deployment",
                original: deployment(
                    &json!([{"name": "web", "image": "v1"}, {"name": "log", "image": "l1"}]),
                ),
                patch: json!({"spec": {"template": {"spec": {"containers": [
                    {"$patch": "replace"},
                    {"name": "api", "image": "a1"}
                ]}}}}),
                expected: deployment(&json!([{"name": "api", "image": "a1"}])),
            },
            Case {
                name: "an empty patch list leaves a merging list alone",
                kind: "Deployment",
                original: deployment(&json!([{"name": "web", "image": "v1"}])),
                patch: template_patch(&json!({"containers": []})),
                expected: deployment(&json!([{"name": "web", "image": "v1"}])),
            },
        ]);
    }

    #[test]
    fn container_lists_merge_by_their_own_keys() {
        check(vec![
            Case {
                name: "container ports merge by containerPort",
                kind: "Pod",
                original: pod_spec(&json!({"containers": [{"name": "web", "ports": [
                    {"containerPort": 80, "name": "http"},
                    {"containerPort": 443, "name": "https"}
                ]}]})),
                patch: pod_spec(&json!({"containers": [{"name": "web", "ports": [
                    {"containerPort": 80, "protocol": "TCP"}
                ]}]})),
                expected: pod_spec(&json!({"containers": [{"name": "web", "ports": [
                    {"containerPort": 80, "name": "http", "protocol": "TCP"},
                    {"containerPort": 443, "name": "https"}
                ]}]})),
            },
            Case {
                name: "env merges by name, with update and delete",
                kind: "Deployment",
                original: deployment(&json!([{"name": "web", "env": [
                    {"name": "A", "value": "1"},
                    {"name": "B", "value": "2"},
                    {"name": "C", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
                ]}])),
                patch: json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "env": [
                    {"name": "B", "$patch": "delete"},
                    {"name": "C", "value": "3", "valueFrom": null}
                ]}]}}}}),
                expected: deployment(&json!([{"name": "web", "env": [
                    {"name": "A", "value": "1"},
                    {"name": "C", "value": "3"}
                ]}])),
            },
            Case {
                name: "volumeMounts merge by mountPath",
                kind: "Pod",
                original: pod_spec(&json!({"containers": [{"name": "web", "volumeMounts": [
                    {"name": "data", "mountPath": "/data"},
                    {"name": "cache", "mountPath": "/cache"}
                ]}]})),
                patch: pod_spec(&json!({"containers": [{"name": "web", "volumeMounts": [
                    {"name": "data", "mountPath": "/data", "readOnly": true}
                ]}]})),
                expected: pod_spec(&json!({"containers": [{"name": "web", "volumeMounts": [
                    {"name": "data", "mountPath": "/data", "readOnly": true},
                    {"name": "cache", "mountPath": "/cache"}
                ]}]})),
            },
            Case {
                name: "initContainers and ephemeralContainers merge by name too",
                kind: "Pod",
                original: pod_spec(&json!({
                    "initContainers": [{"name": "init", "image": "i1"}],
                    "ephemeralContainers": [
                        {"name": "debug", "image": "d1", "env": [{"name": "A", "value": "1"}]}
                    ]
                })),
                patch: pod_spec(&json!({
                    "initContainers": [{"name": "init", "image": "i2"}],
                    "ephemeralContainers": [{"name": "debug", "env": [{"name": "B", "value": "2"}]}]
                })),
                expected: pod_spec(&json!({
                    "initContainers": [{"name": "init", "image": "i2"}],
                    "ephemeralContainers": [{"name": "debug", "image": "d1", "env": [
                        {"name": "B", "value": "2"},
                        {"name": "A", "value": "1"}
                    ]}]
                })),
            },
        ]);
    }

    #[test]
    fn tagged_lists_of_other_kinds() {
        check(vec![
            Case {
                name: "Service spec.ports merge by port",
                kind: "Service",
                original: json!({"spec": {"type": "ClusterIP", "ports": [
                    {"name": "http", "port": 80, "targetPort": 8080},
                    {"name": "https", "port": 443, "targetPort": 8443}
                ]}}),
                patch: json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}),
                expected: json!({"spec": {"type": "ClusterIP", "ports": [
                    {"name": "http", "port": 80, "targetPort": 9090},
                    {"name": "https", "port": 443, "targetPort": 8443}
                ]}}),
            },
            Case {
                name: "status conditions merge by type",
                kind: "Deployment",
                original: json!({"status": {"replicas": 1, "conditions": [
                    {"type": "Available", "status": "False"},
                    {"type": "Progressing", "status": "True"}
                ]}}),
                patch: json!({"status": {"conditions": [{"type": "Available", "status": "True"}]}}),
                expected: json!({"status": {"replicas": 1, "conditions": [
                    {"type": "Available", "status": "True"},
                    {"type": "Progressing", "status": "True"}
                ]}}),
            },
            Case {
                name: "ownerReferences merge by uid",
                kind: "ReplicaSet",
                original: json!({"metadata": {"ownerReferences": [
                    {"uid": "1", "name": "a", "controller": true}
                ]}}),
                patch: json!({"metadata": {"ownerReferences": [{"uid": "1", "controller": false}]}}),
                expected: json!({"metadata": {"ownerReferences": [
                    {"uid": "1", "name": "a", "controller": false}
                ]}}),
            },
            Case {
                name: "finalizers merge as a set",
                kind: "Namespace",
                original: json!({"metadata": {"finalizers": ["a", "b"]}}),
                patch: json!({"metadata": {"finalizers": ["b", "c"]}}),
                expected: json!({"metadata": {"finalizers": ["a", "b", "c"]}}),
            },
            Case {
                name: "Node spec.podCIDRs merge as a set, status.addresses by type",
                kind: "Node",
                original: json!({"spec": {"podCIDRs": ["10.0.0.0/24"]}, "status": {"addresses": [
                    {"type": "InternalIP", "address": "10.1.0.1"}
                ]}}),
                patch: json!({"spec": {"podCIDRs": ["fd00::/64"]}, "status": {"addresses": [
                    {"type": "Hostname", "address": "n1"}
                ]}}),
                expected: json!({"spec": {"podCIDRs": ["fd00::/64", "10.0.0.0/24"]}, "status": {"addresses": [
                    {"type": "Hostname", "address": "n1"},
                    {"type": "InternalIP", "address": "10.1.0.1"}
                ]}}),
            },
            Case {
                name: "the pod template of a CronJob follows the PodSpec rules",
                kind: "CronJob",
                original: json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
                    {"name": "job", "image": "v1", "env": [{"name": "A", "value": "1"}]}
                ]}}}}}}),
                patch: json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
                    {"name": "job", "env": [{"name": "A", "value": "2"}]}
                ]}}}}}}),
                expected: json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
                    {"name": "job", "image": "v1", "env": [{"name": "A", "value": "2"}]}
                ]}}}}}}),
            },
            Case {
                name: "kinds without rules of their own replace their lists",
                kind: "Widget",
                original: json!({"metadata": {"finalizers": ["a"]}, "spec": {"containers": [{"name": "a"}]}}),
                patch: json!({"metadata": {"finalizers": ["b"]}, "spec": {"containers": [{"name": "b"}]}}),
                expected: json!({
                    "metadata": {"finalizers": ["b", "a"]},
                    "spec": {"containers": [{"name": "b"}]}
                }),
            },
        ]);
    }

    #[test]
    fn set_element_order() {
        check(vec![
            Case {
                name: "kubectl apply of a changed image",
                kind: "Deployment",
                original: deployment(
                    &json!([{"name": "web", "image": "v1", "ports": [{"containerPort": 80}]}]),
                ),
                patch: json!({"spec": {"template": {"spec": {
                    "$setElementOrder/containers": [{"name": "web"}],
                    "containers": [{"image": "v2", "name": "web"}]
                }}}}),
                expected: deployment(
                    &json!([{"name": "web", "image": "v2", "ports": [{"containerPort": 80}]}]),
                ),
            },
            Case {
                name: "kubectl set image on the second container",
                kind: "Deployment",
                original: deployment(
                    &json!([{"name": "web", "image": "web:1"}, {"name": "log", "image": "log:1"}]),
                ),
                patch: json!({"spec": {"template": {"spec": {
                    "$setElementOrder/containers": [{"name": "web"}, {"name": "log"}],
                    "containers": [{"image": "log:2", "name": "log"}]
                }}}}),
                expected: deployment(
                    &json!([{"name": "web", "image": "web:1"}, {"name": "log", "image": "log:2"}]),
                ),
            },
            Case {
                name: "$setElementOrder alone reorders",
                kind: "Deployment",
                original: deployment(&json!([{"name": "a"}, {"name": "b"}])),
                patch: template_patch(
                    &json!({"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}),
                ),
                expected: deployment(&json!([{"name": "b"}, {"name": "a"}])),
            },
            Case {
                name: "$setElementOrder places a new element and keeps a server-only one in place",
                kind: "Deployment",
                original: deployment(&json!([{"name": "a"}, {"name": "sidecar"}, {"name": "b"}])),
                patch: json!({"spec": {"template": {"spec": {
                    "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
                    "containers": [{"name": "c", "image": "c1"}]
                }}}}),
                expected: deployment(
                    &json!([{"name": "a"}, {"name": "sidecar"}, {"name": "b"}, {"name": "c", "image": "c1"}]),
                ),
            },
            Case {
                // Go places server-only elements by the original slice as edited in place, [b, sidecar,
                // c], so the sidecar stays before c (Kubernetes' test "add map and delete map from merging
                // list").
                name: "$setElementOrder with a deletion orders like Kubernetes",
                kind: "Deployment",
                original: deployment(&json!([{"name": "a"}, {"name": "b"}, {"name": "sidecar"}])),
                patch: json!({"spec": {"template": {"spec": {
                    "$setElementOrder/containers": [{"name": "b"}, {"name": "c"}],
                    "containers": [{"name": "c"}, {"name": "a", "$patch": "delete"}]
                }}}}),
                expected: deployment(&json!([{"name": "b"}, {"name": "sidecar"}, {"name": "c"}])),
            },
            Case {
                name: "$setElementOrder on an absent list takes the patch list",
                kind: "Pod",
                original: pod_spec(&json!({})),
                patch: pod_spec(&json!({
                    "$setElementOrder/volumes": [{"name": "v"}],
                    "volumes": [{"name": "v", "emptyDir": {}}]
                })),
                expected: pod_spec(&json!({"volumes": [{"name": "v", "emptyDir": {}}]})),
            },
            Case {
                name: "$setElementOrder of an absent list without patch list is ignored",
                kind: "Pod",
                original: pod_spec(&json!({})),
                patch: pod_spec(&json!({"$setElementOrder/volumes": [{"name": "v"}]})),
                expected: pod_spec(&json!({})),
            },
        ]);
    }

    #[test]
    fn retain_keys() {
        check(vec![
            Case {
                name: "$retainKeys on spec.strategy switching RollingUpdate to Recreate",
                kind: "Deployment",
                original: json!({"spec": {"replicas": 2, "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}
                }}}),
                patch: json!({"spec": {"strategy": {
                    "$retainKeys": ["type"],
                    "type": "Recreate",
                    "rollingUpdate": null
                }}}),
                expected: json!({"spec": {"replicas": 2, "strategy": {"type": "Recreate"}}}),
            },
            Case {
                name: "$retainKeys on a volume switching its source",
                kind: "Pod",
                original: pod_spec(
                    &json!({"volumes": [{"name": "v", "emptyDir": {}}, {"name": "w", "emptyDir": {}}]}),
                ),
                patch: pod_spec(&json!({
                    "$setElementOrder/volumes": [{"name": "v"}, {"name": "w"}],
                    "volumes": [
                        {"$retainKeys": ["configMap", "name"], "configMap": {"name": "c"}, "name": "v"}
                    ]
                })),
                expected: pod_spec(&json!({"volumes": [
                    {"name": "v", "configMap": {"name": "c"}},
                    {"name": "w", "emptyDir": {}}
                ]})),
            },
        ]);
    }

    #[test]
    fn delete_from_primitive_list() {
        check(vec![
            Case {
                name: "$deleteFromPrimitiveList/finalizers",
                kind: "Pod",
                original: json!({"metadata": {"finalizers": ["a", "b", "c", "b"]}}),
                patch: json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "x"]}}),
                expected: json!({"metadata": {"finalizers": ["a", "c"]}}),
            },
            Case {
                name: "kubectl apply adding and removing finalizers",
                kind: "Pod",
                original: json!({"metadata": {"finalizers": ["a", "b"]}}),
                patch: json!({"metadata": {
                    "$setElementOrder/finalizers": ["a", "c"],
                    "$deleteFromPrimitiveList/finalizers": ["b"],
                    "finalizers": ["c"]
                }}),
                expected: json!({"metadata": {"finalizers": ["a", "c"]}}),
            },
            Case {
                name: "$deleteFromPrimitiveList works on untagged lists and ignores absent ones",
                kind: "Pod",
                original: pod_spec(&json!({"containers": [{"name": "web", "args": ["-v", "-x"]}]})),
                patch: pod_spec(&json!({"containers": [{
                    "name": "web",
                    "$deleteFromPrimitiveList/args": ["-x"],
                    "$deleteFromPrimitiveList/command": ["sh"]
                }]})),
                expected: pod_spec(&json!({"containers": [{"name": "web", "args": ["-v"]}]})),
            },
            Case {
                name: "$deleteFromPrimitiveList never sets a non-list value",
                kind: "Pod",
                original: json!({"metadata": {"name": "p", "labels": {"a": "b"}}}),
                patch: json!({"metadata": {
                    "$deleteFromPrimitiveList/name": "q",
                    "$deleteFromPrimitiveList/labels": {"c": "d"}
                }}),
                expected: json!({"metadata": {"name": "p", "labels": {"a": "b"}}}),
            },
        ]);
    }

    /// One rejected patch: `apply(kind, original, patch) == Err(expected)`.
    struct Rejected {
        name: &'static str,
        original: Value,
        patch: Value,
        expected: StrategicMergeError,
    }

    fn reject(cases: Vec<Rejected>) {
        for case in cases {
            assert_eq!(apply("Pod", &case.original, &case.patch), Err(case.expected), "{}", case.name);
        }
    }

    fn path(path: &str) -> String {
        path.to_owned()
    }

    #[test]
    fn malformed_documents_and_patch_types_are_rejected() {
        reject(vec![
            Rejected {
                name: "a patch that is not an object",
                original: json!({}),
                patch: json!([{"op": "add"}]),
                expected: StrategicMergeError::PatchNotObject("a list"),
            },
            Rejected {
                name: "an original that is not an object",
                original: json!("pod"),
                patch: json!({}),
                expected: StrategicMergeError::OriginalNotObject("a string"),
            },
            Rejected {
                name: "$patch: merge on a map",
                original: pod_spec(&json!({})),
                patch: json!({"spec": {"$patch": "merge"}}),
                expected: StrategicMergeError::UnknownPatchType {
                    path: path(".spec"),
                    value: "\"merge\"".into(),
                },
            },
            Rejected {
                name: "an unknown $patch on the object",
                original: json!({}),
                patch: json!({"$patch": null}),
                expected: StrategicMergeError::UnknownPatchType { path: path("."), value: "null".into() },
            },
            Rejected {
                name: "$patch: merge in a list",
                original: pod_spec(&json!({"containers": [{"name": "a"}]})),
                patch: pod_spec(&json!({"containers": [{"$patch": "merge"}]})),
                expected: StrategicMergeError::MergeDirectiveInList { path: path(".spec.containers") },
            },
            Rejected {
                name: "an unknown $patch in a list",
                original: pod_spec(&json!({"containers": [{"name": "a"}]})),
                patch: pod_spec(&json!({"containers": [{"$patch": "remove", "name": "a"}]})),
                expected: StrategicMergeError::UnknownPatchType {
                    path: path(".spec.containers"),
                    value: "\"remove\"".into(),
                },
            },
        ]);
    }

    #[test]
    fn malformed_lists_are_rejected() {
        reject(vec![
            Rejected {
                name: "$patch: delete without the merge key",
                original: pod_spec(&json!({"containers": [{"name": "a"}]})),
                patch: pod_spec(&json!({"containers": [{"$patch": "delete", "image": "x"}]})),
                expected: StrategicMergeError::MissingMergeKey {
                    path: path(".spec.containers"),
                    key: "name",
                },
            },
            Rejected {
                name: "a patch element without the merge key",
                original: pod_spec(&json!({"containers": [{"name": "a"}]})),
                patch: pod_spec(&json!({"containers": [{"image": "x"}]})),
                expected: StrategicMergeError::MissingMergeKey {
                    path: path(".spec.containers"),
                    key: "name",
                },
            },
            Rejected {
                name: "an original element without the merge key",
                original: pod_spec(&json!({"containers": [{"image": "x"}]})),
                patch: pod_spec(&json!({"containers": [{"name": "a"}]})),
                expected: StrategicMergeError::MissingMergeKey {
                    path: path(".spec.containers"),
                    key: "name",
                },
            },
            Rejected {
                name: "scalars in a list merged by key",
                original: pod_spec(&json!({"containers": ["a"]})),
                patch: pod_spec(&json!({"containers": ["b"]})),
                expected: StrategicMergeError::TypeMismatch {
                    path: path(".spec.containers"),
                    expected: "an object",
                    found: "a string",
                },
            },
            Rejected {
                name: "list elements of different types",
                original: pod_spec(&json!({"containers": [{"name": "a"}]})),
                patch: pod_spec(&json!({"containers": ["b"]})),
                expected: StrategicMergeError::MixedElementTypes { path: path(".spec.containers") },
            },
            Rejected {
                name: "integers and floats do not mix either",
                original: json!({"metadata": {"finalizers": [1]}}),
                patch: json!({"metadata": {"finalizers": [1.5]}}),
                expected: StrategicMergeError::MixedElementTypes { path: path(".metadata.finalizers") },
            },
            Rejected {
                name: "a list of lists",
                original: json!({"metadata": {"finalizers": [["a"]]}}),
                patch: json!({"metadata": {"finalizers": [["b"]]}}),
                expected: StrategicMergeError::ListOfLists { path: path(".metadata.finalizers") },
            },
        ]);
    }

    #[test]
    fn malformed_retain_keys_are_rejected() {
        reject(vec![
            Rejected {
                name: "$retainKeys that is not a list",
                original: json!({"spec": {"strategy": {"type": "Recreate"}}}),
                patch: json!({"spec": {"strategy": {"$retainKeys": "type"}}}),
                expected: StrategicMergeError::InvalidDirective {
                    path: path(".spec.strategy"),
                    directive: "$retainKeys".into(),
                    reason: "the value must be a list of field names",
                },
            },
            Rejected {
                name: "$retainKeys that omits a patched field",
                original: json!({"spec": {"strategy": {"type": "Recreate"}}}),
                patch: json!({"spec": {"strategy": {
                    "$retainKeys": ["type"],
                    "type": "RollingUpdate",
                    "rollingUpdate": {}
                }}}),
                expected: StrategicMergeError::NotRetained {
                    path: path(".spec.strategy"),
                    field: "rollingUpdate".into(),
                },
            },
        ]);
    }

    #[test]
    fn malformed_list_directives_are_rejected() {
        reject(vec![
            Rejected {
                name: "$setElementOrder without a field",
                original: pod_spec(&json!({})),
                patch: pod_spec(&json!({"$setElementOrder": []})),
                expected: StrategicMergeError::InvalidDirective {
                    path: path(".spec"),
                    directive: "$setElementOrder".into(),
                    reason: "the directive must be followed by /<field>",
                },
            },
            Rejected {
                name: "$setElementOrder that is not a list",
                original: pod_spec(&json!({})),
                patch: pod_spec(&json!({"$setElementOrder/containers": {"name": "a"}})),
                expected: StrategicMergeError::TypeMismatch {
                    path: path(".spec.$setElementOrder/containers"),
                    expected: "a list",
                    found: "an object",
                },
            },
            Rejected {
                name: "$setElementOrder contradicting the patch list",
                original: pod_spec(&json!({"containers": [{"name": "a"}, {"name": "b"}]})),
                patch: pod_spec(&json!({
                    "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                    "containers": [{"name": "b"}, {"name": "a"}]
                })),
                expected: StrategicMergeError::OrderMismatch { path: path(".spec.containers") },
            },
            Rejected {
                name: "$setElementOrder entry without the merge key",
                original: pod_spec(&json!({"containers": [{"name": "a"}]})),
                patch: pod_spec(&json!({"$setElementOrder/containers": [{"image": "a"}]})),
                expected: StrategicMergeError::MissingMergeKey {
                    path: path(".spec.containers"),
                    key: "name",
                },
            },
            Rejected {
                name: "$setElementOrder with a patch value that is not a list",
                original: pod_spec(&json!({"containers": [{"name": "a"}]})),
                patch: pod_spec(&json!({"$setElementOrder/containers": [{"name": "a"}], "containers": null})),
                expected: StrategicMergeError::TypeMismatch {
                    path: path(".spec.containers"),
                    expected: "a list",
                    found: "null",
                },
            },
            Rejected {
                name: "$setElementOrder over an original value that is not a list",
                original: pod_spec(&json!({"containers": {"name": "a"}})),
                patch: pod_spec(&json!({"$setElementOrder/containers": [{"name": "a"}]})),
                expected: StrategicMergeError::TypeMismatch {
                    path: path(".spec.containers"),
                    expected: "a list",
                    found: "an object",
                },
            },
            Rejected {
                name: "$setElementOrder on a list of objects without merge key",
                original: pod_spec(&json!({"tolerations": [{"key": "a"}]})),
                patch: pod_spec(&json!({"$setElementOrder/tolerations": [{"key": "a"}]})),
                expected: StrategicMergeError::NoMergeKey { path: path(".spec.tolerations") },
            },
            Rejected {
                name: "$deleteFromPrimitiveList without a field",
                original: json!({"metadata": {}}),
                patch: json!({"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}}),
                expected: StrategicMergeError::InvalidDirective {
                    path: path(".metadata"),
                    directive: "$deleteFromPrimitiveListfinalizers".into(),
                    reason: "the directive must be followed by /<field>",
                },
            },
            Rejected {
                name: "$deleteFromPrimitiveList on a list of objects without merge key",
                original: pod_spec(&json!({"tolerations": [{"key": "a"}]})),
                patch: pod_spec(&json!({"$deleteFromPrimitiveList/tolerations": [{"key": "a"}]})),
                expected: StrategicMergeError::NoMergeKey { path: path(".spec.tolerations") },
            },
        ]);
    }

    #[test]
    fn status_codes_follow_the_kubernetes_api_server() {
        let pod = pod_spec(&json!({"containers": [{"name": "a"}]}));
        let cases = [
            (json!([]), 400),
            (json!({"spec": {"$retainKeys": "containers"}}), 400),
            (json!({"spec": {"$retainKeys": [], "containers": []}}), 400),
            (json!({"spec": {"$setElementOrder": []}}), 400),
            (json!({"spec": {"$deleteFromPrimitiveList": []}}), 400),
            (json!({"spec": {"containers": [{"image": "b"}]}}), 500),
            (json!({"spec": {"containers": [{"$patch": "merge"}]}}), 500),
            (json!({"spec": {"$setElementOrder/containers": {}}}), 500),
        ];
        for (patch, status) in cases {
            let error = apply("Pod", &pod, &patch).expect_err("a malformed patch");
            assert_eq!(error.status_code(), status, "{error}");
        }
        let nested = json!({"metadata": {"finalizers": [["a"]]}});
        let error = apply("Pod", &nested, &nested).expect_err("a list of lists");
        assert_eq!(error.status_code(), 422, "{error}");
    }

    #[test]
    fn error_messages_are_lowercase_sentences_without_period() {
        let samples = [
            apply("Pod", &json!({}), &json!(null)),
            apply("Pod", &json!([]), &json!({})),
            apply("Pod", &json!({"spec": {}}), &json!({"spec": {"$patch": "merge"}})),
            apply(
                "Pod",
                &pod_spec(&json!({"containers": [{"name": "a"}]})),
                &pod_spec(&json!({"containers": [{}]})),
            ),
            apply("Pod", &json!({"spec": {}}), &json!({"spec": {"$retainKeys": [], "a": 1}})),
            apply("Pod", &json!({}), &json!({"$setElementOrder": []})),
        ];
        for sample in samples {
            let message = sample.expect_err("a malformed patch").to_string();
            assert!(message.starts_with(|c: char| c.is_ascii_lowercase()), "{message}");
            assert!(!message.ends_with('.'), "{message}");
        }
        let missing = StrategicMergeError::MissingMergeKey { path: path(".spec.containers"), key: "name" };
        assert_eq!(
            missing.to_string(),
            "an element of the list at .spec.containers does not contain the declared merge key \"name\""
        );
    }

    /// The `MergeItem` type of Kubernetes' own strategic merge patch tests (`patch_test.go`).
    static MERGE_ITEM: [Field; 4] = [
        keyed_with("mergingList", "name", &MERGE_ITEM),
        set("mergingIntList"),
        keyed_with("mergeItemPtr", "name", &MERGE_ITEM),
        keyed_with("retainKeysMergingList", "name", &MERGE_ITEM),
    ];

    /// Applies each `(name, live object, patch, expected)` case over the `MergeItem` schema.
    fn check_merge_item(cases: Vec<(&str, Value, Value, Value)>) {
        for (name, original, patch, expected) in cases {
            let (Value::Object(original), Value::Object(patch)) = (original, patch) else {
                panic!("{name}: not objects");
            };
            let patched = merge_map(original, &patch, &MERGE_ITEM, &Path::ROOT).map(Value::Object);
            assert_eq!(patched, Ok(expected), "{name}");
        }
    }

    /// Ordering cases from Kubernetes' `patch_test.go`, the patch applied to the live object.
    #[test]
    fn kubernetes_ordering_test_cases() {
        check_merge_item(vec![
            (
                "set elements order in a list with server-only items 2",
                json!({
                    "mergingList": [
                        {"name": 1, "other": "a"},
                        {"name": 2, "value": 2},
                        {"name": 9},
                        {"name": 3, "value": 3},
                        {"name": 4, "value": 4}
                    ]
                }),
                json!({
                    "$setElementOrder/mergingList": [{"name": 2}, {"name": 1}, {"name": 4}, {"name": 3}]
                }),
                json!({
                    "mergingList": [
                        {"name": 2, "value": 2},
                        {"name": 1, "other": "a"},
                        {"name": 9},
                        {"name": 4, "value": 4},
                        {"name": 3, "value": 3}
                    ]
                }),
            ),
            (
                "set elements order in a list with server-only items 3",
                json!({
                    "mergingList": [
                        {"name": 1, "other": "a"},
                        {"name": 2, "value": 2},
                        {"name": 7},
                        {"name": 9},
                        {"name": 8},
                        {"name": 3, "value": 3},
                        {"name": 4, "value": 4}
                    ]
                }),
                json!({
                    "$setElementOrder/mergingList": [{"name": 2}, {"name": 1}, {"name": 4}, {"name": 3}]
                }),
                json!({
                    "mergingList": [
                        {"name": 2, "value": 2},
                        {"name": 1, "other": "a"},
                        {"name": 7},
                        {"name": 9},
                        {"name": 8},
                        {"name": 4, "value": 4},
                        {"name": 3, "value": 3}
                    ]
                }),
            ),
            (
                "add map and delete map from merging list",
                json!({"mergingList": [{"name": 1}, {"name": 2, "other": "b"}, {"name": 4, "other": "c"}]}),
                json!({
                    "$setElementOrder/mergingList": [{"name": 2}, {"name": 3}],
                    "mergingList": [{"name": 3}, {"name": 1, "$patch": "delete"}]
                }),
                json!({"mergingList": [{"name": 2, "other": "b"}, {"name": 4, "other": "c"}, {"name": 3}]}),
            ),
            (
                "add map to merging list by pointer",
                json!({"mergeItemPtr": [{"name": 1, "other": "a"}, {"name": 3}]}),
                json!({
                    "$setElementOrder/mergeItemPtr": [{"name": 1}, {"name": 2}],
                    "mergeItemPtr": [{"name": 2}]
                }),
                json!({"mergeItemPtr": [{"name": 1, "other": "a"}, {"name": 2}, {"name": 3}]}),
            ),
        ]);
    }

    /// Duplicate, primitive-list and `$retainKeys` cases from Kubernetes' `patch_test.go`.
    #[test]
    fn kubernetes_other_test_cases() {
        check_merge_item(vec![
            (
                "behavior of set element order for a merging list with duplicate",
                json!({
                    "mergingList": [
                        {"name": 1},
                        {"name": 2, "value": "dup1"},
                        {"name": 3},
                        {"name": 2, "value": "dup2"},
                        {"name": 4}
                    ]
                }),
                json!({
                    "$setElementOrder/mergingList": [
                        {"name": 2},
                        {"name": 1},
                        {"name": 4},
                        {"name": 3},
                        {"name": 2}
                    ]
                }),
                json!({
                    "mergingList": [
                        {"name": 2, "value": "dup1"},
                        {"name": 2, "value": "dup2"},
                        {"name": 1},
                        {"name": 4},
                        {"name": 3}
                    ]
                }),
            ),
            (
                "behavior of set element order for a merging int list with duplicate",
                json!({"mergingIntList": [1, 2, 3, 2, 4]}),
                json!({"$setElementOrder/mergingIntList": [2, 1, 4, 3, 2]}),
                json!({"mergingIntList": [2, 2, 1, 4, 3]}),
            ),
            (
                "add and delete an item in a int list and preserve order",
                json!({"mergingIntList": [1, 2, 3]}),
                json!({
                    "$setElementOrder/mergingIntList": [4, 2, 1],
                    "mergingIntList": [4],
                    "$deleteFromPrimitiveList/mergingIntList": [3]
                }),
                json!({"mergingIntList": [4, 2, 1]}),
            ),
            (
                "retainKeys list of maps changes a field and clear a field",
                json!({
                    "retainKeysMergingList": [
                        {"name": "bar"},
                        {"name": "foo", "value": "old", "other": "x"}
                    ]
                }),
                json!({
                    "$setElementOrder/retainKeysMergingList": [{"name": "bar"}, {"name": "foo"}],
                    "retainKeysMergingList": [
                        {"$retainKeys": ["name", "value"], "name": "foo", "value": "new"}
                    ]
                }),
                json!({"retainKeysMergingList": [{"name": "bar"}, {"name": "foo", "value": "new"}]}),
            ),
            (
                "delete and reorder in one list, reorder in another",
                json!({
                    "mergingList": [{"name": "a", "value": "a"}, {"name": "b", "value": "b"}],
                    "mergeItemPtr": [{"name": "c", "value": "c"}, {"name": "d", "value": "d"}]
                }),
                json!({
                    "$setElementOrder/mergingList": [{"name": "b"}],
                    "$setElementOrder/mergeItemPtr": [{"name": "d"}, {"name": "c"}],
                    "mergingList": [{"$patch": "delete", "name": "a"}]
                }),
                json!({
                    "mergingList": [{"name": "b", "value": "b"}],
                    "mergeItemPtr": [{"name": "d", "value": "d"}, {"name": "c", "value": "c"}]
                }),
            ),
            (
                "delete all duplicate entries in a merging list",
                json!({
                    "mergingList": [
                        {"name": 1},
                        {"name": 1},
                        {"name": 2, "value": "a"},
                        {"name": 3},
                        {"name": 3}
                    ]
                }),
                json!({"mergingList": [{"name": 1, "$patch": "delete"}, {"name": 3, "$patch": "delete"}]}),
                json!({"mergingList": [{"name": 2, "value": "a"}]}),
            ),
        ]);
    }

    #[test]
    fn list_strategies_follow_the_kubernetes_struct_tags() {
        use ListStrategy::{Atomic, MergeByKey, MergeSet};
        let template = ["spec", "template", "spec"];
        let cases: &[(&str, &[&str], ListStrategy)] = &[
            ("Pod", &["spec", "containers"], MergeByKey("name")),
            ("Pod", &["spec", "containers", "ports"], MergeByKey("containerPort")),
            ("Pod", &["spec", "initContainers", "env"], MergeByKey("name")),
            ("Pod", &["spec", "ephemeralContainers", "volumeMounts"], MergeByKey("mountPath")),
            ("Pod", &["spec", "containers", "volumeDevices"], MergeByKey("devicePath")),
            ("Pod", &["spec", "containers", "args"], Atomic),
            ("Pod", &["spec", "volumes"], MergeByKey("name")),
            ("Pod", &["spec", "imagePullSecrets"], MergeByKey("name")),
            ("Pod", &["spec", "hostAliases"], MergeByKey("ip")),
            ("Pod", &["spec", "topologySpreadConstraints"], MergeByKey("topologyKey")),
            ("Pod", &["spec", "tolerations"], Atomic),
            ("Pod", &["spec", "readinessGates"], Atomic),
            ("Pod", &["status", "conditions"], MergeByKey("type")),
            ("Pod", &["status", "podIPs"], MergeByKey("ip")),
            ("Pod", &["status", "containerStatuses"], Atomic),
            ("Pod", &["metadata", "ownerReferences"], MergeByKey("uid")),
            ("Pod", &["metadata", "finalizers"], MergeSet),
            ("Pod", &["metadata", "managedFields"], Atomic),
            ("Deployment", &["spec", "template", "spec", "containers"], MergeByKey("name")),
            ("Deployment", &["spec", "template", "metadata", "finalizers"], MergeSet),
            ("Deployment", &["status", "conditions"], MergeByKey("type")),
            ("ReplicaSet", &["status", "conditions"], MergeByKey("type")),
            ("DaemonSet", &["status", "conditions"], MergeByKey("type")),
            ("StatefulSet", &["spec", "volumeClaimTemplates"], Atomic),
            ("Job", &["status", "conditions"], MergeByKey("type")),
            (
                "CronJob",
                &["spec", "jobTemplate", "spec", "template", "spec", "containers", "env"],
                MergeByKey("name"),
            ),
            ("Service", &["spec", "ports"], MergeByKey("port")),
            ("Service", &["status", "loadBalancer", "ingress"], Atomic),
            ("Node", &["status", "conditions"], MergeByKey("type")),
            ("Node", &["spec", "taints"], Atomic),
            ("Namespace", &["status", "conditions"], MergeByKey("type")),
            ("ServiceAccount", &["secrets"], MergeByKey("name")),
            ("ServiceAccount", &["imagePullSecrets"], Atomic),
            ("CertificateSigningRequest", &["status", "conditions"], Atomic),
            ("ConfigMap", &["metadata", "finalizers"], MergeSet),
            ("Pod", &[], Atomic),
        ];
        for (kind, path, expected) in cases {
            assert_eq!(list_strategy(kind, path), *expected, "{kind} {path:?}");
        }
        for kind in ["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"] {
            let containers = [template.as_slice(), &["containers"]].concat();
            assert_eq!(list_strategy(kind, &containers), MergeByKey("name"), "{kind}");
        }
    }

    #[test]
    fn the_schema_names_each_kind_and_field_once() {
        fn unique(schema: Schema, at: &str) {
            for (index, field) in schema.iter().enumerate() {
                let later = schema.iter().skip(index + 1);
                assert!(later.clone().all(|other| other.name != field.name), "{at}.{} twice", field.name);
                unique(field.fields, &format!("{at}.{}", field.name));
            }
        }
        for (index, (kind, schema)) in KINDS.iter().enumerate() {
            assert!(KINDS.iter().skip(index + 1).all(|(other, _)| other != kind), "{kind} twice");
            unique(schema, kind);
        }
    }

    #[test]
    fn no_input_panics() {
        let values = [
            json!(null),
            json!(true),
            json!(1),
            json!(1.5),
            json!("x"),
            json!([]),
            json!([null]),
            json!([1, null]),
            json!([[1]]),
            json!(["a", 1]),
            json!(["a", "b"]),
            json!({}),
            json!([{}]),
            json!([{"name": "a"}, {"name": "a"}]),
            json!([{"name": {"x": 1}}]),
            json!([{"name": "a", "$patch": "delete"}]),
            json!([{"$patch": "replace"}, {"name": "b"}]),
            json!([{"$patch": "replace"}, {"image": "b"}]),
            json!([{"$patch": 1}]),
            json!({"$patch": "delete"}),
            json!({"$patch": "replace", "a": null, "b": {"$patch": "delete"}}),
            json!({"$retainKeys": 1}),
            json!({"$retainKeys": ["a", 1], "b": 1}),
            json!({"$setElementOrder/a": [1], "a": [2]}),
            json!({"$setElementOrder/a": [], "$deleteFromPrimitiveList/a": 1}),
        ];
        let keys = |field: &str| {
            [
                field.to_owned(),
                format!("$setElementOrder/{field}"),
                format!("$deleteFromPrimitiveList/{field}"),
                "$retainKeys".to_owned(),
                "$patch".to_owned(),
            ]
        };
        for (parent, field) in [("spec", "containers"), ("spec", "tolerations"), ("metadata", "finalizers")] {
            for current in &values {
                let original = json!({ parent: { field: current } });
                for key in keys(field) {
                    for value in &values {
                        let patch = json!({ parent: { key.as_str(): value } });
                        let _ = apply("Pod", &original, &patch);
                        for other in &values {
                            let patch = json!({ parent: { key.as_str(): value, field: other } });
                            let _ = apply("Pod", &original, &patch);
                        }
                    }
                }
            }
        }
    }
}
