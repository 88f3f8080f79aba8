//! Read-modify-write operations: update (PUT), patch, and the status, scale, binding and finalize subresources.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{
    FieldValidation, ResourceType, Subresource, WriteOptions, Written, admit, admit_error, allocation,
    check_type_meta, dry_run_object, key, object,
};
use crate::error::{ApiError, Result};
pub use crate::patch::PatchKind;
use crate::store::{StoredObject, Write, WriteError};

/// Which parts of the desired object an update takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Part {
    /// The object itself (PUT, PATCH): everything but status and system metadata, fully admitted.
    Object,
    /// `status` only.
    Status,
    /// `spec.finalizers` only (namespaces).
    Finalize,
    /// The server's own change (binding, graceful deletion): taken as computed, only normalised.
    System,
}

impl Part {
    fn of(sub: Option<Subresource>) -> Self {
        match sub {
            None | Some(Subresource::Scale) => Part::Object,
            // Approval writes the conditions, which live in status.
            Some(Subresource::Status | Subresource::Approval) => Part::Status,
            Some(Subresource::Finalize) => Part::Finalize,
            Some(
                Subresource::Binding
                | Subresource::Log
                | Subresource::Eviction
                | Subresource::Token
                | Subresource::Exec
                | Subresource::Attach
                | Subresource::PortForward,
            ) => Part::System,
        }
    }
}

/// How many times a read-modify-write is retried when other writers keep changing the object.
const MAX_RETRIES: usize = 32;

/// Metadata the server owns; updates cannot change it.
const SYSTEM_METADATA: &[&str] = &[
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "namespace",
];

impl super::Registry {
    /// PUT of an object or of its status/finalize subresource.
    pub async fn update(
        &self,
        rt: &'static ResourceType,
        namespace: Option<&str>,
        name: &str,
        sub: Option<Subresource>,
        mut body: Value,
        options: &WriteOptions,
    ) -> Result<Written> {
        check_type_meta(rt, &mut body)?;
        match object::meta_str(&body, "name") {
            Some(given) if given != name => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({given}) does not match the name on the URL ({name})"
                )));
            }
            _ => {}
        }
        if rt.namespaced
            && let Some(given) = object::meta_str(&body, "namespace").filter(|n| !n.is_empty())
            && Some(given) != namespace
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let precondition = parse_rv(object::meta_str(&body, "resourceVersion"))?;
        self.update_with(rt, namespace, name, Part::of(sub), precondition, options, |_| Ok(body.clone()))
            .await
    }

    /// PATCH of an object or of its status subresource; an apply patch creates a missing object.
    #[allow(clippy::too_many_arguments)] // The request's parts; a struct would only rename them.
    pub async fn patch(
        &self,
        rt: &'static ResourceType,
        namespace: Option<&str>,
        name: &str,
        sub: Option<Subresource>,
        kind: PatchKind,
        patch: Value,
        options: &WriteOptions,
    ) -> Result<Written> {
        if kind == PatchKind::Apply && sub.is_none() && self.store.get(&key(rt, namespace, name)).is_none() {
            let mut object = patch;
            object::meta_mut(&mut object).entry("name").or_insert_with(|| Value::String(name.to_owned()));
            if object::name(&object) != name {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({}) does not match the name on the URL ({name})",
                    object::name(&object)
                )));
            }
            return self.create(rt, namespace, object, options).await;
        }
        self.update_with(rt, namespace, name, Part::of(sub), None, options, |current| {
            let patched = kind.apply(rt.kind, current, &patch)?;
            // A patch that carries a resourceVersion is a precondition, as in Kubernetes.
            if let Some(rv) = object::meta_str(&patched, "resourceVersion")
                && Some(rv) != object::meta_str(current, "resourceVersion")
            {
                return Err(ApiError::conflict(rt, name));
            }
            Ok(patched)
        })
        .await
    }

    /// The `autoscaling/v1` Scale of a deployment or replica set.
    pub fn get_scale(&self, rt: &ResourceType, namespace: Option<&str>, name: &str) -> Result<Value> {
        Ok(scale_of(&self.get(rt, namespace, name)?.value()))
    }

    /// PUT or PATCH of the scale subresource; returns the new Scale.
    pub async fn write_scale(
        &self,
        rt: &'static ResourceType,
        namespace: Option<&str>,
        name: &str,
        change: ScaleChange,
        options: &WriteOptions,
    ) -> Result<Value> {
        let precondition = match &change {
            ScaleChange::Replace(scale) => parse_rv(object::meta_str(scale, "resourceVersion"))?,
            ScaleChange::Patch(..) => None,
        };
        let written = self
            .update_with(rt, namespace, name, Part::Object, precondition, options, |current| {
                let scale = match &change {
                    ScaleChange::Replace(scale) => scale.clone(),
                    ScaleChange::Patch(kind, patch) => kind.apply("Scale", &scale_of(current), patch)?,
                };
                let replicas = scale.pointer("/spec/replicas").cloned().unwrap_or(json!(0));
                if !replicas.as_i64().is_some_and(|r| (0..=i64::from(i32::MAX)).contains(&r)) {
                    return Err(ApiError {
                        code: 422,
                        reason: "Invalid",
                        message: format!(
                            "Scale.autoscaling \"{name}\" is invalid: spec.replicas: Invalid value: {replicas}: must \
                             be greater than or equal to 0"
                        ),
                        details: None,
                    });
                }
                let mut next = current.clone();
                next["spec"]["replicas"] = replicas;
                Ok(next)
            })
            .await?;
        Ok(scale_of(&written.object.value()))
    }

    /// Binds a pod to a node (`pods/{name}/binding`), as the scheduler does.
    pub async fn bind(
        &self,
        rt: &'static ResourceType,
        namespace: Option<&str>,
        name: &str,
        binding: &Value,
    ) -> Result<()> {
        let node = binding.pointer("/target/name").and_then(Value::as_str).filter(|n| !n.is_empty());
        let Some(node) = node else {
            let error = api::validation::FieldError {
                kind: api::validation::FieldErrorKind::Required,
                field: "target.name".into(),
                value: None,
                detail: String::new(),
            };
            return Err(ApiError::invalid(rt, name, &[error]));
        };
        let options = WriteOptions::default();
        self.update_with(rt, namespace, name, Part::System, None, &options, |current| {
            if object::is_terminating(current) {
                return Err(ApiError::conflict_with(rt, name, "the pod is being deleted"));
            }
            // A binding names the pod it was decided for; a new pod that took the name is not that pod.
            if let Some(uid) =
                binding.pointer("/metadata/uid").and_then(Value::as_str).filter(|u| !u.is_empty())
                && object::meta_str(current, "uid") != Some(uid)
            {
                return Err(ApiError::conflict_with(
                    rt,
                    name,
                    &format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                        object::meta_str(current, "uid").unwrap_or_default()
                    ),
                ));
            }
            if let Some(bound) =
                current.pointer("/spec/nodeName").and_then(Value::as_str).filter(|n| !n.is_empty())
            {
                let why = format!("pod {name} is already assigned to node \"{bound}\"");
                return Err(ApiError::conflict_with(rt, name, &why));
            }
            let mut next = current.clone();
            next["spec"]["nodeName"] = json!(node);
            let scheduled =
                json!({"type": "PodScheduled", "status": "True", "lastTransitionTime": object::now()});
            set_condition(&mut next, scheduled);
            Ok(next)
        })
        .await
        .map(|_| ())
    }

    /// The optimistic read-modify-write loop every update goes through.
    ///
    /// `mutate` computes the desired object from the committed one; the subresource decides which parts of it
    /// are taken. With a `precondition`, a stale resource version is the client's 409; without one, the loop
    /// retries from the new committed object.
    #[allow(clippy::too_many_arguments)] // The request's parts; a struct would only rename them.
    pub(super) async fn update_with(
        &self,
        rt: &'static ResourceType,
        namespace: Option<&str>,
        name: &str,
        part: Part,
        precondition: Option<u64>,
        options: &WriteOptions,
        mutate: impl Fn(&Value) -> Result<Value>,
    ) -> Result<Written> {
        let key = key(rt, namespace, name);
        for _ in 0..MAX_RETRIES {
            let current = self.store.get(&key).ok_or_else(|| ApiError::not_found(rt, name))?;
            if precondition.is_some_and(|rv| rv != current.rv) {
                return Err(ApiError::conflict(rt, name));
            }
            let old = current.value();
            let desired = mutate(&old)?;
            let (mut next, warnings) =
                prepare_update(rt, part, &old, desired, name, options.field_validation)?;
            // An unchanged object is not written again, unless the file holds it in an older form (a key rotation).
            if next == old && !current.stale {
                return Ok(Written { object: current, created: false, warnings });
            }
            let claims = if rt.kind == "Service" {
                self.claim_service_addresses(Some(&old), &mut next, options.dry_run).await?
            } else {
                allocation::Claims::default()
            };
            let select = object::selectable(rt, &next);
            // Removing the last finalizer of an object being deleted completes its deletion.
            let finished = match rt.kind {
                "Namespace" => namespace_finalized(&next),
                // A pod goes once its node agent confirmed the guest stopped (a delete with no grace period left)
                // and its finalizers are done.
                "Pod" => {
                    object::is_terminating(&next)
                        && object::finalizers(&next).is_empty()
                        && next.pointer("/metadata/deletionGracePeriodSeconds").and_then(Value::as_i64)
                            == Some(0)
                }
                _ => object::is_terminating(&next) && object::finalizers(&next).is_empty(),
            };
            if options.dry_run {
                return Ok(Written {
                    object: dry_run_object(next, current.rv, select),
                    created: false,
                    warnings,
                });
            }
            let kept = (rt.kind == "Service" && !finished).then(|| next.clone());
            let write = if finished {
                Write::Delete { key: key.clone(), expected_rv: Some(current.rv) }
            } else {
                Write::Update { key: key.clone(), object: next, select, expected_rv: Some(current.rv) }
            };
            let failed = match self.store.write(write).await {
                Ok(object) => {
                    if rt.kind == "Service" {
                        self.release_service_addresses(&old, kept.as_ref()).await;
                    }
                    return Ok(Written { object, created: false, warnings });
                }
                Err(WriteError::Conflict { .. }) if precondition.is_none() => None,
                Err(WriteError::Conflict { .. }) => Some(ApiError::conflict(rt, name)),
                Err(WriteError::NotFound) => Some(ApiError::not_found(rt, name)),
                Err(e) => Some(ApiError::unavailable(e)),
            };
            self.release(claims).await;
            if let Some(error) = failed {
                return Err(error);
            }
        }
        Err(ApiError::conflict(rt, name))
    }

    /// A committed object as the response of a write.
    pub fn stored(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Arc<StoredObject>> {
        self.store.get(&key(rt, namespace, name))
    }
}

/// What a scale write asks for.
pub enum ScaleChange {
    /// PUT of a whole Scale.
    Replace(Value),
    /// PATCH of the Scale.
    Patch(PatchKind, Value),
}

/// Merges what the client may change into the committed object, per subresource, then admits it.
fn prepare_update(
    rt: &ResourceType,
    part: Part,
    old: &Value,
    desired: Value,
    name: &str,
    fields: FieldValidation,
) -> Result<(Value, Vec<String>)> {
    let mut warnings = Vec::new();
    let mut next = match part {
        Part::Object => {
            let mut next = desired;
            check_type_meta(rt, &mut next)?;
            if object::name(&next) != name {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({}) does not match the name on the URL ({name})",
                    object::name(&next)
                )));
            }
            let old_meta = old.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default();
            let meta = object::meta_mut(&mut next);
            for field in SYSTEM_METADATA {
                match old_meta.get(*field) {
                    Some(v) => meta.insert((*field).to_owned(), v.clone()),
                    None => meta.remove(*field),
                };
            }
            if rt.has(Subresource::Status) {
                match old.get("status") {
                    Some(status) => next["status"] = status.clone(),
                    None => {
                        if let Some(map) = next.as_object_mut() {
                            map.remove("status");
                        }
                    }
                }
            }
            let (mut next, unknown) = admit(rt, name, &next, Some(old), fields)?;
            warnings = unknown;
            if let Some(generation) = old.pointer("/metadata/generation").and_then(Value::as_i64)
                && next.get("spec") != old.get("spec")
            {
                object::meta_mut(&mut next).insert("generation".into(), json!(generation + 1));
            }
            next
        }
        Part::Status => {
            let mut next = old.clone();
            match desired.get("status") {
                Some(status) => next["status"] = status.clone(),
                None => {
                    if let Some(map) = next.as_object_mut() {
                        map.remove("status");
                    }
                }
            }
            rt.typed.normalize(next).map_err(|e| admit_error(rt, name, e))?
        }
        Part::Finalize => {
            let mut next = old.clone();
            next["spec"]["finalizers"] = desired.pointer("/spec/finalizers").cloned().unwrap_or(json!([]));
            rt.typed.normalize(next).map_err(|e| admit_error(rt, name, e))?
        }
        Part::System => rt.typed.normalize(desired).map_err(|e| admit_error(rt, name, e))?,
    };
    // Equal objects must compare equal: the stamp is the store's business.
    if let Some(rv) = old.pointer("/metadata/resourceVersion") {
        object::meta_mut(&mut next).insert("resourceVersion".into(), rv.clone());
    }
    Ok((next, warnings))
}

/// A terminating namespace whose `spec.finalizers` are all done can go.
fn namespace_finalized(ns: &Value) -> bool {
    object::is_terminating(ns)
        && object::finalizers(ns).is_empty()
        && ns.pointer("/spec/finalizers").and_then(Value::as_array).is_none_or(Vec::is_empty)
}

/// Sets (or replaces by `type`) a condition in `status.conditions`.
pub fn set_condition(object: &mut Value, condition: Value) {
    if !object.get("status").is_some_and(Value::is_object) {
        object["status"] = json!({});
    }
    let kind = condition.get("type").cloned();
    let conditions = &mut object["status"]["conditions"];
    if !conditions.is_array() {
        *conditions = json!([]);
    }
    if let Some(list) = conditions.as_array_mut() {
        list.retain(|c| c.get("type") != kind.as_ref());
        list.push(condition);
    }
}

/// The Scale view of an object with `spec.replicas` and `spec.selector`.
pub fn scale_of(object: &Value) -> Value {
    let meta = object.get("metadata").cloned().unwrap_or_default();
    let selector = object
        .pointer("/spec/selector")
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .and_then(|s| api::selector::LabelSelector::from_k8s(&s).ok())
        .map(|s| s.to_string())
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
            "creationTimestamp": meta.get("creationTimestamp"),
        },
        "spec": {"replicas": object.pointer("/spec/replicas").cloned().unwrap_or(json!(0))},
        "status": {
            "replicas": object.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector,
        },
    })
}

/// Parses a client-sent resource version; empty means none.
pub fn parse_rv(rv: Option<&str>) -> Result<Option<u64>> {
    match rv {
        None | Some("") => Ok(None),
        Some(rv) => rv.parse().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "invalid resourceVersion {rv:?}: it must be a value read from this server"
            ))
        }),
    }
}
