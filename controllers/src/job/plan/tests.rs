use super::*;
use serde_json::{Value, json};

const NOW: &str = "2026-01-01T00:10:00Z";

fn at(offset_secs: i64) -> String {
    let now: Timestamp = NOW.parse().unwrap();
    now.checked_add(SignedDuration::from_secs(offset_secs)).unwrap().to_string()
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (into, from) => *into = from,
    }
}

/// A Job with the defaults the API server gives, adjusted by `extra`.
fn job(extra: Value) -> Job {
    let mut value = json!({
        "metadata": {"name": "pi", "namespace": "d", "uid": "job-uid"},
        "spec": {"completions": 1, "parallelism": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
                 "suspend": false,
                 "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "job-uid"}},
                 "template": {"metadata": {"labels": {"batch.kubernetes.io/controller-uid": "job-uid"}},
                              "spec": {"restartPolicy": "Never", "containers": [{"name": "main"}]}}},
    });
    merge(&mut value, extra);
    serde_json::from_value(value).unwrap()
}

/// A pod of the Job: `phase` is Pending, Running, Ready (running and ready), Succeeded or Failed; `extra`
/// adjusts it.
fn pod(name: &str, phase: &str, extra: Value) -> Arc<Pod> {
    let (phase, ready) = if phase == "Ready" { ("Running", true) } else { (phase, false) };
    let mut value = json!({
        "metadata": {"name": name, "namespace": "d", "creationTimestamp": at(-300),
                     "labels": {"batch.kubernetes.io/controller-uid": "job-uid"},
                     "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "pi",
                                          "uid": "job-uid", "controller": true}]},
        "spec": {"containers": [{"name": "main"}], "nodeName": "n"},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]},
    });
    merge(&mut value, extra);
    Arc::new(serde_json::from_value(value).unwrap())
}

fn indexed(name: &str, phase: &str, index: i32) -> Arc<Pod> {
    let i = index.to_string();
    pod(name, phase, json!({"metadata": {"annotations": {indexes::COMPLETION_INDEX: i}}}))
}

fn failed_at(name: &str, offset_secs: i64) -> Arc<Pod> {
    pod(
        name,
        "Failed",
        json!({"status": {"containerStatuses": [{"name": "main", "image": "", "imageID": "", "ready": false,
            "restartCount": 0, "state": {"terminated": {"exitCode": 1, "finishedAt": at(offset_secs)}}}]}}),
    )
}

fn conditions(types: &[(&str, &str, &str)]) -> Value {
    types
        .iter()
        .map(|(type_, reason, message)| {
            json!({"type": type_, "status": "True", "reason": reason, "message": message,
                   "lastProbeTime": at(-60), "lastTransitionTime": at(-60)})
        })
        .collect()
}

/// What a plan did, in a form the table compares.
fn summary(plan: &Plan) -> Value {
    let status = &plan.status;
    let mut out = json!({
        "create": plan.create,
        "delete": plan.delete,
        "active": status.active, "ready": status.ready, "succeeded": status.succeeded, "failed": status.failed,
        "conditions": status.conditions.iter().flatten()
            .map(|c| format!("{}={} {}", c.type_, c.status, c.reason.as_deref().unwrap_or_default()))
            .collect::<Vec<_>>(),
        "notes": plan.notes.iter()
            .map(|n| format!("{} {}: {}", if n.warning { "Warning" } else { "Normal" }, n.reason, n.message))
            .collect::<Vec<_>>(),
    });
    if let Some(indexes) = &status.completed_indexes {
        out["completedIndexes"] = json!(indexes);
    }
    if let Some(wait) = plan.recheck_after {
        out["recheck"] = json!(wait.as_secs());
    }
    if plan.delete_job {
        out["deleteJob"] = json!(true);
    }
    if !plan.adopt.is_empty() {
        out["adopt"] = json!(plan.adopt);
    }
    out
}

fn check(name: &str, job: &Job, pods: &[Arc<Pod>], manage: bool, expected: &Value) {
    let backoff = Backoff { base: Duration::from_secs(10), max: Duration::from_secs(360) };
    let plan = plan(Input { job, pods, manage, now: NOW.parse().unwrap(), backoff }).unwrap();
    let got = summary(&plan);
    let mut want = json!({"create": [], "delete": [], "active": 0, "ready": 0, "succeeded": 0, "failed": 0,
                          "conditions": [], "notes": []});
    merge(&mut want, expected.clone());
    assert_eq!(got, want, "{name}");
}

#[test]
fn non_indexed_jobs() {
    let cases: Vec<(&str, Job, Vec<Arc<Pod>>, Value)> = vec![
        (
            "a new Job starts parallelism pods",
            job(json!({"spec": {"completions": 20, "parallelism": 4}})),
            vec![],
            json!({"create": [null, null, null, null]}),
        ),
        (
            "never more pods than completions left",
            job(json!({"spec": {"completions": 5, "parallelism": 4}})),
            vec![
                pod("a", "Succeeded", json!({})),
                pod("b", "Succeeded", json!({})),
                pod("c", "Succeeded", json!({})),
                pod("d", "Ready", json!({})),
            ],
            json!({"create": [null], "active": 1, "ready": 1, "succeeded": 3}),
        ),
        (
            "surplus active pods go once completions are near",
            job(json!({"spec": {"completions": 3, "parallelism": 3}})),
            vec![
                pod("a", "Succeeded", json!({})),
                pod("b", "Succeeded", json!({})),
                pod("c", "Ready", json!({})),
                pod("d", "Pending", json!({})),
            ],
            json!({"delete": ["d"], "active": 2, "ready": 1, "succeeded": 2}),
        ),
        (
            "the last success completes the Job",
            job(json!({"spec": {"completions": 2}})),
            vec![pod("a", "Succeeded", json!({})), pod("b", "Succeeded", json!({}))],
            json!({"succeeded": 2,
                   "conditions": ["SuccessCriteriaMet=True CompletionsReached", "Complete=True CompletionsReached"],
                   "notes": ["Normal Completed: Job completed"]}),
        ),
        (
            "counters never go down when finished pods disappear",
            job(json!({"spec": {"completions": 4}, "status": {"succeeded": 2, "failed": 1}})),
            vec![pod("c", "Succeeded", json!({}))],
            json!({"create": [null], "succeeded": 2, "failed": 1}),
        ),
        (
            "failures beyond backoffLimit stop the running pods first",
            job(json!({"spec": {"completions": 5, "parallelism": 2, "backoffLimit": 2}})),
            vec![
                failed_at("a", -200),
                failed_at("b", -100),
                failed_at("c", -50),
                pod("d", "Ready", json!({})),
            ],
            json!({"delete": ["d"], "active": 1, "ready": 1, "failed": 3,
                   "conditions": ["FailureTarget=True BackoffLimitExceeded"]}),
        ),
        (
            "then the Job fails",
            job(json!({"spec": {"backoffLimit": 2}, "status": {"conditions": conditions(&[BACKOFF_LIMIT])}})),
            vec![failed_at("a", -200), failed_at("b", -100), failed_at("c", -50)],
            json!({"failed": 3,
                   "conditions": ["FailureTarget=True BackoffLimitExceeded", "Failed=True BackoffLimitExceeded"],
                   "notes": ["Warning BackoffLimitExceeded: Job has reached the specified backoff limit"]}),
        ),
        (
            "but not while a pod is still terminating",
            job(json!({"spec": {"backoffLimit": 0}, "status": {"conditions": conditions(&[BACKOFF_LIMIT])}})),
            vec![
                failed_at("a", -200),
                pod("b", "Running", json!({"metadata": {"deletionTimestamp": at(-1)}})),
            ],
            json!({"failed": 1, "conditions": ["FailureTarget=True BackoffLimitExceeded"]}),
        ),
        (
            "a replacement waits out the backoff",
            job(json!({"spec": {"completions": 1}})),
            vec![failed_at("a", -200), failed_at("b", -2)],
            // Two failures: 20 s after the latest.
            json!({"failed": 2, "recheck": 18}),
        ),
        (
            "and starts once it is over",
            job(json!({"spec": {"completions": 1}})),
            vec![failed_at("a", -30)],
            json!({"create": [null], "failed": 1}),
        ),
        (
            "restarts of OnFailure pods count against the limit",
            job(json!({"spec": {"backoffLimit": 2, "template": {"spec": {"restartPolicy": "OnFailure"}}}})),
            vec![pod(
                "a",
                "Running",
                json!({"status": {"containerStatuses": [{"name": "main", "image": "",
                "imageID": "", "ready": false, "restartCount": 2}]}}),
            )],
            json!({"delete": ["a"], "active": 1, "conditions": ["FailureTarget=True BackoffLimitExceeded"]}),
        ),
        (
            "the active deadline fails the Job",
            job(json!({"spec": {"activeDeadlineSeconds": 30}, "status": {"startTime": at(-31)}})),
            vec![pod("a", "Ready", json!({}))],
            json!({"delete": ["a"], "active": 1, "ready": 1, "conditions": ["FailureTarget=True DeadlineExceeded"]}),
        ),
        (
            "before the deadline the Job looks again when it passes",
            job(json!({"spec": {"activeDeadlineSeconds": 30}, "status": {"startTime": at(-10)}})),
            vec![pod("a", "Ready", json!({}))],
            json!({"active": 1, "ready": 1, "recheck": 20}),
        ),
        (
            "a work queue starts no pod after a success and completes when the others end",
            job(json!({"spec": {"completions": null, "parallelism": 3}})),
            vec![pod("a", "Succeeded", json!({})), pod("b", "Ready", json!({}))],
            json!({"active": 1, "ready": 1, "succeeded": 1}),
        ),
        (
            "a work queue with every pod done is complete",
            job(json!({"spec": {"completions": null, "parallelism": 3}})),
            vec![pod("a", "Succeeded", json!({})), pod("b", "Succeeded", json!({}))],
            json!({"succeeded": 2,
                   "conditions": ["SuccessCriteriaMet=True CompletionsReached", "Complete=True CompletionsReached"],
                   "notes": ["Normal Completed: Job completed"]}),
        ),
        (
            "suspending stops the pods",
            job(json!({"spec": {"suspend": true}})),
            vec![pod("a", "Ready", json!({}))],
            json!({"delete": ["a"], "active": 1, "ready": 1, "conditions": ["Suspended=True JobSuspended"],
                   "notes": ["Normal Suspended: Job suspended"]}),
        ),
        (
            "resuming starts them again",
            job(
                json!({"status": {"conditions": conditions(&[("Suspended", "JobSuspended", "Job suspended")])}}),
            ),
            vec![],
            json!({"create": [null], "conditions": ["Suspended=False JobResumed"],
                   "notes": ["Normal Resumed: Job resumed"]}),
        ),
        (
            "orphans that match are adopted and counted",
            job(json!({})),
            vec![pod("a", "Ready", json!({"metadata": {"ownerReferences": null}}))],
            json!({"adopt": ["a"], "active": 1, "ready": 1}),
        ),
        (
            "a Job managed by another controller is left alone",
            job(json!({"spec": {"managedBy": "example.com/other"}})),
            vec![],
            json!({"active": null, "ready": null, "succeeded": null, "failed": null}),
        ),
    ];
    for (name, job, pods, expected) in cases {
        check(name, &job, &pods, true, &expected);
    }
}

#[test]
fn indexed_jobs() {
    let spec = |completions: i32, parallelism: i32| json!({"spec": {"completionMode": "Indexed", "completions": completions, "parallelism": parallelism}});
    let cases: Vec<(&str, Job, Vec<Arc<Pod>>, Value)> = vec![
        ("the lowest indexes start first", job(spec(5, 2)), vec![], json!({"create": [0, 1]})),
        (
            "completed and running indexes are skipped",
            job(spec(5, 3)),
            vec![indexed("a", "Succeeded", 0), indexed("b", "Ready", 2)],
            json!({"create": [1, 3], "active": 1, "ready": 1, "succeeded": 1, "completedIndexes": "0"}),
        ),
        (
            "completed indexes survive their pods",
            job(json!({"spec": {"completionMode": "Indexed", "completions": 4, "parallelism": 4},
                       "status": {"completedIndexes": "0-1"}})),
            vec![indexed("c", "Succeeded", 3)],
            json!({"create": [2], "succeeded": 3, "completedIndexes": "0-1,3"}),
        ),
        (
            "duplicates and pods without a valid index go",
            job(spec(3, 3)),
            vec![
                indexed("a", "Ready", 0),
                indexed("b", "Pending", 0),
                indexed("c", "Ready", 7),
                pod("d", "Ready", json!({})),
            ],
            json!({"delete": ["b", "c", "d"], "create": [1, 2], "active": 4, "ready": 3}),
        ),
        (
            "every index done completes the Job",
            job(spec(2, 2)),
            vec![indexed("a", "Succeeded", 0), indexed("b", "Succeeded", 1)],
            json!({"succeeded": 2, "completedIndexes": "0-1",
                   "conditions": ["SuccessCriteriaMet=True CompletionsReached", "Complete=True CompletionsReached"],
                   "notes": ["Normal Completed: Job completed"]}),
        ),
    ];
    for (name, job, pods, expected) in cases {
        check(name, &job, &pods, true, &expected);
    }
}

#[test]
fn unobserved_writes_hold_back_creations_and_deletions() {
    let job = job(json!({"spec": {"completions": 3, "parallelism": 3}}));
    check("manage false", &job, &[pod("a", "Pending", json!({}))], false, &json!({"active": 1}));
}

#[test]
fn finished_jobs_expire_after_their_ttl() {
    let finished = |ttl: Option<i32>, finished: i64| {
        job(json!({"spec": {"ttlSecondsAfterFinished": ttl},
                   "status": {"succeeded": 1, "completionTime": at(finished),
                              "conditions": conditions(&[SUCCESS, ("Complete", SUCCESS.1, SUCCESS.2)])}}))
    };
    let done = json!({"active": null, "ready": null, "failed": null, "succeeded": 1,
                      "conditions": ["SuccessCriteriaMet=True CompletionsReached", "Complete=True CompletionsReached"]});
    let mut expired = done.clone();
    expired["deleteJob"] = json!(true);
    let mut waiting = done.clone();
    waiting["recheck"] = json!(40);
    let cases = [
        ("no ttl: kept", finished(None, -100), done.clone()),
        ("expired", finished(Some(60), -100), expired),
        ("not yet", finished(Some(60), -20), waiting),
    ];
    for (name, job, expected) in cases {
        // Finished Jobs touch no pods, even leftovers.
        check(name, &job, &[pod("x", "Ready", json!({}))], true, &expected);
    }
}

#[test]
fn backoff_doubles_up_to_its_maximum() {
    let backoff = Backoff { base: Duration::from_secs(10), max: Duration::from_secs(60) };
    let delays: Vec<u64> = [0, 1, 2, 3, 4, 50].iter().map(|f| backoff.after(*f).as_secs()).collect();
    assert_eq!(delays, [0, 10, 20, 40, 60, 60]);
}
