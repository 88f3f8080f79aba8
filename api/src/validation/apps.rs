//! Workload controllers (Deployments, `ReplicaSets`, `DaemonSets`) and `PodDisruptionBudgets`: selectors,
//! templates, replica counts and rollout strategies.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value, json};

use super::meta::{
    NameRule, immutable, label_selector_matches, selector_is_empty, validate_label_selector,
    validate_object_meta_update,
};
use super::names::is_valid_percent;
use super::pod::validate_pod_template_spec;
use super::{FieldError, FieldPath, Validate, validate_object_meta};

impl Validate for Deployment {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, NameRule::Dns1123Subdomain);
        let spec = &self.spec;
        let path = FieldPath::new("spec");
        errs.extend(nonnegative(spec.replicas, &path.child("replicas")));
        errs.extend(validate_selector_and_template(
            &spec.selector,
            Some(&spec.template),
            &path,
            "deployment",
            "ReplicaSet",
        ));
        if let Some(strategy) = &spec.strategy {
            errs.extend(validate_deployment_strategy(strategy, &path.child("strategy")));
        }
        errs.extend(nonnegative(spec.min_ready_seconds, &path.child("minReadySeconds")));
        errs.extend(nonnegative(spec.revision_history_limit, &path.child("revisionHistoryLimit")));
        if let Some(deadline) = spec.progress_deadline_seconds {
            errs.extend(nonnegative(Some(deadline), &path.child("progressDeadlineSeconds")));
            if deadline <= spec.min_ready_seconds.unwrap_or(0) {
                errs.push(FieldError::invalid(
                    &path.child("progressDeadlineSeconds"),
                    deadline,
                    "must be greater than minReadySeconds",
                ));
            }
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        errs.extend(self.validate());
        errs.extend(selector_unchanged(&self.spec.selector, &old.spec.selector));
        errs
    }
}

impl Validate for ReplicaSet {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, NameRule::Dns1123Subdomain);
        let spec = &self.spec;
        let path = FieldPath::new("spec");
        errs.extend(nonnegative(spec.replicas, &path.child("replicas")));
        errs.extend(nonnegative(spec.min_ready_seconds, &path.child("minReadySeconds")));
        // Kubernetes' ReplicaSet validation reuses the Deployment wording for an empty selector.
        errs.extend(validate_selector_and_template(
            &spec.selector,
            spec.template.as_ref(),
            &path,
            "deployment",
            "ReplicaSet",
        ));
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        errs.extend(self.validate());
        errs.extend(selector_unchanged(&self.spec.selector, &old.spec.selector));
        errs
    }
}

impl Validate for DaemonSet {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, NameRule::Dns1123Subdomain);
        let spec = &self.spec;
        let path = FieldPath::new("spec");
        errs.extend(validate_label_selector(Some(&spec.selector), &path.child("selector")));
        let labels = spec.template.metadata.as_ref().and_then(|m| m.labels.as_ref());
        // An absent selector selects nothing in Kubernetes, so it fails the template check; an explicitly
        // empty one selects everything and is rejected on its own.
        if selector_absent(&spec.selector) || !label_selector_matches(&spec.selector, labels) {
            errs.push(selector_mismatch(&path, labels));
        }
        if !selector_absent(&spec.selector) && selector_is_empty(&spec.selector) {
            errs.push(FieldError::invalid(
                &path.child("selector"),
                json!({}),
                "empty selector is invalid for daemonset",
            ));
        }
        errs.extend(validate_template_for_controller(&spec.template, &path.child("template"), "DaemonSet"));
        errs.extend(nonnegative(spec.min_ready_seconds, &path.child("minReadySeconds")));
        if let Some(strategy) = &spec.update_strategy {
            let strategy_path = path.child("updateStrategy");
            match strategy.type_.as_deref().unwrap_or("RollingUpdate") {
                "OnDelete" => {}
                "RollingUpdate" => {
                    if let Some(rolling) = &strategy.rolling_update {
                        let rolling_path = strategy_path.child("rollingUpdate");
                        let unavailable = rolling.max_unavailable.clone().unwrap_or(IntOrString::Int(1));
                        let surge = rolling.max_surge.clone().unwrap_or(IntOrString::Int(0));
                        let unavailable_path = rolling_path.child("maxUnavailable");
                        let surge_path = rolling_path.child("maxSurge");
                        errs.extend(positive_int_or_percent(&unavailable, &unavailable_path));
                        errs.extend(positive_int_or_percent(&surge, &surge_path));
                        errs.extend(not_more_than_100_percent(&unavailable, &unavailable_path));
                        errs.extend(not_more_than_100_percent(&surge, &surge_path));
                        let has_unavailable = int_or_percent_value(&unavailable) != 0;
                        let has_surge = int_or_percent_value(&surge) != 0;
                        if has_unavailable && has_surge {
                            errs.push(FieldError::invalid(
                                &surge_path,
                                &surge,
                                "may not be set when maxUnavailable is non-zero",
                            ));
                        } else if !has_unavailable && !has_surge {
                            errs.push(FieldError::required(
                                &unavailable_path,
                                "cannot be 0 when maxSurge is 0",
                            ));
                        }
                    }
                }
                other => {
                    let internal = json!({"Type": other, "RollingUpdate": strategy.rolling_update.as_ref().map(|r| json!({
                        "MaxUnavailable": r.max_unavailable, "MaxSurge": r.max_surge,
                    }))});
                    errs.push(FieldError::not_supported(
                        &strategy_path,
                        internal,
                        &["RollingUpdate", "OnDelete"],
                    ));
                }
            }
        }
        errs.extend(nonnegative(spec.revision_history_limit, &path.child("revisionHistoryLimit")));
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        errs.extend(self.validate());
        errs.extend(selector_unchanged(&self.spec.selector, &old.spec.selector));
        errs
    }
}

/// `field is immutable` for a changed `spec.selector`.
pub(crate) fn selector_unchanged(new: &LabelSelector, old: &LabelSelector) -> Option<FieldError> {
    (selector_go_json(new) != selector_go_json(old))
        .then(|| immutable(&FieldPath::new("spec").child("selector"), selector_go_json(new)))
}

/// A selector with neither `matchLabels` nor `matchExpressions` given at all: what an omitted `selector`
/// decodes to.
pub(crate) fn selector_absent(selector: &LabelSelector) -> bool {
    selector.match_labels.is_none() && selector.match_expressions.is_none()
}

/// The selector as Go's encoding/json writes it: empty lists and maps omitted.
pub(crate) fn selector_go_json(selector: &LabelSelector) -> Value {
    let mut value = json!({});
    if let Some(map) = value.as_object_mut() {
        if let Some(labels) = selector.match_labels.as_ref().filter(|l| !l.is_empty()) {
            map.insert("matchLabels".into(), json!(labels));
        }
        if let Some(expressions) = selector.match_expressions.as_ref().filter(|e| !e.is_empty()) {
            map.insert("matchExpressions".into(), json!(expressions));
        }
    }
    value
}

fn selector_mismatch(
    spec_path: &FieldPath,
    labels: Option<&std::collections::BTreeMap<String, String>>,
) -> FieldError {
    FieldError::invalid(
        &spec_path.child("template").child("metadata").child("labels"),
        labels,
        "`selector` does not match template `labels`",
    )
}

/// The Deployment/ReplicaSet selector and template rules.
fn validate_selector_and_template(
    selector: &LabelSelector,
    template: Option<&PodTemplateSpec>,
    spec_path: &FieldPath,
    kind_word: &str,
    template_owner: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let selector_path = spec_path.child("selector");
    let absent = selector_absent(selector);
    if absent {
        errs.push(FieldError::required(&selector_path, ""));
    } else {
        errs.extend(validate_label_selector(Some(selector), &selector_path));
        if selector_is_empty(selector) {
            errs.push(FieldError::invalid(
                &selector_path,
                json!({}),
                format!("empty selector is invalid for {kind_word}"),
            ));
        }
    }
    let default_template = PodTemplateSpec::default();
    let template = template.unwrap_or(&default_template);
    let labels = template.metadata.as_ref().and_then(|m| m.labels.as_ref());
    // An omitted selector matches nothing; an empty one matches everything and skips the check.
    if absent || (!selector_is_empty(selector) && !label_selector_matches(selector, labels)) {
        errs.push(selector_mismatch(spec_path, labels));
    }
    errs.extend(validate_template_for_controller(template, &spec_path.child("template"), template_owner));
    errs
}

/// A controller's pod template: the pod-template rules, `restartPolicy` Always, no `activeDeadlineSeconds`.
fn validate_template_for_controller(
    template: &PodTemplateSpec,
    path: &FieldPath,
    owner: &str,
) -> Vec<FieldError> {
    let mut errs = validate_pod_template_spec(template, path);
    let spec = template.spec.as_ref();
    let restart_policy = spec.and_then(|s| s.restart_policy.as_deref()).unwrap_or("Always");
    // An empty policy was already reported as Required by the pod-template rules.
    if restart_policy != "Always" {
        errs.push(FieldError::not_supported(
            &path.child("spec").child("restartPolicy"),
            restart_policy,
            &["Always"],
        ));
    }
    if spec.and_then(|s| s.active_deadline_seconds).is_some() {
        errs.push(FieldError::forbidden(
            &path.child("spec").child("activeDeadlineSeconds"),
            format!("activeDeadlineSeconds in {owner} is not Supported"),
        ));
    }
    errs
}

fn validate_deployment_strategy(
    strategy: &k8s_openapi::api::apps::v1::DeploymentStrategy,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match strategy.type_.as_deref().unwrap_or("RollingUpdate") {
        "Recreate" => {
            if strategy.rolling_update.is_some() {
                errs.push(FieldError::forbidden(
                    &path.child("rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => {
            if let Some(rolling) = &strategy.rolling_update {
                let rolling_path = path.child("rollingUpdate");
                let unavailable =
                    rolling.max_unavailable.clone().unwrap_or_else(|| IntOrString::String("25%".into()));
                let surge = rolling.max_surge.clone().unwrap_or_else(|| IntOrString::String("25%".into()));
                let unavailable_path = rolling_path.child("maxUnavailable");
                errs.extend(positive_int_or_percent(&unavailable, &unavailable_path));
                errs.extend(positive_int_or_percent(&surge, &rolling_path.child("maxSurge")));
                if int_or_percent_value(&unavailable) == 0 && int_or_percent_value(&surge) == 0 {
                    errs.push(FieldError::invalid(
                        &unavailable_path,
                        &unavailable,
                        "may not be 0 when `maxSurge` is 0",
                    ));
                }
                errs.extend(not_more_than_100_percent(&unavailable, &unavailable_path));
            }
        }
        other => {
            let internal = json!({"Type": other, "RollingUpdate": strategy.rolling_update.as_ref().map(|r| json!({
                "MaxUnavailable": r.max_unavailable, "MaxSurge": r.max_surge,
            }))});
            errs.push(FieldError::not_supported(path, internal, &["Recreate", "RollingUpdate"]));
        }
    }
    errs
}

/// `must be greater than or equal to 0` for a set negative value.
pub(crate) fn nonnegative(value: Option<i32>, path: &FieldPath) -> Option<FieldError> {
    value
        .filter(|v| *v < 0)
        .map(|v| FieldError::invalid(path, i64::from(v), "must be greater than or equal to 0"))
}

/// `ValidatePositiveIntOrPercent`: a non-negative integer or a `N%` string.
pub(crate) fn positive_int_or_percent(value: &IntOrString, path: &FieldPath) -> Vec<FieldError> {
    match value {
        IntOrString::String(s) => {
            is_valid_percent(s).into_iter().map(|m| FieldError::invalid(path, value, m)).collect()
        }
        IntOrString::Int(n) => nonnegative(Some(*n), path).into_iter().collect(),
    }
}

fn percent_value(value: &IntOrString) -> Option<i64> {
    match value {
        IntOrString::String(s) if is_valid_percent(s).is_empty() => s.trim_end_matches('%').parse().ok(),
        _ => None,
    }
}

/// The number in an int or percentage (`25%` is 25); other strings count as their integer value, or 0.
pub(crate) fn int_or_percent_value(value: &IntOrString) -> i64 {
    match (percent_value(value), value) {
        (Some(percent), _) => percent,
        (None, IntOrString::Int(n)) => i64::from(*n),
        (None, IntOrString::String(s)) => s.parse().unwrap_or(0),
    }
}

/// `must not be greater than 100%` for a percentage above 100.
pub(crate) fn not_more_than_100_percent(value: &IntOrString, path: &FieldPath) -> Option<FieldError> {
    percent_value(value)
        .filter(|p| *p > 100)
        .map(|_| FieldError::invalid(path, value, "must not be greater than 100%"))
}

impl Validate for PodDisruptionBudget {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, NameRule::Dns1123Subdomain);
        let Some(spec) = &self.spec else { return errs };
        let path = FieldPath::new("spec");
        if spec.min_available.is_some() && spec.max_unavailable.is_some() {
            let internal = json!({
                "MinAvailable": spec.min_available,
                "Selector": spec.selector.as_ref().map(selector_go_json),
                "MaxUnavailable": spec.max_unavailable,
                "UnhealthyPodEvictionPolicy": spec.unhealthy_pod_eviction_policy,
            });
            errs.push(FieldError::invalid(
                &path,
                internal,
                "minAvailable and maxUnavailable cannot be both set",
            ));
        }
        for (value, field) in
            [(&spec.min_available, "minAvailable"), (&spec.max_unavailable, "maxUnavailable")]
        {
            if let Some(value) = value {
                errs.extend(positive_int_or_percent(value, &path.child(field)));
                errs.extend(not_more_than_100_percent(value, &path.child(field)));
            }
        }
        errs.extend(validate_label_selector(spec.selector.as_ref(), &path.child("selector")));
        if let Some(policy) = spec.unhealthy_pod_eviction_policy.as_deref()
            && !["AlwaysAllow", "IfHealthyBudget"].contains(&policy)
        {
            errs.push(FieldError::not_supported(
                &path.child("unhealthyPodEvictionPolicy"),
                policy,
                &["AlwaysAllow", "IfHealthyBudget"],
            ));
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        errs.extend(self.validate());
        errs
    }
}

#[cfg(test)]
mod tests;
