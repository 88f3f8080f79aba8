//! Pods and pod templates: containers, volumes, environment, probes, scheduling fields, and the narrow set
//! of changes a pod update may make.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, PodTemplateSpec, Toleration};
use serde_json::{Value, json};

use super::meta::{
    NameRule, validate_annotations, validate_label_name, validate_labels, validate_object_meta_update,
};
use super::names::{
    inclusive_range_error, is_dns1123_label, is_dns1123_subdomain, is_label_value, is_qualified_name,
    validate_ip,
};
use super::resources::validate_resource_requirements;
use super::{FieldError, FieldPath, Validate, validate_object_meta};

mod containers;
mod volumes;

pub(crate) use containers::validate_port_num_or_name;
use containers::{validate_containers, validate_ephemeral_containers, validate_init_containers};
use volumes::validate_volumes;

const PROTOCOLS: [&str; 3] = ["SCTP", "TCP", "UDP"];
const MAX_INT32: i64 = 2_147_483_647;
const MAX_DNS_NAMESERVERS: usize = 3;
const MAX_DNS_SEARCH_PATHS: usize = 32;
const MAX_DNS_SEARCH_LIST_CHARS: usize = 2048;

/// The fields Kubernetes lets a pod update change, in its error message's words.
const UPDATABLE_POD_FIELDS: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,\
`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),\
`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// Whether the spec belongs to a Pod itself (stricter) or to a template inside another object.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Owner {
    Pod,
    Template,
}

impl Validate for Pod {
    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_pod_metadata_and_spec(self);
        let spec_path = FieldPath::new("spec");
        if let Some(spec) = &self.spec {
            if spec.ephemeral_containers.as_ref().is_some_and(|e| !e.is_empty()) {
                errs.push(FieldError::forbidden(
                    &spec_path.child("ephemeralContainers"),
                    "cannot be set on create",
                ));
            }
            if spec.node_name.as_ref().is_some_and(|n| !n.is_empty())
                && spec.scheduling_gates.as_ref().is_some_and(|g| !g.is_empty())
            {
                errs.push(FieldError::forbidden(
                    &spec_path.child("nodeName"),
                    "cannot be set until all schedulingGates have been cleared",
                ));
            }
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(&self.metadata, &old.metadata);
        errs.extend(validate_pod_metadata_and_spec(self));
        let empty = PodSpec::default();
        let new_spec = self.spec.as_ref().unwrap_or(&empty);
        let old_spec = old.spec.as_ref().unwrap_or(&empty);
        errs.extend(validate_pod_spec_update(new_spec, old_spec));
        errs
    }
}

fn validate_pod_metadata_and_spec(pod: &Pod) -> Vec<FieldError> {
    let mut errs = validate_object_meta(&pod.metadata, true, NameRule::Dns1123Subdomain);
    let spec_path = FieldPath::new("spec");
    let empty = PodSpec::default();
    let spec = pod.spec.as_ref().unwrap_or(&empty);
    errs.extend(validate_spec(spec, &spec_path, Owner::Pod));
    errs.extend(validate_wharf_annotations(
        pod.metadata.annotations.as_ref(),
        &FieldPath::new("metadata").child("annotations"),
    ));
    errs
}

/// The annotations the node agent reads: a pod that would fail to start because of one is refused instead.
fn validate_wharf_annotations(
    annotations: Option<&BTreeMap<String, String>>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let key = crate::egress::ALLOWED_HOSTS_ANNOTATION;
    match (annotations.and_then(|a| a.get(key)), crate::egress::AllowedHosts::of(annotations)) {
        (Some(value), Err(why)) => vec![FieldError::invalid(&path.key(key), value, why)],
        _ => Vec::new(),
    }
}

/// Validates a pod spec embedded in a template (Deployment, Job, ...) at `path` (`spec.template.spec`).
///
/// Pods themselves are validated by `Pod::validate`, which adds the pod-only rules.
pub fn validate_pod_spec(spec: &PodSpec, path: &FieldPath) -> Vec<FieldError> {
    validate_spec(spec, path, Owner::Template)
}

/// Validates a pod template at `path` (`spec.template`): its labels and annotations (reported, as in
/// Kubernetes, at `spec.template.labels`), its spec, and that it has no ephemeral containers.
pub fn validate_pod_template_spec(template: &PodTemplateSpec, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let meta = template.metadata.as_ref();
    errs.extend(validate_labels(meta.and_then(|m| m.labels.as_ref()), &path.child("labels")));
    errs.extend(validate_annotations(meta.and_then(|m| m.annotations.as_ref()), &path.child("annotations")));
    errs.extend(validate_wharf_annotations(
        meta.and_then(|m| m.annotations.as_ref()),
        &path.child("annotations"),
    ));
    let empty = PodSpec::default();
    let spec = template.spec.as_ref().unwrap_or(&empty);
    errs.extend(validate_pod_spec(spec, &path.child("spec")));
    if spec.ephemeral_containers.as_ref().is_some_and(|e| !e.is_empty()) {
        errs.push(FieldError::forbidden(
            &path.child("spec").child("ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    errs
}

fn validate_spec(spec: &PodSpec, path: &FieldPath, owner: Owner) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(grace) = spec.termination_grace_period_seconds.filter(|g| *g < 0) {
        errs.push(FieldError::invalid(
            &path.child("terminationGracePeriodSeconds"),
            grace,
            "must be greater than or equal to 0",
        ));
    }
    let grace_period = spec.termination_grace_period_seconds.unwrap_or(30);
    let (volumes, volume_errs) =
        validate_volumes(spec.volumes.as_deref().unwrap_or_default(), &path.child("volumes"));
    errs.extend(volume_errs);
    let containers = spec.containers.as_slice();
    let init_containers = spec.init_containers.as_deref().unwrap_or_default();
    errs.extend(validate_containers(containers, &volumes, grace_period, &path.child("containers")));
    errs.extend(validate_init_containers(
        init_containers,
        containers,
        &volumes,
        grace_period,
        &path.child("initContainers"),
    ));
    errs.extend(validate_ephemeral_containers(
        spec.ephemeral_containers.as_deref().unwrap_or_default(),
        containers,
        init_containers,
        &volumes,
        &path.child("ephemeralContainers"),
    ));
    if owner == Owner::Pod {
        for (list, name) in [(containers, "containers"), (init_containers, "initContainers")] {
            for (i, container) in list.iter().enumerate() {
                let image = container.image.as_deref().unwrap_or_default();
                if image.trim() != image {
                    errs.push(FieldError::invalid(
                        &path.child(name).index(i).child("image"),
                        image,
                        "must not have leading or trailing whitespace",
                    ));
                }
            }
        }
    }
    if spec.host_network == Some(true) {
        // An unset host port is defaulted to the container port on Pods (and left unset in templates).
        for (i, container) in containers.iter().enumerate() {
            for (j, port) in container.ports.iter().flatten().enumerate() {
                let host_port = port.host_port.unwrap_or(0);
                if host_port != 0 && host_port != port.container_port {
                    errs.push(FieldError::invalid(
                        &path.child("containers").index(i).child("ports").index(j).child("hostPort"),
                        host_port,
                        "must match `containerPort` when `hostNetwork` is true",
                    ));
                }
            }
        }
    }
    if let Some(policy) = &spec.restart_policy {
        errs.extend(enum_value(&path.child("restartPolicy"), policy, &["Always", "OnFailure", "Never"]));
    }
    if let Some(policy) = &spec.dns_policy {
        errs.extend(enum_value(
            &path.child("dnsPolicy"),
            policy,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        ));
    }
    errs.extend(validate_labels(spec.node_selector.as_ref(), &path.child("nodeSelector")));
    errs.extend(validate_pod_security_context(spec, &path.child("securityContext")));
    errs.extend(validate_dns_config(spec, &path.child("dnsConfig")));
    for (i, gate) in spec.readiness_gates.iter().flatten().enumerate() {
        let field = path.child("readinessGates").index(i).child("conditionType");
        errs.extend(
            is_qualified_name(&gate.condition_type)
                .into_iter()
                .map(|m| FieldError::invalid(&field, &gate.condition_type, m)),
        );
    }
    let mut gates = BTreeSet::new();
    for (i, gate) in spec.scheduling_gates.iter().flatten().enumerate() {
        let field = path.child("schedulingGates").index(i);
        errs.extend(
            is_qualified_name(&gate.name).into_iter().map(|m| FieldError::invalid(&field, &gate.name, m)),
        );
        if !gates.insert(gate.name.as_str()) {
            errs.push(FieldError::duplicate(&field, &gate.name));
        }
    }
    errs.extend(validate_topology_spread(spec, &path.child("topologySpreadConstraints")));
    for (value, field, rule) in [
        (&spec.service_account_name, "serviceAccountName", NameRule::Dns1123Subdomain),
        (&spec.node_name, "nodeName", NameRule::Dns1123Subdomain),
    ] {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            for msg in rule.check(value, false) {
                errs.push(FieldError::invalid(&path.child(field), value, msg));
            }
        }
    }
    if let Some(deadline) = spec.active_deadline_seconds.filter(|d| !(1..=MAX_INT32).contains(d)) {
        errs.push(FieldError::invalid(
            &path.child("activeDeadlineSeconds"),
            deadline,
            inclusive_range_error(1, MAX_INT32),
        ));
    }
    for (value, field) in [(&spec.hostname, "hostname"), (&spec.subdomain, "subdomain")] {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            errs.extend(
                is_dns1123_label(value)
                    .into_iter()
                    .map(|m| FieldError::invalid(&path.child(field), value, m)),
            );
        }
    }
    errs.extend(validate_tolerations(
        spec.tolerations.as_deref().unwrap_or_default(),
        &path.child("tolerations"),
    ));
    for (i, alias) in spec.host_aliases.iter().flatten().enumerate() {
        let alias_path = path.child("hostAliases").index(i);
        errs.extend(validate_ip(&alias_path.child("ip"), &alias.ip));
        for (j, hostname) in alias.hostnames.iter().flatten().enumerate() {
            let field = alias_path.child("hostnames").index(j);
            errs.extend(
                is_dns1123_subdomain(hostname).into_iter().map(|m| FieldError::invalid(&field, hostname, m)),
            );
        }
    }
    for (value, field) in
        [(&spec.priority_class_name, "priorityClassName"), (&spec.runtime_class_name, "runtimeClassName")]
    {
        let value = value.as_deref().unwrap_or_default();
        // An explicitly empty runtimeClassName is invalid; an empty priorityClassName means "none".
        if !value.is_empty() || (field == "runtimeClassName" && spec.runtime_class_name.is_some()) {
            errs.extend(
                is_dns1123_subdomain(value)
                    .into_iter()
                    .map(|m| FieldError::invalid(&path.child(field), value, m)),
            );
        }
    }
    if let Some(policy) = &spec.preemption_policy {
        errs.extend(enum_value(&path.child("preemptionPolicy"), policy, &["PreemptLowerPriority", "Never"]));
    }
    if let Some(overhead) = &spec.overhead {
        let requirements = k8s_openapi::api::core::v1::ResourceRequirements {
            limits: Some(overhead.clone()),
            ..Default::default()
        };
        errs.extend(validate_resource_requirements(Some(&requirements), &path.child("overhead")));
    }
    errs.extend(validate_resource_requirements(spec.resources.as_ref(), &path.child("resources")));
    errs
}

/// A set value must be one of `supported`; an empty string is a missing value.
fn enum_value(path: &FieldPath, value: &str, supported: &[&str]) -> Option<FieldError> {
    if value.is_empty() {
        Some(FieldError::required(path, ""))
    } else if supported.contains(&value) {
        None
    } else {
        Some(FieldError::not_supported(path, value, supported))
    }
}

fn validate_pod_security_context(spec: &PodSpec, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(sc) = &spec.security_context else { return errs };
    for (value, field) in
        [(sc.fs_group, "fsGroup"), (sc.run_as_user, "runAsUser"), (sc.run_as_group, "runAsGroup")]
    {
        if let Some(id) = value.filter(|id| !(0..=MAX_INT32).contains(id)) {
            errs.push(FieldError::invalid(&path.child(field), id, inclusive_range_error(0, MAX_INT32)));
        }
    }
    for (i, gid) in sc.supplemental_groups.iter().flatten().enumerate() {
        if !(0..=MAX_INT32).contains(gid) {
            errs.push(FieldError::invalid(
                &path.child("supplementalGroups").index(i),
                *gid,
                inclusive_range_error(0, MAX_INT32),
            ));
        }
    }
    if spec.share_process_namespace == Some(true) && spec.host_pid == Some(true) {
        errs.push(FieldError::invalid(
            &path.child("shareProcessNamespace"),
            true,
            "ShareProcessNamespace and HostPID cannot both be enabled",
        ));
    }
    let mut names = BTreeSet::new();
    for (i, sysctl) in sc.sysctls.iter().flatten().enumerate() {
        let name_path = path.child("sysctls").index(i).child("name");
        if sysctl.name.is_empty() {
            errs.push(FieldError::required(&name_path, ""));
        } else if !is_valid_sysctl_name(&sysctl.name) {
            errs.push(FieldError::invalid(
                &name_path,
                &sysctl.name,
                "must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$",
            ));
        } else if !names.insert(sysctl.name.as_str()) {
            errs.push(FieldError::duplicate(&name_path, &sysctl.name));
        }
    }
    errs
}

/// `([a-z0-9]([-_a-z0-9]*[a-z0-9])?[./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?`, at most 253 bytes.
fn is_valid_sysctl_name(name: &str) -> bool {
    let segment_ok = |s: &str| {
        let b = s.as_bytes();
        match (b.first(), b.last()) {
            (Some(f), Some(l)) => {
                (f.is_ascii_lowercase() || f.is_ascii_digit())
                    && (l.is_ascii_lowercase() || l.is_ascii_digit())
                    && b.iter()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'_'))
            }
            _ => false,
        }
    };
    name.len() <= 253 && name.split(['.', '/']).all(segment_ok)
}

fn validate_dns_config(spec: &PodSpec, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if spec.dns_policy.as_deref() == Some("None") {
        match &spec.dns_config {
            None => {
                return vec![FieldError::required(path, "must provide `dnsConfig` when `dnsPolicy` is None")];
            }
            Some(config) if config.nameservers.as_ref().is_none_or(Vec::is_empty) => {
                return vec![FieldError::required(
                    &path.child("nameservers"),
                    "must provide at least one DNS nameserver when `dnsPolicy` is None",
                )];
            }
            Some(_) => {}
        }
    }
    let Some(config) = &spec.dns_config else { return errs };
    let nameservers = config.nameservers.as_deref().unwrap_or_default();
    if nameservers.len() > MAX_DNS_NAMESERVERS {
        errs.push(FieldError::invalid(
            &path.child("nameservers"),
            nameservers,
            format!("must not have more than {MAX_DNS_NAMESERVERS} nameservers"),
        ));
    }
    for (i, ns) in nameservers.iter().enumerate() {
        errs.extend(validate_ip(&path.child("nameservers").index(i), ns));
    }
    let searches = config.searches.as_deref().unwrap_or_default();
    if searches.len() > MAX_DNS_SEARCH_PATHS {
        errs.push(FieldError::invalid(
            &path.child("searches"),
            searches,
            format!("must not have more than {MAX_DNS_SEARCH_PATHS} search paths"),
        ));
    }
    if searches.join(" ").len() > MAX_DNS_SEARCH_LIST_CHARS {
        errs.push(FieldError::invalid(
            &path.child("searches"),
            searches,
            format!("must not have more than {MAX_DNS_SEARCH_LIST_CHARS} characters (including spaces) in the search list"),
        ));
    }
    for (i, search) in searches.iter().enumerate() {
        let search = search.strip_suffix('.').unwrap_or(search);
        let field = path.child("searches").index(i);
        errs.extend(is_dns1123_subdomain(search).into_iter().map(|m| FieldError::invalid(&field, search, m)));
    }
    for (i, option) in config.options.iter().flatten().enumerate() {
        if option.name.as_deref().unwrap_or_default().is_empty() {
            errs.push(FieldError::required(&path.child("options").index(i), "must not be empty"));
        }
    }
    errs
}

fn validate_topology_spread(spec: &PodSpec, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let constraints = spec.topology_spread_constraints.as_deref().unwrap_or_default();
    for (i, constraint) in constraints.iter().enumerate() {
        let cp = path.index(i);
        if constraint.max_skew <= 0 {
            errs.push(FieldError::invalid(
                &cp.child("maxSkew"),
                constraint.max_skew,
                "must be greater than zero",
            ));
        }
        if constraint.topology_key.is_empty() {
            errs.push(FieldError::required(&cp.child("topologyKey"), "can not be empty"));
        }
        if !["DoNotSchedule", "ScheduleAnyway"].contains(&constraint.when_unsatisfiable.as_str()) {
            errs.push(FieldError::not_supported(
                &cp.child("whenUnsatisfiable"),
                &constraint.when_unsatisfiable,
                &["DoNotSchedule", "ScheduleAnyway"],
            ));
        }
        let duplicate = constraints.iter().skip(i + 1).any(|other| {
            other.topology_key == constraint.topology_key
                && other.when_unsatisfiable == constraint.when_unsatisfiable
        });
        if duplicate {
            errs.push(FieldError::duplicate(
                &cp.child("{topologyKey, whenUnsatisfiable}"),
                format!("{{{}, {}}}", constraint.topology_key, constraint.when_unsatisfiable),
            ));
        }
        if let Some(min) = constraint.min_domains {
            if min <= 0 {
                errs.push(FieldError::invalid(&cp.child("minDomains"), min, "must be greater than zero"));
            }
            if constraint.when_unsatisfiable != "DoNotSchedule" {
                errs.push(FieldError::invalid(
                    &cp.child("minDomains"),
                    min,
                    format!(
                        "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {}",
                        constraint.when_unsatisfiable
                    ),
                ));
            }
        }
        errs.extend(super::meta::validate_label_selector(
            constraint.label_selector.as_ref(),
            &cp.child("labelSelector"),
        ));
    }
    errs
}

/// Validates tolerations (also used on their own for pod updates).
pub(crate) fn validate_tolerations(tolerations: &[Toleration], path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, toleration) in tolerations.iter().enumerate() {
        let tp = path.index(i);
        let key = toleration.key.as_deref().unwrap_or_default();
        let operator = toleration.operator.as_deref().unwrap_or_default();
        let value = toleration.value.as_deref().unwrap_or_default();
        let effect = toleration.effect.as_deref().unwrap_or_default();
        if !key.is_empty() {
            errs.extend(validate_label_name(key, &tp.child("key")));
        }
        if key.is_empty() && operator != "Exists" {
            errs.push(FieldError::invalid(
                &tp.child("operator"),
                operator,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if toleration.toleration_seconds.is_some() && effect != "NoExecute" {
            errs.push(FieldError::invalid(
                &tp.child("effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match operator {
            "Equal" | "" => {
                let msgs = is_label_value(value);
                if !msgs.is_empty() {
                    errs.push(FieldError::invalid(&tp.child("operator"), value, msgs.join(";")));
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    // Kubernetes echoes its internal struct, field names capitalised.
                    let internal = json!({
                        "Key": key, "Operator": operator, "Value": value, "Effect": effect,
                        "TolerationSeconds": toleration.toleration_seconds,
                    });
                    errs.push(FieldError::invalid(
                        &tp.child("operator"),
                        internal,
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => errs.push(FieldError::not_supported(&tp.child("operator"), other, &["Equal", "Exists"])),
        }
        if !effect.is_empty() && !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
            errs.push(FieldError::not_supported(
                &tp.child("effect"),
                effect,
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            ));
        }
    }
    errs
}

/// `ValidatePodUpdate`'s spec rules: only images, `activeDeadlineSeconds` (downwards), added tolerations and
/// removed scheduling gates may change.
fn validate_pod_spec_update(new: &PodSpec, old: &PodSpec) -> Vec<FieldError> {
    let spec_path = FieldPath::new("spec");
    let mut errs = Vec::new();
    let empty: Vec<Container> = Vec::new();
    for (new_list, old_list, field) in [
        (&new.containers, &old.containers, "containers"),
        (
            new.init_containers.as_ref().unwrap_or(&empty),
            old.init_containers.as_ref().unwrap_or(&empty),
            "initContainers",
        ),
    ] {
        let path = spec_path.child(field);
        if new_list.len() != old_list.len() {
            errs.push(FieldError::forbidden(&path, "pod updates may not add or remove containers"));
            return errs;
        }
        for (i, container) in new_list.iter().enumerate() {
            if container.image.as_deref().is_none_or(str::is_empty) {
                errs.push(FieldError::required(&path.index(i).child("image"), ""));
            }
        }
    }
    let deadline_path = spec_path.child("activeDeadlineSeconds");
    match (new.active_deadline_seconds, old.active_deadline_seconds) {
        (Some(new_deadline), _) if !(0..=MAX_INT32).contains(&new_deadline) => {
            errs.push(FieldError::invalid(&deadline_path, new_deadline, inclusive_range_error(0, MAX_INT32)));
            return errs;
        }
        (Some(new_deadline), Some(old_deadline)) if old_deadline < new_deadline => {
            errs.push(FieldError::invalid(
                &deadline_path,
                new_deadline,
                "must be less than or equal to previous value",
            ));
            return errs;
        }
        (None, Some(_)) => {
            errs.push(FieldError::invalid(
                &deadline_path,
                Value::Null,
                "must not update from a positive integer to nil value",
            ));
        }
        _ => {}
    }
    let new_tolerations = new.tolerations.as_deref().unwrap_or_default();
    let old_tolerations = old.tolerations.as_deref().unwrap_or_default();
    let tolerations_path = spec_path.child("tolerations");
    let kept = old_tolerations.iter().all(|old_t| {
        new_tolerations.iter().any(|new_t| {
            let mut old_t = old_t.clone();
            old_t.toleration_seconds = new_t.toleration_seconds;
            old_t == *new_t
        })
    });
    if kept {
        errs.extend(validate_tolerations(new_tolerations, &tolerations_path));
    } else {
        errs.push(FieldError::forbidden(
            &tolerations_path,
            "existing toleration can not be modified except its tolerationSeconds",
        ));
    }
    let old_gates: BTreeSet<&str> = old.scheduling_gates.iter().flatten().map(|g| g.name.as_str()).collect();
    for (i, gate) in new.scheduling_gates.iter().flatten().enumerate() {
        if !old_gates.contains(gate.name.as_str()) {
            errs.push(FieldError::forbidden(
                &spec_path.child("schedulingGates").index(i).child("name"),
                format!("only deletion is allowed, but found new scheduling gate '{}'", gate.name),
            ));
        }
    }
    if new == old {
        return errs;
    }
    let mut munged = new.clone();
    for (container, old_container) in munged.containers.iter_mut().zip(&old.containers) {
        container.image.clone_from(&old_container.image);
    }
    if let (Some(init), Some(old_init)) = (munged.init_containers.as_mut(), old.init_containers.as_ref()) {
        for (container, old_container) in init.iter_mut().zip(old_init) {
            container.image.clone_from(&old_container.image);
        }
    }
    munged.active_deadline_seconds = old.active_deadline_seconds;
    munged.scheduling_gates.clone_from(&old.scheduling_gates);
    munged.tolerations.clone_from(&old.tolerations);
    if old.termination_grace_period_seconds.is_some_and(|g| g < 0)
        && munged.termination_grace_period_seconds == Some(1)
    {
        munged.termination_grace_period_seconds = old.termination_grace_period_seconds;
    }
    if munged != *old {
        errs.push(FieldError::forbidden(
            &spec_path,
            format!(
                "pod updates may not change fields other than {UPDATABLE_POD_FIELDS}\n{}",
                spec_diff(old, &munged)
            ),
        ));
    }
    errs
}

/// A short diff of the top-level spec fields that differ, in the spirit of the `cmp.Diff` Kubernetes
/// appends.
fn spec_diff(old: &PodSpec, new: &PodSpec) -> String {
    use std::fmt::Write as _;
    let as_map = |spec: &PodSpec| -> BTreeMap<String, Value> {
        match serde_json::to_value(spec) {
            Ok(Value::Object(map)) => map.into_iter().collect(),
            _ => BTreeMap::new(),
        }
    };
    let (old, new) = (as_map(old), as_map(new));
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut out = String::from("  core.PodSpec{\n");
    for key in keys {
        let (before, after) = (old.get(key), new.get(key));
        if before == after {
            continue;
        }
        if let Some(before) = before {
            let _ = writeln!(out, "- \t{key}: {before},");
        }
        if let Some(after) = after {
            let _ = writeln!(out, "+ \t{key}: {after},");
        }
    }
    out.push_str("  }\n");
    out
}

#[cfg(test)]
mod tests;
