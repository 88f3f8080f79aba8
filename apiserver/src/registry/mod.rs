//! Kubernetes semantics on top of the store: what create, update, patch and delete mean for each kind.
//!
//! Every write goes through the same steps as in kube-apiserver: type and name checks, system metadata
//! (`uid`, `creationTimestamp`, `generation`), typed admission (defaults, validation), then one conditional store
//! write. Read-modify-write operations (update, patch, subresources, graceful deletion) are optimistic: they
//! compute the new object from the committed one and retry when another writer got there first, unless the
//! client pinned a `resourceVersion`, in which case it gets the 409.

pub mod admission;
mod allocation;
mod delete;
mod eviction;
pub mod kinds;
pub mod object;
mod update;

use std::sync::Arc;

use api::selector::{FieldSelector, LabelSelector};
use serde_json::{Value, json};

use crate::error::{ApiError, Result};
use crate::store::{Key, Store, StoredObject, Write, WriteError};
use admission::AdmitError;
pub use allocation::ServiceNetwork;
pub use delete::Deleted;
pub use delete::{DeleteOptions, Propagation};
pub use kinds::{KINDS, ResourceType, Subresource};
pub use update::{PatchKind, ScaleChange, scale_of, set_condition};

/// How unknown fields in a request body are treated (`?fieldValidation=`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FieldValidation {
    /// Drop them silently.
    Ignore,
    /// Drop them and report each in a `Warning` header (Kubernetes' default).
    #[default]
    Warn,
    /// Reject the request with 400 BadRequest.
    Strict,
}

/// Options every write takes.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    /// `dryRun=All`: do everything but store.
    pub dry_run: bool,
    /// `fieldValidation`.
    pub field_validation: FieldValidation,
}

/// A successful write.
pub struct Written {
    /// The object as stored (for a dry run, as it would have been).
    pub object: Arc<StoredObject>,
    /// Whether the object was created (201) rather than changed (200).
    pub created: bool,
    /// Warnings for the `Warning` header.
    pub warnings: Vec<String>,
}

/// Options of a list.
#[derive(Debug, Default)]
pub struct ListOptions {
    /// `labelSelector`.
    pub labels: Option<LabelSelector>,
    /// `fieldSelector`.
    pub fields: Option<FieldSelector>,
    /// `limit`: the most items in one page.
    pub limit: Option<usize>,
    /// `continue`: the token of the previous page.
    pub continue_token: Option<String>,
}

/// One page of a list.
pub struct ListPage {
    /// The matching objects, in key order.
    pub items: Vec<Arc<StoredObject>>,
    /// The resource version the list is consistent with (a watch resumes from it).
    pub rv: u64,
    /// The token for the next page, when there is one.
    pub continue_token: Option<String>,
    /// How many further items match, when a page was cut short.
    pub remaining: Option<u64>,
}

/// The API's view of the store.
#[derive(Clone)]
pub struct Registry {
    store: Store,
    /// Where Services get their cluster IPs and node ports.
    services: ServiceNetwork,
}

/// The store's key of one object.
pub fn key(rt: &ResourceType, namespace: Option<&str>, name: &str) -> Key {
    Key::new(rt.storage, if rt.namespaced { namespace.unwrap_or_default() } else { "" }, name)
}

/// What selectors look at in a stored object, for the store's start-up load.
pub fn selectable_for_key(key: &Key, object: &Value) -> crate::store::Selectable {
    let storage = key.as_str().rsplitn(3, '/').nth(2).unwrap_or_default();
    kinds::by_storage(storage).map(|rt| object::selectable(rt, object)).unwrap_or_default()
}

/// Whether an object matches the selectors of a list or watch.
pub fn matches(
    object: &StoredObject,
    labels: Option<&LabelSelector>,
    fields: Option<&FieldSelector>,
) -> bool {
    labels.is_none_or(|s| s.matches(&object.select.labels))
        && fields.is_none_or(|s| s.matches(|path| object.select.field(path).map(str::to_owned)))
}

/// Checks that every field a selector names is selectable for the kind (Kubernetes answers 400 otherwise).
pub fn check_field_selector(rt: &ResourceType, selector: &FieldSelector) -> Result<()> {
    for requirement in selector.requirements() {
        let field = requirement.field.as_str();
        if !matches!(field, "metadata.name" | "metadata.namespace") && !rt.selectable_fields.contains(&field)
        {
            let supported: Vec<&str> = ["metadata.name", "metadata.namespace"]
                .into_iter()
                .chain(rt.selectable_fields.iter().copied())
                .collect();
            return Err(ApiError::bad_request(format!(
                "field label not supported: {field} (supported for {}: {})",
                rt.plural,
                supported.join(", ")
            )));
        }
    }
    Ok(())
}

impl Registry {
    /// A registry over `store`, giving Services addresses from `services`.
    pub fn new(store: Store, services: ServiceNetwork) -> Self {
        Self { store, services }
    }

    /// The underlying store (for watches).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// One object.
    pub fn get(&self, rt: &ResourceType, namespace: Option<&str>, name: &str) -> Result<Arc<StoredObject>> {
        self.store.get(&key(rt, namespace, name)).ok_or_else(|| ApiError::not_found(rt, name))
    }

    /// A page of the objects of a kind, in one namespace or all.
    pub fn list(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        options: &ListOptions,
    ) -> Result<ListPage> {
        let namespace = if rt.namespaced { namespace } else { None };
        let prefix = Key::prefix(rt.storage, namespace);
        let (after, pinned_rv) = match &options.continue_token {
            Some(token) => {
                let (after, rv) = decode_continue(token)?;
                if !after.starts_with(&prefix) {
                    return Err(ApiError::bad_request("the continue token does not belong to this list"));
                }
                (Some(after), Some(rv))
            }
            None => (None, None),
        };
        let limit = options.limit.filter(|l| *l > 0);
        Ok(self.store.read(|state| {
            let mut items = Vec::new();
            let mut remaining = 0u64;
            let mut last_key = None;
            for (key, object) in state.range(&prefix, after.as_deref()) {
                if !matches(object, options.labels.as_ref(), options.fields.as_ref()) {
                    continue;
                }
                if limit.is_some_and(|l| items.len() >= l) {
                    remaining += 1;
                    continue;
                }
                last_key = Some(key.as_str());
                items.push(object.clone());
            }
            // A continued list reports the resource version of its first page, as Kubernetes does, so that a
            // watch started from it replays whatever changed while the pages were read.
            let rv = pinned_rv.unwrap_or(state.rv);
            let continue_token = (remaining > 0).then(|| last_key.map(|k| encode_continue(k, rv))).flatten();
            ListPage { items, rv, continue_token, remaining: (remaining > 0).then_some(remaining) }
        }))
    }

    /// Creates an object in `namespace` (ignored for cluster-scoped kinds).
    pub async fn create(
        &self,
        rt: &'static ResourceType,
        namespace: Option<&str>,
        mut object: Value,
        options: &WriteOptions,
    ) -> Result<Written> {
        check_type_meta(rt, &mut object)?;
        let namespace = Self::check_namespace(rt, namespace, &mut object)?;
        let meta = object::meta_mut(&mut object);
        if meta.get("name").and_then(Value::as_str).is_none_or(str::is_empty) {
            match meta.get("generateName").and_then(Value::as_str) {
                Some(prefix) if !prefix.is_empty() => {
                    let name = format!("{prefix}{}", random_suffix());
                    meta.insert("name".into(), Value::String(name));
                }
                _ => {
                    let error = api::validation::FieldError {
                        kind: api::validation::FieldErrorKind::Required,
                        field: "metadata.name".into(),
                        value: None,
                        detail: "name or generateName is required".into(),
                    };
                    return Err(ApiError::invalid(rt, "", &[error]));
                }
            }
        }
        for system in ["resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"] {
            meta.remove(system);
        }
        meta.insert("uid".into(), Value::String(uuid::Uuid::new_v4().to_string()));
        meta.insert("creationTimestamp".into(), Value::String(object::now()));
        let name = object::name(&object).to_owned();
        prepare_create(rt, &mut object);
        if rt.kind == "Pod" {
            self.resolve_priority(rt, &name, &mut object)?;
        }
        let (mut object, warnings) = admit(rt, &name, &object, None, options.field_validation)?;
        if object.get("spec").is_some() {
            object::meta_mut(&mut object).insert("generation".into(), json!(1));
        }
        if let Some(ns) = &namespace {
            self.check_namespace_open(rt, ns, &name)?;
        }
        let key = key(rt, namespace.as_deref(), &name);
        if self.store.get(&key).is_some() {
            return Err(ApiError::already_exists(rt, &name));
        }
        let claims = if rt.kind == "Service" {
            self.claim_service_addresses(None, &mut object, options.dry_run).await?
        } else {
            allocation::Claims::default()
        };
        let select = object::selectable(rt, &object);
        if options.dry_run {
            return Ok(Written { object: dry_run_object(object, 0, select), created: true, warnings });
        }
        let written = match self.store.write(Write::Create { key, object, select }).await {
            Ok(object) => return Ok(Written { object, created: true, warnings }),
            Err(WriteError::AlreadyExists) => ApiError::already_exists(rt, &name),
            Err(e) => ApiError::unavailable(e),
        };
        self.release(claims).await;
        Err(written)
    }

    /// Fills or checks `metadata.namespace` against the URL's; returns the namespace for namespaced kinds.
    fn check_namespace(
        rt: &ResourceType,
        namespace: Option<&str>,
        object: &mut Value,
    ) -> Result<Option<String>> {
        let meta = object::meta_mut(object);
        if !rt.namespaced {
            meta.remove("namespace");
            return Ok(None);
        }
        let Some(namespace) = namespace else {
            return Err(ApiError::method_not_allowed(&format!(
                "{} must be created in a namespace: POST to /namespaces/{{namespace}}/{}",
                rt.plural, rt.plural
            )));
        };
        match meta.get("namespace").and_then(Value::as_str) {
            Some(given) if !given.is_empty() && given != namespace => Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            )),
            _ => {
                meta.insert("namespace".into(), Value::String(namespace.to_owned()));
                Ok(Some(namespace.to_owned()))
            }
        }
    }

    /// A namespaced create needs an existing namespace that is not being deleted.
    fn check_namespace_open(&self, rt: &ResourceType, namespace: &str, name: &str) -> Result<()> {
        let namespaces =
            kinds::by_plural("", "v1", "namespaces").ok_or_else(|| ApiError::internal("no namespaces"))?;
        let ns = self
            .store
            .get(&key(namespaces, None, namespace))
            .ok_or_else(|| ApiError::not_found(namespaces, namespace))?;
        if object::is_terminating(&ns.value()) {
            return Err(ApiError::forbidden(
                rt,
                name,
                &format!(
                    "unable to create new content in namespace {namespace} because it is being terminated"
                ),
            ));
        }
        Ok(())
    }

    /// Kubernetes' Priority admission: `spec.priorityClassName` (or the global default class) becomes
    /// `spec.priority` and `spec.preemptionPolicy`, which the scheduler orders and preempts by.
    fn resolve_priority(&self, pods: &ResourceType, name: &str, pod: &mut Value) -> Result<()> {
        let classes = kinds::by_plural("scheduling.k8s.io", "v1", "priorityclasses")
            .ok_or_else(|| ApiError::internal("no PriorityClass kind"))?;
        let requested =
            pod.pointer("/spec/priorityClassName").and_then(Value::as_str).filter(|c| !c.is_empty());
        let class = match requested {
            Some(class_name) => {
                Some(self.store.get(&key(classes, None, class_name)).map(|c| c.value()).ok_or_else(|| {
                    ApiError::forbidden(
                        pods,
                        name,
                        &format!("no PriorityClass with name {class_name} was found"),
                    )
                })?)
            }
            None => self.store.read(|state| {
                state
                    .range(&Key::prefix(classes.storage, None), None)
                    .map(|(_, c)| c.value())
                    .find(|c| c.get("globalDefault").and_then(Value::as_bool) == Some(true))
            }),
        };
        let value = class.as_ref().and_then(|c| c.get("value")).and_then(Value::as_i64).unwrap_or(0);
        let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else { return Ok(()) };
        if let Some(given) = spec.get("priority").and_then(Value::as_i64)
            && given != value
        {
            return Err(ApiError::forbidden(
                pods,
                name,
                &format!(
                    "the integer value of priority ({given}) must not be provided in pod spec; priority admission \
                     controller computed {value} from the given PriorityClass name"
                ),
            ));
        }
        spec.insert("priority".into(), json!(value));
        if let Some(class) = &class {
            spec.insert("priorityClassName".into(), json!(object::name(class)));
            if !spec.contains_key("preemptionPolicy") {
                let policy = class.get("preemptionPolicy").cloned().unwrap_or(json!("PreemptLowerPriority"));
                spec.insert("preemptionPolicy".into(), policy);
            }
        }
        Ok(())
    }
}

/// Fills `apiVersion`/`kind` when absent and rejects a body of another kind than the URL's.
pub fn check_type_meta(rt: &ResourceType, object: &mut Value) -> Result<()> {
    let Some(map) = object.as_object_mut() else {
        return Err(ApiError::bad_request(format!("the body of a {} must be a JSON object", rt.kind)));
    };
    let api_version = rt.api_version();
    match map.get("apiVersion").and_then(Value::as_str) {
        Some(v) if !v.is_empty() && v != api_version => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )));
        }
        _ => {}
    }
    match map.get("kind").and_then(Value::as_str) {
        Some(k) if !k.is_empty() && k != rt.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({}) for this URL",
                rt.kind
            )));
        }
        _ => {}
    }
    map.insert("apiVersion".into(), Value::String(api_version));
    map.insert("kind".into(), Value::String(rt.kind.to_owned()));
    Ok(())
}

/// What Kubernetes resets or fills on create before admission.
fn prepare_create(rt: &ResourceType, object: &mut Value) {
    let Some(map) = object.as_object_mut() else { return };
    match rt.kind {
        // Status is owned by controllers and the node agent; a client cannot create it.
        "Deployment" | "ReplicaSet" | "DaemonSet" | "Job" | "Service" | "PodDisruptionBudget" => {
            map.remove("status");
        }
        "Pod" => {
            map.insert("status".into(), json!({"phase": "Pending"}));
        }
        "Namespace" => {
            map.insert("status".into(), json!({"phase": "Active"}));
            let spec = map.entry("spec").or_insert_with(|| json!({}));
            if spec.get("finalizers").is_none() {
                spec["finalizers"] = json!(["kubernetes"]);
            }
        }
        _ => {}
    }
}

/// Typed admission with errors mapped to Status.
/// Typed admission with errors mapped to Status; returns the object and the `Warning`s for unknown fields.
fn admit(
    rt: &ResourceType,
    name: &str,
    object: &Value,
    old: Option<&Value>,
    fields: FieldValidation,
) -> Result<(Value, Vec<String>)> {
    let admitted = rt.typed.admit(object, old, fields).map_err(|e| admit_error(rt, name, e))?;
    let warnings = admitted.unknown_fields.iter().map(|f| format!("unknown field \"{f}\"")).collect();
    Ok((admitted.object, warnings))
}

fn admit_error(rt: &ResourceType, name: &str, error: AdmitError) -> ApiError {
    match error {
        AdmitError::Decode(message) => ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: {message}",
            rt.kind, rt.version, rt.kind
        )),
        AdmitError::Invalid(errors) => ApiError::invalid(rt, name, &errors),
        AdmitError::UnknownFields(fields) => {
            let list: Vec<String> = fields.iter().map(|f| format!("unknown field \"{f}\"")).collect();
            ApiError::bad_request(format!("strict decoding error: {}", list.join(", ")))
        }
    }
}

/// An object that was not stored, shaped like a stored one for the response.
fn dry_run_object(object: Value, rv: u64, select: crate::store::Selectable) -> Arc<StoredObject> {
    let json = serde_json::to_vec(&object).unwrap_or_default().into();
    Arc::new(StoredObject { json, rv, select, stale: false })
}

/// Five characters from Kubernetes' alphabet for `generateName` (no vowels, no confusable digits).
fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    bytes[..5].iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}

fn encode_continue(after: &str, rv: u64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json!({"rv": rv, "start": after}).to_string())
}

fn decode_continue(token: &str) -> Result<(String, u64)> {
    use base64::Engine;
    let invalid = || ApiError::bad_request("continue key is not valid: request a new list without it");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let after = value.get("start").and_then(Value::as_str).ok_or_else(invalid)?;
    let rv = value.get("rv").and_then(Value::as_u64).ok_or_else(invalid)?;
    Ok((after.to_owned(), rv))
}
