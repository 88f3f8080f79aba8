//! How far a workload is from done, in kubectl's words (`rollout status`, `apply --wait`), and the pods a workload
//! owns (`logs deploy/x`, the failed pods of a Job).

use serde_json::Value;

/// Where a workload stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Still going: what it waits for, and how many of how many are done when that is countable.
    Pending { message: String, done: i64, total: i64 },
    /// Finished as wanted.
    Done(String),
    /// Will not finish by itself.
    Failed(String),
}

fn int(object: &Value, pointer: &str) -> i64 {
    object.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// The condition of `type` if its status is `True`.
fn true_condition<'a>(object: &'a Value, kind: &str) -> Option<&'a Value> {
    object
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind && c["status"] == "True")
}

/// Where a workload of `kind` stands; `None` for kinds that have no notion of done.
pub fn progress(kind: &str, object: &Value) -> Option<Progress> {
    let name = text(object, "/metadata/name");
    let observed = int(object, "/status/observedGeneration") >= int(object, "/metadata/generation");
    let pending = |message: String, done: i64, total: i64| Some(Progress::Pending { message, done, total });
    match kind {
        "Deployment" => {
            if !observed {
                return pending("Waiting for deployment spec update to be observed...".into(), 0, 0);
            }
            let progressing = object.pointer("/status/conditions").and_then(Value::as_array).and_then(|c| {
                c.iter().find(|c| c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded")
            });
            if progressing.is_some() {
                return Some(Progress::Failed(format!("deployment {name:?} exceeded its progress deadline")));
            }
            let wanted = object.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
            let updated = int(object, "/status/updatedReplicas");
            let current = int(object, "/status/replicas");
            let available = int(object, "/status/availableReplicas");
            let waiting = format!("Waiting for deployment {name:?} rollout to finish:");
            if updated < wanted {
                pending(
                    format!("{waiting} {updated} out of {wanted} new replicas have been updated..."),
                    updated,
                    wanted,
                )
            } else if current > updated {
                let old = current - updated;
                pending(format!("{waiting} {old} old replicas are pending termination..."), updated, current)
            } else if available < updated {
                pending(
                    format!("{waiting} {available} of {updated} updated replicas are available..."),
                    available,
                    updated,
                )
            } else {
                Some(Progress::Done(format!("deployment {name:?} successfully rolled out")))
            }
        }
        "DaemonSet" => {
            if !observed {
                return pending("Waiting for daemon set spec update to be observed...".into(), 0, 0);
            }
            let wanted = int(object, "/status/desiredNumberScheduled");
            let updated = int(object, "/status/updatedNumberScheduled");
            let available = int(object, "/status/numberAvailable");
            let waiting = format!("Waiting for daemon set {name:?} rollout to finish:");
            if updated < wanted {
                pending(
                    format!("{waiting} {updated} out of {wanted} new pods have been updated..."),
                    updated,
                    wanted,
                )
            } else if available < wanted {
                pending(
                    format!("{waiting} {available} of {wanted} updated pods are available..."),
                    available,
                    wanted,
                )
            } else {
                Some(Progress::Done(format!("daemon set {name:?} successfully rolled out")))
            }
        }
        "Job" => {
            let total = object.pointer("/spec/completions").and_then(Value::as_i64).unwrap_or(1);
            let succeeded = int(object, "/status/succeeded");
            if true_condition(object, "Complete").is_some() {
                return Some(Progress::Done(format!(
                    "job {name:?} completed: {succeeded} of {total} succeeded"
                )));
            }
            if let Some(failed) = true_condition(object, "Failed") {
                let reason = failed["reason"].as_str().unwrap_or("Failed");
                let message = failed["message"].as_str().unwrap_or_default();
                return Some(Progress::Failed(format!("job {name:?} failed: {reason}: {message}")));
            }
            let (active, failed) = (int(object, "/status/active"), int(object, "/status/failed"));
            pending(
                format!("job {name:?}: {succeeded} of {total} completed, {active} running, {failed} failed"),
                succeeded,
                total,
            )
        }
        "Pod" => match text(object, "/status/phase") {
            "Succeeded" => Some(Progress::Done(format!("pod {name:?} succeeded"))),
            "Failed" => Some(Progress::Failed(format!("pod {name:?} failed"))),
            "Running" if true_condition(object, "Ready").is_some() => {
                Some(Progress::Done(format!("pod {name:?} is running and ready")))
            }
            phase => {
                pending(format!("pod {name:?} is {}", if phase.is_empty() { "Pending" } else { phase }), 0, 1)
            }
        },
        _ => None,
    }
}

/// The label selector of a workload's pods as a query string (`app=web,tier in (a,b)`), or `None` when it has none.
pub fn pod_selector(object: &Value) -> Option<String> {
    let selector = object.pointer("/spec/selector")?;
    let text = if selector.get("matchLabels").is_some() || selector.get("matchExpressions").is_some() {
        let selector = serde_json::from_value(selector.clone()).ok()?;
        api::selector::LabelSelector::from_k8s(&selector).ok()?.to_string()
    } else {
        // A ReplicationController-style selector is a plain map.
        let labels = selector.as_object()?;
        labels
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(",")
    };
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployments_read_as_kubectl_rollout_status_reads_them() {
        let mut d = json!({"metadata": {"name": "web", "generation": 2},
                           "spec": {"replicas": 3},
                           "status": {"observedGeneration": 1}});
        assert_eq!(
            progress("Deployment", &d),
            Some(Progress::Pending {
                message: "Waiting for deployment spec update to be observed...".into(),
                done: 0,
                total: 0
            })
        );
        d["status"] =
            json!({"observedGeneration": 2, "updatedReplicas": 1, "replicas": 3, "availableReplicas": 2});
        let Some(Progress::Pending { message, done: 1, total: 3 }) = progress("Deployment", &d) else {
            panic!()
        };
        assert_eq!(
            message,
            "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated..."
        );
        d["status"] =
            json!({"observedGeneration": 2, "updatedReplicas": 3, "replicas": 4, "availableReplicas": 3});
        let Some(Progress::Pending { message, .. }) = progress("Deployment", &d) else { panic!() };
        assert!(message.ends_with("1 old replicas are pending termination..."), "{message}");
        d["status"] =
            json!({"observedGeneration": 2, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 2});
        let Some(Progress::Pending { message, .. }) = progress("Deployment", &d) else { panic!() };
        assert!(message.ends_with("2 of 3 updated replicas are available..."), "{message}");
        d["status"]["availableReplicas"] = json!(3);
        assert_eq!(
            progress("Deployment", &d),
            Some(Progress::Done("deployment \"web\" successfully rolled out".into()))
        );
        d["status"]["conditions"] =
            json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]);
        assert!(matches!(progress("Deployment", &d), Some(Progress::Failed(_))));
    }

    #[test]
    fn jobs_finish_or_fail_by_their_conditions() {
        let mut job = json!({"metadata": {"name": "ci"}, "spec": {"completions": 4}, "status": {"succeeded": 2, "active": 2}});
        let Some(Progress::Pending { done: 2, total: 4, .. }) = progress("Job", &job) else { panic!() };
        job["status"]["conditions"] = json!([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]);
        assert_eq!(
            progress("Job", &job),
            Some(Progress::Failed(
                "job \"ci\" failed: BackoffLimitExceeded: Job has reached the specified backoff limit".into()
            ))
        );
        job["status"]["conditions"] = json!([{"type": "Complete", "status": "True"}]);
        assert!(matches!(progress("Job", &job), Some(Progress::Done(_))));
        assert_eq!(progress("ConfigMap", &job), None);
    }

    #[test]
    fn selectors_become_query_strings() {
        let d = json!({"spec": {"selector": {"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}, {"key": "x", "operator": "DoesNotExist"}]}}});
        assert_eq!(pod_selector(&d).as_deref(), Some("app=web,tier in (a,b),!x"));
        assert_eq!(pod_selector(&json!({"spec": {"selector": {"app": "rc"}}})).as_deref(), Some("app=rc"));
        assert_eq!(pod_selector(&json!({"spec": {}})), None);
    }
}
