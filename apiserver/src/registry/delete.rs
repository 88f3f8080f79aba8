//! Deletion with Kubernetes' semantics: finalizers, propagation policies, graceful pod termination and
//! namespaces that empty themselves before they go.

use serde::Deserialize;
use serde_json::{Value, json};

use super::update::Part;
use super::{ListOptions, ResourceType, WriteOptions, Written, key, kinds, object};
use crate::error::{ApiError, Result};
use crate::store::{Write, WriteError};

/// `propagationPolicy`: what happens to an object's dependents (acted on by the garbage collector).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Propagation {
    /// Dependents are removed after the owner (the default).
    Background,
    /// The owner stays, with the `foregroundDeletion` finalizer, until its blocking dependents are gone.
    Foreground,
    /// Dependents are kept and lose their owner reference (the `orphan` finalizer).
    Orphan,
}

/// The body of a DELETE (`DeleteOptions`) merged with its query parameters.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteOptions {
    /// `propagationPolicy`.
    pub propagation_policy: Option<Propagation>,
    /// `gracePeriodSeconds`: for pods, how long the node agent lets the guest stop.
    pub grace_period_seconds: Option<i64>,
    /// `orphanDependents` (deprecated form of `propagationPolicy: Orphan`).
    pub orphan_dependents: Option<bool>,
    /// `preconditions`: the delete applies only to this uid / resource version.
    pub preconditions: Option<Preconditions>,
    /// `dryRun`.
    #[serde(default)]
    pub dry_run: Vec<String>,
}

/// `DeleteOptions.preconditions`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preconditions {
    /// The object's uid must be this.
    pub uid: Option<String>,
    /// The object's resource version must be this.
    pub resource_version: Option<String>,
}

/// What a delete did.
pub enum Deleted {
    /// The object is gone; this is its last state.
    Gone(Written),
    /// The object is still there, terminating (finalizers or a grace period); this is its new state.
    Terminating(Written),
}

impl DeleteOptions {
    fn propagation(&self) -> Propagation {
        match (self.propagation_policy, self.orphan_dependents) {
            (Some(p), _) => p,
            (None, Some(true)) => Propagation::Orphan,
            _ => Propagation::Background,
        }
    }
}

impl super::Registry {
    /// Deletes one object, or starts its termination.
    pub async fn delete(
        &self,
        rt: &'static ResourceType,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Deleted> {
        let dry_run = options.dry_run.iter().any(|d| d == "All");
        let write_options = WriteOptions { dry_run, ..WriteOptions::default() };
        let key = key(rt, namespace, name);
        for _ in 0..32 {
            let current = self.store.get(&key).ok_or_else(|| ApiError::not_found(rt, name))?;
            let object = current.value();
            if let Some(pre) = &options.preconditions {
                if let Some(uid) = &pre.uid
                    && object::meta_str(&object, "uid") != Some(uid.as_str())
                {
                    return Err(ApiError::conflict_with(
                        rt,
                        name,
                        &format!(
                            "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                            object::meta_str(&object, "uid").unwrap_or_default()
                        ),
                    ));
                }
                if let Some(rv) = &pre.resource_version
                    && *rv != current.rv.to_string()
                {
                    return Err(ApiError::conflict(rt, name));
                }
            }
            if let Some(next) = terminating_state(rt, &object, options) {
                if next == object {
                    return Ok(Deleted::Terminating(Written {
                        object: current,
                        created: false,
                        warnings: Vec::new(),
                    }));
                }
                let rv = current.rv;
                let written = self
                    .update_with(rt, namespace, name, Part::System, Some(rv), &write_options, |_| {
                        Ok(next.clone())
                    })
                    .await;
                match written {
                    Ok(written) => return Ok(Deleted::Terminating(written)),
                    Err(e) if e.reason == "Conflict" && options.preconditions.is_none() => continue,
                    Err(e) => return Err(e),
                }
            }
            if dry_run {
                return Ok(Deleted::Gone(Written { object: current, created: false, warnings: Vec::new() }));
            }
            match self.store.write(Write::Delete { key: key.clone(), expected_rv: Some(current.rv) }).await {
                Ok(object) => {
                    if rt.kind == "Service" {
                        self.release_service_addresses(&current.value(), None).await;
                    }
                    return Ok(Deleted::Gone(Written { object, created: false, warnings: Vec::new() }));
                }
                Err(WriteError::Conflict { .. }) => {}
                Err(WriteError::NotFound) => return Err(ApiError::not_found(rt, name)),
                Err(e) => return Err(ApiError::unavailable(e)),
            }
        }
        Err(ApiError::conflict(rt, name))
    }

    /// Deletes every object a list would return; returns what was deleted or set terminating.
    pub async fn delete_collection(
        &self,
        rt: &'static ResourceType,
        namespace: Option<&str>,
        list: &ListOptions,
        options: &DeleteOptions,
    ) -> Result<Vec<Written>> {
        let page = self.list(rt, namespace, list)?;
        let mut done = Vec::with_capacity(page.items.len());
        for item in page.items {
            let object = item.value();
            let ns = object::meta_str(&object, "namespace").map(str::to_owned);
            match self.delete(rt, ns.as_deref(), object::name(&object), options).await {
                Ok(Deleted::Gone(w) | Deleted::Terminating(w)) => done.push(w),
                // Deleted meanwhile by someone else: that is what was asked.
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    /// Deletes what is left in a terminating namespace and, once it is empty, finalizes it.
    /// Returns whether the namespace is gone.
    pub async fn finish_namespace(&self, namespace: &str) -> Result<bool> {
        let mut remaining = 0usize;
        for rt in kinds::KINDS.iter().filter(|k| k.namespaced) {
            let page = self.list(rt, Some(namespace), &ListOptions::default())?;
            remaining += page.items.len();
            for item in page.items {
                let object = item.value();
                if object::is_terminating(&object) {
                    continue;
                }
                match self.delete(rt, Some(namespace), object::name(&object), &DeleteOptions::default()).await
                {
                    Ok(_) => {}
                    Err(e) if e.code == 404 => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if remaining > 0 {
            return Ok(false);
        }
        let namespaces =
            kinds::by_plural("", "v1", "namespaces").ok_or_else(|| ApiError::internal("no namespaces"))?;
        let options = WriteOptions::default();
        let done = self
            .update_with(namespaces, None, namespace, Part::Finalize, None, &options, |current| {
                let mut next = current.clone();
                if let Some(list) = next.pointer_mut("/spec/finalizers").and_then(Value::as_array_mut) {
                    list.retain(|f| f != "kubernetes");
                }
                Ok(next)
            })
            .await;
        match done {
            Ok(_) => Ok(self.stored(namespaces, None, namespace).is_none()),
            Err(e) if e.code == 404 => Ok(true),
            Err(e) => Err(e),
        }
    }
}

/// The object's next state when a delete cannot remove it at once, or `None` when it can go now.
fn terminating_state(rt: &ResourceType, object: &Value, options: &DeleteOptions) -> Option<Value> {
    let mut next = object.clone();
    let already = object::is_terminating(object);
    if rt.kind == "Namespace" {
        if !already {
            object::meta_mut(&mut next).insert("deletionTimestamp".into(), json!(object::now()));
            object::meta_mut(&mut next).insert("deletionGracePeriodSeconds".into(), json!(0));
            next["status"] = json!({"phase": "Terminating"});
        }
        return Some(next);
    }
    let mut finalizers = object::finalizers(object);
    let wanted = match options.propagation() {
        Propagation::Foreground => Some("foregroundDeletion"),
        Propagation::Orphan => Some("orphan"),
        Propagation::Background => None,
    };
    if let Some(f) = wanted
        && !finalizers.iter().any(|x| x == f)
    {
        finalizers.push(f.to_owned());
    }
    // A pod's grace period comes first: its node agent stops the guest within it, finalizers or not.
    let grace = if rt.kind == "Pod" { pod_grace(object, options) } else { None };
    if finalizers.is_empty() && grace.is_none() {
        return None;
    }
    let meta = object::meta_mut(&mut next);
    if !finalizers.is_empty() {
        meta.insert("finalizers".into(), json!(finalizers));
    }
    let current = object.pointer("/metadata/deletionGracePeriodSeconds").and_then(Value::as_i64);
    let period = grace.unwrap_or(0);
    if !already || current.is_some_and(|c| period < c) {
        meta.insert("deletionTimestamp".into(), json!(object::now_plus(period)));
        meta.insert("deletionGracePeriodSeconds".into(), json!(period));
    }
    Some(next)
}

/// The grace period a pod gets, or `None` when it can be removed at once: never scheduled, already finished,
/// or asked to go with a zero grace period. A pod already terminating keeps the shorter of the two periods.
fn pod_grace(pod: &Value, options: &DeleteOptions) -> Option<i64> {
    let bound = pod.pointer("/spec/nodeName").and_then(Value::as_str).is_some_and(|n| !n.is_empty());
    let finished =
        matches!(pod.pointer("/status/phase").and_then(Value::as_str), Some("Succeeded" | "Failed"));
    if !bound || finished {
        return None;
    }
    let default = pod.pointer("/spec/terminationGracePeriodSeconds").and_then(Value::as_i64).unwrap_or(30);
    let grace = options.grace_period_seconds.unwrap_or(default).max(0);
    if grace == 0 {
        return None;
    }
    match pod.pointer("/metadata/deletionGracePeriodSeconds").and_then(Value::as_i64) {
        Some(current) if object::is_terminating(pod) && current <= grace => Some(current),
        _ => Some(grace),
    }
}
