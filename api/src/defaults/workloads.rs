//! Deployment, `ReplicaSet`, `DaemonSet` and Job defaults, and the selector the server generates for a Job.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetUpdateStrategy, Deployment, DeploymentStrategy, ReplicaSet, RollingUpdateDaemonSet,
    RollingUpdateDeployment,
};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::pod::default_pod_template_spec;
use super::{ApplyDefaults, default_str};

const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
const LEGACY_JOB_NAME_LABEL: &str = "job-name";

impl ApplyDefaults for Deployment {
    fn apply_defaults(&mut self) {
        let spec = &mut self.spec;
        spec.replicas.get_or_insert(1);
        let strategy = spec.strategy.get_or_insert_with(DeploymentStrategy::default);
        default_str(&mut strategy.type_, "RollingUpdate");
        if strategy.type_.as_deref() == Some("RollingUpdate") {
            let rolling = strategy.rolling_update.get_or_insert_with(RollingUpdateDeployment::default);
            rolling.max_unavailable.get_or_insert_with(|| IntOrString::String("25%".to_owned()));
            rolling.max_surge.get_or_insert_with(|| IntOrString::String("25%".to_owned()));
        }
        spec.revision_history_limit.get_or_insert(10);
        spec.progress_deadline_seconds.get_or_insert(600);
        default_pod_template_spec(&mut spec.template);
    }
}

impl ApplyDefaults for ReplicaSet {
    fn apply_defaults(&mut self) {
        self.spec.replicas.get_or_insert(1);
        if let Some(template) = &mut self.spec.template {
            default_pod_template_spec(template);
        }
    }
}

impl ApplyDefaults for DaemonSet {
    fn apply_defaults(&mut self) {
        let spec = &mut self.spec;
        let strategy = spec.update_strategy.get_or_insert_with(DaemonSetUpdateStrategy::default);
        default_str(&mut strategy.type_, "RollingUpdate");
        if strategy.type_.as_deref() == Some("RollingUpdate") {
            let rolling = strategy.rolling_update.get_or_insert_with(RollingUpdateDaemonSet::default);
            rolling.max_unavailable.get_or_insert(IntOrString::Int(1));
            rolling.max_surge.get_or_insert(IntOrString::Int(0));
        }
        spec.revision_history_limit.get_or_insert(10);
        default_pod_template_spec(&mut spec.template);
    }
}

impl ApplyDefaults for Job {
    fn apply_defaults(&mut self) {
        let spec = self.spec.get_or_insert_with(JobSpec::default);
        // A non-parallel Job may leave both unset; both then become 1.
        if spec.completions.is_none() && spec.parallelism.is_none() {
            spec.completions = Some(1);
            spec.parallelism = Some(1);
        }
        spec.parallelism.get_or_insert(1);
        if spec.backoff_limit.is_none() {
            spec.backoff_limit = Some(if spec.backoff_limit_per_index.is_some() { i32::MAX } else { 6 });
        }
        default_str(&mut spec.completion_mode, "NonIndexed");
        spec.suspend.get_or_insert(false);
        if let Some(policy) = &mut spec.pod_failure_policy {
            for rule in &mut policy.rules {
                for pattern in rule.on_pod_conditions.iter_mut().flatten() {
                    default_str(&mut pattern.status, "True");
                }
            }
        }
        if spec.pod_replacement_policy.is_none() {
            let policy = if spec.pod_failure_policy.is_some() { "Failed" } else { "TerminatingOrFailed" };
            spec.pod_replacement_policy = Some(policy.to_owned());
        }
        spec.manual_selector.get_or_insert(false);
        default_pod_template_spec(&mut spec.template);
        // The Job's labels default to its template's. Kubernetes copies them before it generates the selector
        // and again on later writes; copying on both sides of the generation gives that final state at once.
        copy_template_labels(self);
        generate_job_selector(self);
        copy_template_labels(self);
    }
}

fn copy_template_labels(job: &mut Job) {
    let template_labels =
        job.spec.as_ref().and_then(|s| s.template.metadata.as_ref()).and_then(|m| m.labels.clone());
    if let Some(labels) = template_labels
        && job.metadata.labels.as_ref().is_none_or(BTreeMap::is_empty)
    {
        job.metadata.labels = Some(labels);
    }
}

/// Gives a Job the selector Kubernetes generates on create, unless `manualSelector` is true: the template
/// gets `batch.kubernetes.io/controller-uid`, `batch.kubernetes.io/job-name`, `controller-uid` and
/// `job-name` labels (keeping any the client set, which validation then checks), and the selector matches
/// `batch.kubernetes.io/controller-uid`.
///
/// Needs `metadata.uid` (and the final `metadata.name`); without a uid it does nothing. Idempotent.
pub fn generate_job_selector(job: &mut Job) {
    let (Some(uid), Some(name)) = (job.metadata.uid.clone(), job.metadata.name.clone()) else { return };
    if uid.is_empty() {
        return;
    }
    let Some(spec) = job.spec.as_mut() else { return };
    if spec.manual_selector == Some(true) {
        return;
    }
    let labels =
        spec.template.metadata.get_or_insert_with(Default::default).labels.get_or_insert_with(BTreeMap::new);
    for (key, value) in [
        (LEGACY_JOB_NAME_LABEL, &name),
        (JOB_NAME_LABEL, &name),
        (LEGACY_CONTROLLER_UID_LABEL, &uid),
        (CONTROLLER_UID_LABEL, &uid),
    ] {
        labels.entry(key.to_owned()).or_insert_with(|| value.clone());
    }
    spec.selector
        .get_or_insert_with(LabelSelector::default)
        .match_labels
        .get_or_insert_with(BTreeMap::new)
        .entry(CONTROLLER_UID_LABEL.to_owned())
        .or_insert(uid);
}
