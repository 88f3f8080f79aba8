//! `pods/{name}/eviction`: deleting a pod only when its PodDisruptionBudget allows it, as `kubectl drain` does.
//!
//! Kubernetes' disruption controller keeps `status.disruptionsAllowed` up to date and the eviction handler
//! trusts it. Here the allowance is computed at eviction time from the pods themselves (healthy = Ready and not
//! terminating), so evictions are correct without a controller running; pods evicted but not yet gone are
//! recorded in the budget's `status.disruptedPods`, and that write is conditional on the budget's resource
//! version, so concurrent evictions under one budget cannot both spend the last disruption.

use api::selector::LabelSelector;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde_json::{Value, json};

use super::delete::{DeleteOptions, Deleted};
use super::update::Part;
use super::{ListOptions, Registry, ResourceType, WriteOptions, kinds, object};
use crate::error::{ApiError, Result};

impl Registry {
    /// Evicts a pod; `options` are the Eviction's `deleteOptions`.
    pub async fn evict(
        &self,
        pods: &'static ResourceType,
        namespace: &str,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<()> {
        let pdbs = kinds::by_plural("policy", "v1", "poddisruptionbudgets")
            .ok_or_else(|| ApiError::internal("no PDB kind"))?;
        for _ in 0..16 {
            let pod = self.get(pods, Some(namespace), name)?.value();
            let phase = pod.pointer("/status/phase").and_then(Value::as_str).unwrap_or_default();
            // A finished or terminating pod disrupts nothing.
            if matches!(phase, "Succeeded" | "Failed") || object::is_terminating(&pod) {
                return self.delete(pods, Some(namespace), name, options).await.map(|_| ());
            }
            let labels = object::selectable(pods, &pod).labels;
            let matching: Vec<Value> = self
                .list(pdbs, Some(namespace), &ListOptions::default())?
                .items
                .iter()
                .map(|p| p.value())
                .filter(|pdb| budget_selector(pdb).is_some_and(|s| s.matches(&labels)))
                .collect();
            let budget = match matching.as_slice() {
                [] => return self.delete(pods, Some(namespace), name, options).await.map(|_| ()),
                [one] => one,
                _ => {
                    return Err(ApiError {
                        code: 500,
                        reason: "InternalError",
                        message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
                            .into(),
                        details: None,
                    });
                }
            };
            let budget_name = object::name(budget).to_owned();
            let (healthy, desired) = self.budget_health(pods, namespace, budget)?;
            // Evicting a pod that is not Ready costs the budget nothing, so it only needs the budget to be met.
            let over_budget = if is_ready(&pod) { healthy <= desired } else { healthy < desired };
            if over_budget {
                return Err(too_many_requests(&budget_name, desired, healthy));
            }
            // Spend one disruption, conditionally on the budget not having changed since it was read.
            let budget_rv = object::meta_str(budget, "resourceVersion").and_then(|rv| rv.parse().ok());
            let spent = self
                .update_with(
                    pdbs,
                    Some(namespace),
                    &budget_name,
                    Part::Status,
                    budget_rv,
                    &WriteOptions::default(),
                    |current| {
                        let mut next = current.clone();
                        if !next.get("status").is_some_and(Value::is_object) {
                            next["status"] = json!({});
                        }
                        next["status"]["disruptedPods"][name] = json!(object::now());
                        let allowed = (healthy - desired - 1).max(0);
                        next["status"]["disruptionsAllowed"] = json!(allowed);
                        Ok(next)
                    },
                )
                .await;
            match spent {
                Ok(_) => {}
                // Another eviction spent from the same budget first: look again.
                Err(e) if e.reason == "Conflict" => continue,
                Err(e) => return Err(e),
            }
            return match self.delete(pods, Some(namespace), name, options).await? {
                Deleted::Gone(_) | Deleted::Terminating(_) => Ok(()),
            };
        }
        Err(ApiError::conflict_with(pods, name, "the disruption budget keeps changing; retry the eviction"))
    }

    /// How many pods a budget covers are healthy, and how many it wants healthy.
    fn budget_health(&self, pods: &ResourceType, namespace: &str, budget: &Value) -> Result<(i32, i32)> {
        let selector = budget_selector(budget).unwrap_or_else(LabelSelector::nothing);
        let disrupted: Vec<String> = budget
            .pointer("/status/disruptedPods")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let covered: Vec<Value> = self
            .list(pods, Some(namespace), &ListOptions::default())?
            .items
            .iter()
            .filter(|p| selector.matches(&p.select.labels))
            .map(|p| p.value())
            .collect();
        let expected = i32::try_from(covered.len()).unwrap_or(i32::MAX);
        let healthy = covered
            .iter()
            .filter(|p| {
                !object::is_terminating(p) && !disrupted.iter().any(|d| d == object::name(p)) && is_ready(p)
            })
            .count();
        let healthy = i32::try_from(healthy).unwrap_or(i32::MAX);
        let typed: PodDisruptionBudget = serde_json::from_value(budget.clone()).unwrap_or_default();
        let spec = typed.spec.unwrap_or_default();
        let bad = |e: api::intstr::NotAPercentage| ApiError::bad_request(e.to_string());
        let desired = match (spec.min_available, spec.max_unavailable) {
            (Some(min), _) => api::intstr::scaled_value(&min, expected, true).map_err(bad)?,
            (None, Some(max)) => expected - api::intstr::scaled_value(&max, expected, true).map_err(bad)?,
            (None, None) => 0,
        };
        Ok((healthy, desired))
    }
}

fn budget_selector(budget: &Value) -> Option<LabelSelector> {
    let selector = serde_json::from_value(budget.pointer("/spec/selector")?.clone()).ok()?;
    LabelSelector::from_k8s(&selector).ok()
}

fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions").and_then(Value::as_array).is_some_and(|cs| {
        cs.iter().any(|c| c.get("type") == Some(&json!("Ready")) && c.get("status") == Some(&json!("True")))
    })
}

fn too_many_requests(budget: &str, desired: i32, healthy: i32) -> ApiError {
    ApiError {
        code: 429,
        reason: "TooManyRequests",
        message: "Cannot evict pod as it would violate the pod's disruption budget.".into(),
        details: Some(json!({"causes": [{"reason": "DisruptionBudget",
            "message": format!("The disruption budget {budget} needs {desired} healthy pods and has {healthy} currently")}]})),
    }
}
