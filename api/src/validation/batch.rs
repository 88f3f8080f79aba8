//! Jobs: counts, completion mode, restart policy, the generated selector, and what an update may change.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::PodTemplateSpec;

use super::apps::{nonnegative, selector_go_json, selector_unchanged};
use super::meta::{
    NameRule, immutable, label_selector_matches, validate_label_selector, validate_object_meta_update,
};
use super::names::is_dns1123_label;
use super::pod::validate_pod_template_spec;
use super::{FieldError, FieldPath, Validate, validate_object_meta};

/// Labels the server adds to a Job's pod template when it generates the selector.
pub(crate) const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
pub(crate) const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
pub(crate) const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
pub(crate) const LEGACY_JOB_NAME_LABEL: &str = "job-name";
const MAX_PARALLELISM_FOR_INDEXED_JOB: i32 = 100_000;
const MAX_COMPLETIONS_FOR_INDEXED_JOB: i32 = 100_000;

impl Validate for Job {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, NameRule::Dns1123Subdomain);
        let empty = JobSpec::default();
        let spec = self.spec.as_ref().unwrap_or(&empty);
        errs.extend(validate_generated_selector(self, spec));
        errs.extend(validate_job_spec(spec));
        let indexed = spec.completion_mode.as_deref() == Some("Indexed");
        if let (true, Some(completions)) = (indexed, spec.completions.filter(|c| *c > 0)) {
            // The controller names indexed pods' hostnames `<job>-<index>`; the largest must be a DNS label.
            let name = self.metadata.name.as_deref().unwrap_or_default();
            let hostname = format!("{name}-{}", completions - 1);
            if !is_dns1123_label(&hostname).is_empty() {
                errs.push(FieldError::invalid(
                    &FieldPath::new("metadata").child("name"),
                    name,
                    format!("will not able to create pod with invalid DNS label: {hostname}"),
                ));
            }
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        errs.extend(self.validate());
        let empty = JobSpec::default();
        let spec = self.spec.as_ref().unwrap_or(&empty);
        let old_spec = old.spec.as_ref().unwrap_or(&empty);
        let path = FieldPath::new("spec");
        let indexed = spec.completion_mode.as_deref() == Some("Indexed");
        if !indexed && spec.completions != old_spec.completions {
            errs.push(immutable(&path.child("completions"), spec.completions));
        } else if indexed && spec.completions != old_spec.completions && spec.completions != spec.parallelism
        {
            errs.push(FieldError::invalid(
                &path.child("completions"),
                spec.completions,
                "can only be modified in tandem with spec.parallelism",
            ));
        }
        let (new_selector, old_selector) =
            (spec.selector.clone().unwrap_or_default(), old_spec.selector.clone().unwrap_or_default());
        errs.extend(selector_unchanged(&new_selector, &old_selector));
        errs.extend(validate_template_update(spec, old_spec, old));
        for (changed, field, value) in [
            (
                spec.completion_mode != old_spec.completion_mode,
                "completionMode",
                serde_json::to_value(&spec.completion_mode),
            ),
            (
                spec.pod_failure_policy != old_spec.pod_failure_policy,
                "podFailurePolicy",
                serde_json::to_value(&spec.pod_failure_policy),
            ),
            (
                spec.backoff_limit_per_index != old_spec.backoff_limit_per_index,
                "backoffLimitPerIndex",
                serde_json::to_value(spec.backoff_limit_per_index),
            ),
            (spec.managed_by != old_spec.managed_by, "managedBy", serde_json::to_value(&spec.managed_by)),
            (
                spec.success_policy != old_spec.success_policy,
                "successPolicy",
                serde_json::to_value(&spec.success_policy),
            ),
        ] {
            if changed {
                errs.push(immutable(&path.child(field), value.unwrap_or_default()));
            }
        }
        errs
    }
}

/// The pod template is immutable, except that a suspended Job that never started may change its scheduling
/// directives (node selector, affinity, tolerations, scheduling gates) and template labels and annotations.
fn validate_template_update(spec: &JobSpec, old_spec: &JobSpec, old: &Job) -> Option<FieldError> {
    let path = FieldPath::new("spec").child("template");
    let never_started = old.status.as_ref().and_then(|s| s.start_time.as_ref()).is_none();
    let mutable_directives = old_spec.suspend == Some(true) && never_started;
    let comparable = |template: &PodTemplateSpec| {
        let mut template = template.clone();
        if mutable_directives {
            if let Some(meta) = template.metadata.as_mut() {
                meta.labels = None;
                meta.annotations = None;
            }
            if let Some(pod) = template.spec.as_mut() {
                pod.node_selector = None;
                pod.affinity = None;
                pod.tolerations = None;
                pod.scheduling_gates = None;
            }
        }
        template
    };
    (comparable(&spec.template) != comparable(&old_spec.template)).then(|| immutable(&path, &spec.template))
}

/// `validateGeneratedSelector`: unless `manualSelector` is set, the selector must be the one the server
/// generated from the Job's uid, and the template must carry the generated labels.
fn validate_generated_selector(job: &Job, spec: &JobSpec) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if spec.manual_selector == Some(true) {
        return errs;
    }
    let Some(selector) = &spec.selector else { return errs };
    let uid = job.metadata.uid.as_deref().unwrap_or_default();
    let name = job.metadata.name.as_deref().unwrap_or_default();
    if uid.is_empty() {
        errs.push(FieldError::required(&FieldPath::new("metadata").child("uid"), ""));
    }
    let template_meta = FieldPath::new("spec").child("template").child("metadata");
    let labels = job.spec.as_ref().and_then(|s| s.template.metadata.as_ref()).and_then(|m| m.labels.as_ref());
    for (key, expected) in [
        (LEGACY_CONTROLLER_UID_LABEL, uid),
        (LEGACY_JOB_NAME_LABEL, name),
        (CONTROLLER_UID_LABEL, uid),
        (JOB_NAME_LABEL, name),
    ] {
        let field = template_meta.child("labels").key(key);
        match labels.and_then(|l| l.get(key)) {
            None => errs.push(FieldError::required(&field, format!("must be '{expected}'"))),
            Some(actual) if actual != expected => {
                errs.push(FieldError::invalid(&field, labels, format!("must be '{expected}'")));
            }
            Some(_) => {}
        }
    }
    let expected: BTreeMap<String, String> =
        [(CONTROLLER_UID_LABEL.to_owned(), uid.to_owned()), (JOB_NAME_LABEL.to_owned(), name.to_owned())]
            .into();
    if !label_selector_matches(selector, Some(&expected)) {
        errs.push(FieldError::invalid(
            &FieldPath::new("spec").child("selector"),
            selector_go_json(selector),
            "`selector` not auto-generated",
        ));
    }
    errs
}

fn validate_job_spec(spec: &JobSpec) -> Vec<FieldError> {
    let path = FieldPath::new("spec");
    let mut errs = Vec::new();
    errs.extend(nonnegative(spec.parallelism, &path.child("parallelism")));
    errs.extend(nonnegative(spec.completions, &path.child("completions")));
    if let Some(deadline) = spec.active_deadline_seconds.filter(|d| *d < 0) {
        errs.push(FieldError::invalid(
            &path.child("activeDeadlineSeconds"),
            deadline,
            "must be greater than or equal to 0",
        ));
    }
    errs.extend(nonnegative(spec.backoff_limit, &path.child("backoffLimit")));
    errs.extend(nonnegative(spec.ttl_seconds_after_finished, &path.child("ttlSecondsAfterFinished")));
    let indexed = spec.completion_mode.as_deref() == Some("Indexed");
    if let Some(per_index) = spec.backoff_limit_per_index {
        errs.extend(nonnegative(Some(per_index), &path.child("backoffLimitPerIndex")));
        if !indexed {
            errs.push(FieldError::invalid(
                &path.child("backoffLimitPerIndex"),
                per_index,
                "requires indexed completion mode",
            ));
        }
    }
    if let Some(max_failed) = spec.max_failed_indexes {
        errs.extend(nonnegative(Some(max_failed), &path.child("maxFailedIndexes")));
        if spec.backoff_limit_per_index.is_none() {
            errs.push(FieldError::required(
                &path.child("backoffLimitPerIndex"),
                "when maxFailedIndexes is specified",
            ));
        }
        if indexed && spec.completions.is_some_and(|c| max_failed > c) {
            errs.push(FieldError::invalid(
                &path.child("maxFailedIndexes"),
                max_failed,
                "must be less than or equal to completions",
            ));
        }
    }
    if let Some(mode) = spec.completion_mode.as_deref() {
        if !["NonIndexed", "Indexed"].contains(&mode) {
            errs.push(FieldError::not_supported(
                &path.child("completionMode"),
                mode,
                &["NonIndexed", "Indexed"],
            ));
        }
        if indexed {
            match spec.completions {
                None => errs.push(FieldError::required(&path.child("completions"), "when completion mode is Indexed")),
                Some(c) if c > MAX_COMPLETIONS_FOR_INDEXED_JOB => errs.push(FieldError::invalid(
                    &path.child("completions"),
                    c,
                    format!("must be less than or equal to {MAX_COMPLETIONS_FOR_INDEXED_JOB} when completion mode is Indexed"),
                )),
                Some(_) => {}
            }
            if let Some(p) = spec.parallelism.filter(|p| *p > MAX_PARALLELISM_FOR_INDEXED_JOB) {
                errs.push(FieldError::invalid(
                    &path.child("parallelism"),
                    p,
                    format!("must be less than or equal to {MAX_PARALLELISM_FOR_INDEXED_JOB} when completion mode is Indexed"),
                ));
            }
        }
    }
    if let Some(policy) = spec.pod_replacement_policy.as_deref() {
        let field = path.child("podReplacementPolicy");
        if spec.pod_failure_policy.is_some() {
            if policy != "Failed" {
                errs.push(FieldError::not_supported(&field, policy, &["Failed"]));
            }
        } else if !["Failed", "TerminatingOrFailed"].contains(&policy) {
            errs.push(FieldError::not_supported(&field, policy, &["Failed", "TerminatingOrFailed"]));
        }
    }
    let template_path = path.child("template");
    errs.extend(validate_pod_template_spec(&spec.template, &template_path));
    let restart_policy =
        spec.template.spec.as_ref().and_then(|s| s.restart_policy.as_deref()).unwrap_or("Always");
    let restart_path = template_path.child("spec").child("restartPolicy");
    if restart_policy != "OnFailure" && restart_policy != "Never" {
        errs.push(FieldError::required(&restart_path, "valid values: \"OnFailure\", \"Never\""));
    } else if restart_policy == "OnFailure" && spec.pod_failure_policy.is_some() {
        errs.push(FieldError::invalid(
            &restart_path,
            restart_policy,
            "only \"Never\" is supported when podFailurePolicy is specified",
        ));
    }
    let selector_path = path.child("selector");
    let labels = spec.template.metadata.as_ref().and_then(|m| m.labels.as_ref());
    match &spec.selector {
        None => errs.push(FieldError::required(&selector_path, "")),
        Some(selector) => {
            errs.extend(validate_label_selector(Some(selector), &selector_path));
            if !label_selector_matches(selector, labels) {
                errs.push(FieldError::invalid(
                    &template_path.child("metadata").child("labels"),
                    labels,
                    "`selector` does not match template `labels`",
                ));
            }
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::test_support::{Edit, check_cases, from_json, messages, with};
    use serde_json::{Value, json};

    const UID: &str = "0f1e2d3c-0000-4000-8000-000000000001";

    fn job() -> Value {
        json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "pi", "namespace": "default", "uid": UID},
            "spec": {
                "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": UID}},
                "parallelism": 1, "completions": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
                "template": {
                    "metadata": {"labels": {"batch.kubernetes.io/controller-uid": UID, "batch.kubernetes.io/job-name": "pi",
                                            "controller-uid": UID, "job-name": "pi"}},
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "pi.wasm"}]},
                },
            },
        })
    }

    fn check(value: &Value) -> Vec<String> {
        messages(&from_json::<Job>(value.clone()).validate())
    }

    #[test]
    fn valid_jobs() {
        assert_eq!(check(&job()), Vec::<String>::new());
        let manual = with(
            &job(),
            &[
                ("/spec/manualSelector", json!(true)),
                ("/spec/selector", json!({"matchLabels": {"app": "pi"}})),
                ("/spec/template/metadata/labels", json!({"app": "pi"})),
            ],
        );
        assert_eq!(check(&manual), Vec::<String>::new());
        let indexed =
            with(&job(), &[("/spec/completionMode", json!("Indexed")), ("/spec/completions", json!(5))]);
        assert_eq!(check(&indexed), Vec::<String>::new());
    }

    #[test]
    fn broken_jobs() {
        let base = job();
        let cases: Vec<(Vec<Edit>, Vec<&str>)> = vec![
            (
                vec![("/spec/parallelism", json!(-1))],
                vec!["spec.parallelism: Invalid value: -1: must be greater than or equal to 0"],
            ),
            (
                vec![("/spec/completions", json!(-1))],
                vec!["spec.completions: Invalid value: -1: must be greater than or equal to 0"],
            ),
            (
                vec![("/spec/backoffLimit", json!(-1))],
                vec!["spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"],
            ),
            (
                vec![("/spec/activeDeadlineSeconds", json!(-1))],
                vec!["spec.activeDeadlineSeconds: Invalid value: -1: must be greater than or equal to 0"],
            ),
            (
                vec![("/spec/ttlSecondsAfterFinished", json!(-1))],
                vec!["spec.ttlSecondsAfterFinished: Invalid value: -1: must be greater than or equal to 0"],
            ),
            (
                vec![("/spec/template/spec/restartPolicy", json!("Always"))],
                vec![
                    "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"",
                ],
            ),
            (
                vec![("/spec/template/spec/restartPolicy", Value::Null)],
                vec![
                    "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"",
                ],
            ),
            (
                vec![("/spec/completionMode", json!("Sparse"))],
                vec![
                    "spec.completionMode: Unsupported value: \"Sparse\": supported values: \"NonIndexed\", \"Indexed\"",
                ],
            ),
            (
                vec![("/spec/completionMode", json!("Indexed")), ("/spec/completions", Value::Null)],
                vec!["spec.completions: Required value: when completion mode is Indexed"],
            ),
            (
                vec![("/spec/completionMode", json!("Indexed")), ("/spec/parallelism", json!(100_001))],
                vec![
                    "spec.parallelism: Invalid value: 100001: must be less than or equal to 100000 when completion mode is Indexed",
                ],
            ),
            (
                vec![("/spec/backoffLimitPerIndex", json!(1))],
                vec!["spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode"],
            ),
            (
                vec![("/spec/podReplacementPolicy", json!("Sometimes"))],
                vec![
                    "spec.podReplacementPolicy: Unsupported value: \"Sometimes\": supported values: \"Failed\", \"TerminatingOrFailed\"",
                ],
            ),
            (vec![("/spec/selector", Value::Null)], vec!["spec.selector: Required value"]),
            (
                vec![("/spec/template/metadata/labels/job-name", json!("other"))],
                vec![
                    "spec.template.metadata.labels[job-name]: Invalid value: {\"batch.kubernetes.io/controller-uid\":\"0f1e2d3c-0000-4000-8000-000000000001\",\"batch.kubernetes.io/job-name\":\"pi\",\"controller-uid\":\"0f1e2d3c-0000-4000-8000-000000000001\",\"job-name\":\"other\"}: must be 'pi'",
                ],
            ),
            (
                vec![("/spec/template/metadata/labels/batch.kubernetes.io~1job-name", Value::Null)],
                vec![
                    "spec.template.metadata.labels[batch.kubernetes.io/job-name]: Required value: must be 'pi'",
                ],
            ),
            (
                vec![("/spec/selector/matchLabels/batch.kubernetes.io~1controller-uid", json!("x"))],
                vec![
                    "spec.selector: Invalid value: {\"matchLabels\":{\"batch.kubernetes.io/controller-uid\":\"x\"}}: `selector` not auto-generated",
                    "spec.template.metadata.labels: Invalid value: {\"batch.kubernetes.io/controller-uid\":\"0f1e2d3c-0000-4000-8000-000000000001\",\"batch.kubernetes.io/job-name\":\"pi\",\"controller-uid\":\"0f1e2d3c-0000-4000-8000-000000000001\",\"job-name\":\"pi\"}: `selector` does not match template `labels`",
                ],
            ),
            (
                vec![("/metadata/uid", Value::Null)],
                vec![
                    "metadata.uid: Required value",
                    "spec.template.metadata.labels[controller-uid]: Invalid value: {\"batch.kubernetes.io/controller-uid\":\"0f1e2d3c-0000-4000-8000-000000000001\",\"batch.kubernetes.io/job-name\":\"pi\",\"controller-uid\":\"0f1e2d3c-0000-4000-8000-000000000001\",\"job-name\":\"pi\"}: must be ''",
                    "spec.template.metadata.labels[batch.kubernetes.io/controller-uid]: Invalid value: {\"batch.kubernetes.io/controller-uid\":\"0f1e2d3c-0000-4000-8000-000000000001\",\"batch.kubernetes.io/job-name\":\"pi\",\"controller-uid\":\"0f1e2d3c-0000-4000-8000-000000000001\",\"job-name\":\"pi\"}: must be ''",
                    "spec.selector: Invalid value: {\"matchLabels\":{\"batch.kubernetes.io/controller-uid\":\"0f1e2d3c-0000-4000-8000-000000000001\"}}: `selector` not auto-generated",
                ],
            ),
            (
                vec![("/spec/template/spec/containers", json!([]))],
                vec!["spec.template.spec.containers: Required value"],
            ),
        ];
        check_cases(cases, |edits| check(&with(&base, edits)));
        let long_name = with(
            &job(),
            &[
                ("/spec/completionMode", json!("Indexed")),
                ("/spec/completions", json!(10)),
                ("/metadata/name", json!("a".repeat(62))),
            ],
        );
        let errs = check(&long_name);
        assert!(errs.contains(&format!("metadata.name: Invalid value: \"{0}\": will not able to create pod with invalid DNS label: {0}-9", "a".repeat(62))), "{errs:#?}");
    }

    #[test]
    fn job_updates() {
        let old: Job = from_json(job());
        let run = |edits: &Vec<Edit>| messages(&from_json::<Job>(with(&job(), edits)).validate_update(&old));
        let cases: Vec<(Vec<Edit>, Vec<String>)> = vec![
            (vec![("/spec/parallelism", json!(3)), ("/spec/backoffLimit", json!(2))], vec![]),
            (
                vec![("/spec/completions", json!(3))],
                vec!["spec.completions: Invalid value: 3: field is immutable".into()],
            ),
            (
                vec![("/spec/completionMode", json!("Indexed"))],
                vec!["spec.completionMode: Invalid value: \"Indexed\": field is immutable".into()],
            ),
        ];
        check_cases(cases, run);
        let manual = with(
            &job(),
            &[
                ("/spec/manualSelector", json!(true)),
                ("/spec/selector", json!({"matchLabels": {"job-name": "pi"}})),
            ],
        );
        let old_manual: Job = from_json(manual.clone());
        let reselected: Job = from_json(with(
            &manual,
            &[("/spec/selector/matchExpressions", json!([{"key": "job-name", "operator": "Exists"}]))],
        ));
        assert_eq!(
            messages(&reselected.validate_update(&old_manual)),
            vec![
                "spec.selector: Invalid value: {\"matchExpressions\":[{\"key\":\"job-name\",\"operator\":\"Exists\"}],\"matchLabels\":{\"job-name\":\"pi\"}}: field is immutable"
            ]
        );
        let image =
            from_json::<Job>(with(&job(), &[("/spec/template/spec/containers/0/image", json!("pi2.wasm"))]));
        let errs = messages(&image.validate_update(&old));
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with("spec.template: Invalid value: {"), "{}", errs[0]);
        assert!(errs[0].ends_with("}: field is immutable"), "{}", errs[0]);
        // A suspended Job that never ran may retarget its pods.
        let suspended: Job = from_json(with(&job(), &[("/spec/suspend", json!(true))]));
        let retargeted: Job = from_json(with(
            &job(),
            &[("/spec/suspend", json!(true)), ("/spec/template/spec/nodeSelector", json!({"zone": "a"}))],
        ));
        assert!(retargeted.validate_update(&suspended).is_empty());
        // Indexed jobs scale completions together with parallelism.
        let indexed = with(
            &job(),
            &[
                ("/spec/completionMode", json!("Indexed")),
                ("/spec/completions", json!(4)),
                ("/spec/parallelism", json!(4)),
            ],
        );
        let old_indexed: Job = from_json(indexed.clone());
        let scaled: Job =
            from_json(with(&indexed, &[("/spec/completions", json!(6)), ("/spec/parallelism", json!(6))]));
        assert!(scaled.validate_update(&old_indexed).is_empty());
        let lopsided: Job = from_json(with(&indexed, &[("/spec/completions", json!(6))]));
        assert_eq!(
            messages(&lopsided.validate_update(&old_indexed)),
            vec!["spec.completions: Invalid value: 6: can only be modified in tandem with spec.parallelism"]
        );
    }
}
