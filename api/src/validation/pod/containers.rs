//! Containers of every kind (regular, init, ephemeral): names, images, ports, environment, mounts, probes and
//! lifecycle handlers.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvFromSource, EnvVar, EphemeralContainer, HTTPGetAction, Lifecycle,
    LifecycleHandler, ObjectFieldSelector, Probe, ResourceRequirements, SecurityContext, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::json;

use super::volumes::validate_local_descending_path;
use super::{MAX_INT32, PROTOCOLS, enum_value};
use crate::validation::meta::NameRule;
use crate::validation::names::{
    inclusive_range_error, is_config_map_key, is_dns1123_label, is_dns1123_subdomain, is_http_header_name,
    is_qualified_name, is_relaxed_env_var_name, is_valid_port_name, is_valid_port_num,
};
use crate::validation::resources::validate_resource_requirements;
use crate::validation::{FieldError, FieldPath};

/// Downward-API field paths an environment variable may reference.
const ENV_FIELD_PATHS: [&str; 9] = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// Every field path the v1 downward API can convert (`ConvertDownwardAPIFieldLabel`).
const CONVERTIBLE_FIELD_PATHS: [&str; 14] = [
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.serviceAccountName",
    "spec.schedulerName",
    "status.phase",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

const RESOURCE_FIELD_PATHS: [&str; 6] = [
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

/// The fields every container kind shares, viewed uniformly.
struct ContainerView<'a> {
    name: &'a str,
    image: Option<&'a str>,
    termination_message_policy: Option<&'a str>,
    image_pull_policy: Option<&'a str>,
    ports: &'a [ContainerPort],
    env: &'a [EnvVar],
    env_from: &'a [EnvFromSource],
    volume_mounts: &'a [VolumeMount],
    resources: Option<&'a ResourceRequirements>,
    security_context: Option<&'a SecurityContext>,
}

impl<'a> ContainerView<'a> {
    fn of(c: &'a Container) -> Self {
        Self {
            name: &c.name,
            image: c.image.as_deref(),
            termination_message_policy: c.termination_message_policy.as_deref(),
            image_pull_policy: c.image_pull_policy.as_deref(),
            ports: c.ports.as_deref().unwrap_or_default(),
            env: c.env.as_deref().unwrap_or_default(),
            env_from: c.env_from.as_deref().unwrap_or_default(),
            volume_mounts: c.volume_mounts.as_deref().unwrap_or_default(),
            resources: c.resources.as_ref(),
            security_context: c.security_context.as_ref(),
        }
    }

    fn of_ephemeral(c: &'a EphemeralContainer) -> Self {
        Self {
            name: &c.name,
            image: c.image.as_deref(),
            termination_message_policy: c.termination_message_policy.as_deref(),
            image_pull_policy: c.image_pull_policy.as_deref(),
            ports: c.ports.as_deref().unwrap_or_default(),
            env: c.env.as_deref().unwrap_or_default(),
            env_from: c.env_from.as_deref().unwrap_or_default(),
            volume_mounts: c.volume_mounts.as_deref().unwrap_or_default(),
            resources: c.resources.as_ref(),
            security_context: c.security_context.as_ref(),
        }
    }
}

/// `validateContainerCommon`: name, image, message policy, ports, env, mounts, pull policy, resources.
fn validate_container_common(
    c: &ContainerView<'_>,
    volumes: &BTreeSet<String>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name_path = path.child("name");
    if c.name.is_empty() {
        errs.push(FieldError::required(&name_path, ""));
    } else {
        errs.extend(is_dns1123_label(c.name).into_iter().map(|m| FieldError::invalid(&name_path, c.name, m)));
    }
    if c.image.is_none_or(str::is_empty) {
        errs.push(FieldError::required(&path.child("image"), ""));
    }
    if let Some(policy) = c.termination_message_policy {
        errs.extend(enum_value(
            &path.child("terminationMessagePolicy"),
            policy,
            &["File", "FallbackToLogsOnError"],
        ));
    }
    errs.extend(validate_container_ports(c.ports, &path.child("ports")));
    errs.extend(validate_env(c.env, &path.child("env")));
    errs.extend(validate_env_from(c.env_from, &path.child("envFrom")));
    errs.extend(validate_volume_mounts(c.volume_mounts, volumes, &path.child("volumeMounts")));
    if let Some(policy) = c.image_pull_policy {
        errs.extend(enum_value(&path.child("imagePullPolicy"), policy, &["Always", "IfNotPresent", "Never"]));
    }
    errs.extend(validate_resource_requirements(c.resources, &path.child("resources")));
    if let Some(sc) = c.security_context {
        let sp = path.child("securityContext");
        for (value, field) in [(sc.run_as_user, "runAsUser"), (sc.run_as_group, "runAsGroup")] {
            if let Some(id) = value.filter(|id| !(0..=MAX_INT32).contains(id)) {
                errs.push(FieldError::invalid(&sp.child(field), id, inclusive_range_error(0, MAX_INT32)));
            }
        }
        if sc.allow_privilege_escalation == Some(false) && sc.privileged == Some(true) {
            errs.push(FieldError::invalid(
                &sp,
                json!({"privileged": true, "allowPrivilegeEscalation": false}),
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
            ));
        }
    }
    errs
}

fn validate_container_ports(ports: &[ContainerPort], path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let port_path = path.index(i);
        if let Some(name) = port.name.as_deref().filter(|n| !n.is_empty()) {
            let msgs = is_valid_port_name(name);
            if !msgs.is_empty() {
                errs.extend(msgs.into_iter().map(|m| FieldError::invalid(&port_path.child("name"), name, m)));
            } else if !names.insert(name) {
                errs.push(FieldError::duplicate(&port_path.child("name"), name));
            }
        }
        if port.container_port == 0 {
            errs.push(FieldError::required(&port_path.child("containerPort"), ""));
        } else {
            errs.extend(
                is_valid_port_num(i64::from(port.container_port))
                    .into_iter()
                    .map(|m| FieldError::invalid(&port_path.child("containerPort"), port.container_port, m)),
            );
        }
        if let Some(host_port) = port.host_port.filter(|p| *p != 0) {
            errs.extend(
                is_valid_port_num(i64::from(host_port))
                    .into_iter()
                    .map(|m| FieldError::invalid(&port_path.child("hostPort"), host_port, m)),
            );
        }
        if let Some(protocol) = &port.protocol {
            errs.extend(enum_value(&port_path.child("protocol"), protocol, &PROTOCOLS));
        }
    }
    errs
}

/// `hostPort` collisions (`protocol/hostIP/port`) across the given containers.
fn check_host_port_conflicts<'a>(
    containers: impl Iterator<Item = (usize, &'a Container)>,
    path: &FieldPath,
    seen: &mut BTreeSet<String>,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, container) in containers {
        for (j, port) in container.ports.iter().flatten().enumerate() {
            let Some(host_port) = port.host_port.filter(|p| *p != 0) else { continue };
            let key = format!(
                "{}/{}/{host_port}",
                port.protocol.as_deref().unwrap_or("TCP"),
                port.host_ip.as_deref().unwrap_or_default()
            );
            if !seen.insert(key.clone()) {
                errs.push(FieldError::duplicate(
                    &path.index(i).child("ports").index(j).child("hostPort"),
                    key,
                ));
            }
        }
    }
    errs
}

fn validate_env(vars: &[EnvVar], path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, var) in vars.iter().enumerate() {
        let var_path = path.index(i);
        if var.name.is_empty() {
            errs.push(FieldError::required(&var_path.child("name"), ""));
        } else {
            errs.extend(
                is_relaxed_env_var_name(&var.name)
                    .into_iter()
                    .map(|m| FieldError::invalid(&var_path.child("name"), &var.name, m)),
            );
        }
        let Some(from) = &var.value_from else { continue };
        let from_path = var_path.child("valueFrom");
        let mut sources = 0;
        if let Some(field_ref) = &from.field_ref {
            sources += 1;
            errs.extend(validate_object_field_selector(
                field_ref,
                &ENV_FIELD_PATHS,
                &from_path.child("fieldRef"),
            ));
        }
        if let Some(resource) = &from.resource_field_ref {
            sources += 1;
            errs.extend(validate_resource_field(&resource.resource, &from_path.child("resourceFieldRef")));
        }
        for (selector, field) in [
            (from.config_map_key_ref.as_ref().map(|s| (&s.name, &s.key)), "configMapKeyRef"),
            (from.secret_key_ref.as_ref().map(|s| (&s.name, &s.key)), "secretKeyRef"),
        ] {
            let Some((name, key)) = selector else { continue };
            sources += 1;
            let sp = from_path.child(field);
            errs.extend(
                is_dns1123_subdomain(name)
                    .into_iter()
                    .map(|m| FieldError::invalid(&sp.child("name"), name, m)),
            );
            if key.is_empty() {
                errs.push(FieldError::required(&sp.child("key"), ""));
            } else {
                errs.extend(
                    is_config_map_key(key).into_iter().map(|m| FieldError::invalid(&sp.child("key"), key, m)),
                );
            }
        }
        if sources == 0 {
            errs.push(FieldError::invalid(
                &from_path,
                "",
                "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            ));
        } else if var.value.as_ref().is_some_and(|v| !v.is_empty()) {
            errs.push(FieldError::invalid(&from_path, "", "may not be specified when `value` is not empty"));
        } else if sources > 1 {
            errs.push(FieldError::invalid(
                &from_path,
                "",
                "may not have more than one field specified at a time",
            ));
        }
    }
    errs
}

pub(super) fn validate_resource_field(resource: &str, path: &FieldPath) -> Option<FieldError> {
    if resource.is_empty() {
        Some(FieldError::required(&path.child("resource"), ""))
    } else if RESOURCE_FIELD_PATHS.contains(&resource)
        || resource.starts_with("requests.hugepages-")
        || resource.starts_with("limits.hugepages-")
    {
        None
    } else {
        Some(FieldError::not_supported(&path.child("resource"), resource, &RESOURCE_FIELD_PATHS))
    }
}

/// `validateObjectFieldSelector`: a convertible v1 field path, one of `allowed`, or a label/annotation
/// subscript.
pub(super) fn validate_object_field_selector(
    selector: &ObjectFieldSelector,
    allowed: &[&str],
    path: &FieldPath,
) -> Vec<FieldError> {
    let api_version = selector.api_version.as_deref().unwrap_or("v1");
    if api_version.is_empty() {
        return vec![FieldError::required(&path.child("apiVersion"), "")];
    }
    let field_path = selector.field_path.as_str();
    if field_path.is_empty() {
        return vec![FieldError::required(&path.child("fieldPath"), "")];
    }
    if api_version != "v1" {
        return vec![FieldError::invalid(
            &path.child("fieldPath"),
            field_path,
            format!("error converting fieldPath: unsupported pod version: {api_version}"),
        )];
    }
    // `metadata.labels['key']` style subscripts.
    let subscripted = field_path.strip_suffix("']").and_then(|rest| rest.split_once("['"));
    let base = subscripted.map_or(field_path, |(base, _)| base);
    if !CONVERTIBLE_FIELD_PATHS.contains(&base) {
        return vec![FieldError::invalid(
            &path.child("fieldPath"),
            field_path,
            format!("error converting fieldPath: field label not supported: {field_path}"),
        )];
    }
    match subscripted {
        Some(("metadata.annotations", key)) => is_qualified_name(&key.to_lowercase())
            .into_iter()
            .map(|m| FieldError::invalid(path, key.to_lowercase(), m))
            .collect(),
        Some(("metadata.labels", key)) => {
            is_qualified_name(key).into_iter().map(|m| FieldError::invalid(path, key, m)).collect()
        }
        Some((base, _)) => vec![FieldError::invalid(path, base, "does not support subscript")],
        None if allowed.contains(&field_path) => Vec::new(),
        None => vec![FieldError::not_supported(&path.child("fieldPath"), field_path, allowed)],
    }
}

fn validate_env_from(sources: &[EnvFromSource], path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        let source_path = path.index(i);
        if let Some(prefix) = source.prefix.as_deref().filter(|p| !p.is_empty()) {
            errs.extend(
                is_relaxed_env_var_name(prefix)
                    .into_iter()
                    .map(|m| FieldError::invalid(&source_path.child("prefix"), prefix, m)),
            );
        }
        let mut count = 0;
        for (name, field) in [
            (source.config_map_ref.as_ref().map(|r| &r.name), "configMapRef"),
            (source.secret_ref.as_ref().map(|r| &r.name), "secretRef"),
        ] {
            let Some(name) = name else { continue };
            count += 1;
            let name_path = source_path.child(field).child("name");
            if name.is_empty() {
                errs.push(FieldError::required(&name_path, ""));
            } else {
                for msg in NameRule::Dns1123Subdomain.check(name, true) {
                    errs.push(FieldError::invalid(&name_path, name, msg));
                }
            }
        }
        if count == 0 {
            errs.push(FieldError::invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"));
        } else if count > 1 {
            errs.push(FieldError::invalid(path, "", "may not have more than one field specified at a time"));
        }
    }
    errs
}

fn validate_volume_mounts(
    mounts: &[VolumeMount],
    volumes: &BTreeSet<String>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut mount_points = BTreeSet::new();
    for (i, mount) in mounts.iter().enumerate() {
        let mount_path = path.index(i);
        if mount.name.is_empty() {
            errs.push(FieldError::required(&mount_path.child("name"), ""));
        }
        if !volumes.contains(&mount.name) {
            errs.push(FieldError::not_found(&mount_path.child("name"), &mount.name));
        }
        if mount.mount_path.is_empty() {
            errs.push(FieldError::required(&mount_path.child("mountPath"), ""));
        }
        if !mount_points.insert(mount.mount_path.as_str()) {
            errs.push(FieldError::invalid(
                &mount_path.child("mountPath"),
                &mount.mount_path,
                "must be unique",
            ));
        }
        // Kubernetes reports sub-path errors at the list's path, not the item's.
        if let Some(sub_path) = mount.sub_path.as_deref().filter(|s| !s.is_empty()) {
            errs.extend(validate_local_descending_path(sub_path, &path.child("subPath")));
        }
        if let Some(expr) = mount.sub_path_expr.as_deref().filter(|s| !s.is_empty()) {
            if mount.sub_path.as_deref().is_some_and(|s| !s.is_empty()) {
                errs.push(FieldError::invalid(
                    &mount_path.child("subPathExpr"),
                    expr,
                    "subPathExpr and subPath are mutually exclusive",
                ));
            }
            errs.extend(validate_local_descending_path(expr, &path.child("subPathExpr")));
        }
        if let Some(propagation) = &mount.mount_propagation
            && !["Bidirectional", "HostToContainer", "None"].contains(&propagation.as_str())
        {
            errs.push(FieldError::not_supported(
                &path.child("mountPropagation"),
                propagation,
                &["Bidirectional", "HostToContainer", "None"],
            ));
        }
    }
    errs
}

pub(super) fn validate_containers(
    containers: &[Container],
    volumes: &BTreeSet<String>,
    grace: i64,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if containers.is_empty() {
        errs.push(FieldError::required(path, ""));
        return errs;
    }
    let mut names = BTreeSet::new();
    for (i, container) in containers.iter().enumerate() {
        let c_path = path.index(i);
        errs.extend(validate_container_common(&ContainerView::of(container), volumes, &c_path));
        if !names.insert(container.name.as_str()) {
            errs.push(FieldError::duplicate(&c_path.child("name"), &container.name));
        }
        if let Some(lifecycle) = &container.lifecycle {
            errs.extend(validate_lifecycle(lifecycle, grace, &c_path.child("lifecycle")));
        }
        errs.extend(validate_probes(container, grace, &c_path));
        if container.restart_policy.is_some() {
            errs.push(FieldError::forbidden(
                &c_path.child("restartPolicy"),
                "may not be set for non-init containers",
            ));
        }
    }
    errs.extend(check_host_port_conflicts(containers.iter().enumerate(), path, &mut BTreeSet::new()));
    errs
}

pub(super) fn validate_init_containers(
    containers: &[Container],
    regular: &[Container],
    volumes: &BTreeSet<String>,
    grace: i64,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut names: BTreeSet<&str> = regular.iter().map(|c| c.name.as_str()).collect();
    for (i, container) in containers.iter().enumerate() {
        let c_path = path.index(i);
        errs.extend(validate_container_common(&ContainerView::of(container), volumes, &c_path));
        let restart_always = container.restart_policy.as_deref() == Some("Always");
        if let Some(policy) = container.restart_policy.as_deref().filter(|p| *p != "Always") {
            errs.push(FieldError::not_supported(&c_path.child("restartPolicy"), policy, &["Always"]));
        }
        if names.contains(container.name.as_str()) {
            errs.push(FieldError::duplicate(&c_path.child("name"), &container.name));
        } else if !container.name.is_empty() {
            names.insert(container.name.as_str());
        }
        // Init containers run one at a time, so each only conflicts with itself.
        errs.extend(check_host_port_conflicts(std::iter::once((i, container)), path, &mut BTreeSet::new()));
        if restart_always {
            if let Some(lifecycle) = &container.lifecycle {
                errs.extend(validate_lifecycle(lifecycle, grace, &c_path.child("lifecycle")));
            }
            errs.extend(validate_probes(container, grace, &c_path));
        } else {
            let forbidden = "may not be set for init containers without restartPolicy=Always";
            for (set, field) in [
                (container.lifecycle.is_some(), "lifecycle"),
                (container.liveness_probe.is_some(), "livenessProbe"),
                (container.readiness_probe.is_some(), "readinessProbe"),
                (container.startup_probe.is_some(), "startupProbe"),
            ] {
                if set {
                    errs.push(FieldError::forbidden(&c_path.child(field), forbidden));
                }
            }
        }
        if let Some(policy) = container.resize_policy.as_ref().filter(|p| !p.is_empty()) {
            errs.push(FieldError::invalid(
                &c_path.child("resizePolicy"),
                policy,
                "must not be set for init containers",
            ));
        }
    }
    errs
}

pub(super) fn validate_ephemeral_containers(
    containers: &[EphemeralContainer],
    regular: &[Container],
    init: &[Container],
    volumes: &BTreeSet<String>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let others: BTreeSet<&str> = regular.iter().chain(init).map(|c| c.name.as_str()).collect();
    let mut all = others.clone();
    for (i, container) in containers.iter().enumerate() {
        let c_path = path.index(i);
        errs.extend(validate_container_common(&ContainerView::of_ephemeral(container), volumes, &c_path));
        if !all.insert(container.name.as_str()) {
            errs.push(FieldError::duplicate(&c_path.child("name"), &container.name));
        }
        if let Some(target) = container.target_container_name.as_deref().filter(|t| !t.is_empty())
            && !others.contains(target)
        {
            errs.push(FieldError::not_found(&c_path.child("targetContainerName"), target));
        }
        let forbidden = "cannot be set for an Ephemeral Container";
        for (set, field) in [
            (container.lifecycle.is_some(), "lifecycle"),
            (container.liveness_probe.is_some(), "livenessProbe"),
            (container.ports.as_ref().is_some_and(|p| !p.is_empty()), "ports"),
            (container.readiness_probe.is_some(), "readinessProbe"),
            (container.resources.is_some(), "resources"),
            (container.startup_probe.is_some(), "startupProbe"),
        ] {
            if set {
                errs.push(FieldError::forbidden(&c_path.child(field), forbidden));
            }
        }
    }
    errs
}

fn validate_probes(container: &Container, grace: i64, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (probe, field) in [
        (&container.liveness_probe, "livenessProbe"),
        (&container.readiness_probe, "readinessProbe"),
        (&container.startup_probe, "startupProbe"),
    ] {
        let Some(probe) = probe else { continue };
        let p = path.child(field);
        errs.extend(validate_probe(probe, grace, &p));
        let success = probe.success_threshold.unwrap_or(1);
        if field != "readinessProbe" && success != 1 {
            errs.push(FieldError::invalid(&p.child("successThreshold"), success, "must be 1"));
        }
        if field == "readinessProbe"
            && let Some(seconds) = probe.termination_grace_period_seconds
        {
            errs.push(FieldError::invalid(
                &p.child("terminationGracePeriodSeconds"),
                seconds,
                "must not be set for readinessProbes",
            ));
        }
    }
    errs
}

fn validate_probe(probe: &Probe, grace: i64, path: &FieldPath) -> Vec<FieldError> {
    let handlers: [(&str, bool); 4] = [
        ("exec", probe.exec.is_some()),
        ("httpGet", probe.http_get.is_some()),
        ("tcpSocket", probe.tcp_socket.is_some()),
        ("grpc", probe.grpc.is_some()),
    ];
    let mut errs = validate_handler_kinds(&handlers, path);
    errs.extend(validate_handler_details(
        probe.exec.as_ref().map(|e| e.command.as_deref().unwrap_or_default()),
        probe.http_get.as_ref(),
        probe.tcp_socket.as_ref().map(|t| &t.port),
        probe.grpc.as_ref().map(|g| g.port),
        None,
        grace,
        path,
    ));
    for (value, field) in [
        (probe.initial_delay_seconds, "initialDelaySeconds"),
        (probe.timeout_seconds, "timeoutSeconds"),
        (probe.period_seconds, "periodSeconds"),
        (probe.success_threshold, "successThreshold"),
        (probe.failure_threshold, "failureThreshold"),
    ] {
        if let Some(value) = value.filter(|v| *v < 0) {
            errs.push(FieldError::invalid(
                &path.child(field),
                i64::from(value),
                "must be greater than or equal to 0",
            ));
        }
    }
    if let Some(seconds) = probe.termination_grace_period_seconds.filter(|s| *s <= 0) {
        errs.push(FieldError::invalid(
            &path.child("terminationGracePeriodSeconds"),
            seconds,
            "must be greater than 0",
        ));
    }
    errs
}

/// Exactly one handler: the first set one counts, each further one is "more than 1".
fn validate_handler_kinds(handlers: &[(&str, bool)], path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut count = 0;
    for (name, set) in handlers {
        if *set {
            if count > 0 {
                errs.push(FieldError::forbidden(
                    &path.child(name),
                    "may not specify more than 1 handler type",
                ));
            }
            count += 1;
        }
    }
    if count == 0 {
        errs.push(FieldError::required(path, "must specify a handler type"));
    }
    errs
}

#[allow(clippy::too_many_arguments)]
fn validate_handler_details(
    exec: Option<&[String]>,
    http_get: Option<&HTTPGetAction>,
    tcp_port: Option<&IntOrString>,
    grpc_port: Option<i32>,
    sleep_seconds: Option<i64>,
    grace: i64,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if exec.is_some_and(<[String]>::is_empty) {
        errs.push(FieldError::required(&path.child("exec").child("command"), ""));
    }
    if let Some(http) = http_get {
        let hp = path.child("httpGet");
        if http.path.as_deref() == Some("") {
            errs.push(FieldError::required(&hp.child("path"), ""));
        }
        errs.extend(validate_port_num_or_name(&http.port, &hp.child("port")));
        if let Some(scheme) = &http.scheme
            && !["HTTP", "HTTPS"].contains(&scheme.as_str())
        {
            errs.push(FieldError::not_supported(&hp.child("scheme"), scheme, &["HTTP", "HTTPS"]));
        }
        for header in http.http_headers.iter().flatten() {
            errs.extend(
                is_http_header_name(&header.name)
                    .into_iter()
                    .map(|m| FieldError::invalid(&hp.child("httpHeaders"), &header.name, m)),
            );
        }
    }
    if let Some(port) = tcp_port {
        errs.extend(validate_port_num_or_name(port, &path.child("tcpSocket").child("port")));
    }
    if let Some(port) = grpc_port {
        errs.extend(
            is_valid_port_num(i64::from(port))
                .into_iter()
                .map(|m| FieldError::invalid(&path.child("grpc").child("port"), port, m)),
        );
    }
    if let Some(seconds) = sleep_seconds
        && (seconds <= 0 || seconds > grace)
    {
        errs.push(FieldError::invalid(
            &path.child("sleep"),
            seconds,
            format!("must be greater than 0 and less than terminationGracePeriodSeconds ({grace})"),
        ));
    }
    errs
}

/// A port given as a number (1-65535) or an IANA name.
pub(crate) fn validate_port_num_or_name(port: &IntOrString, path: &FieldPath) -> Vec<FieldError> {
    match port {
        IntOrString::Int(n) => {
            is_valid_port_num(i64::from(*n)).into_iter().map(|m| FieldError::invalid(path, *n, m)).collect()
        }
        IntOrString::String(s) => {
            is_valid_port_name(s).into_iter().map(|m| FieldError::invalid(path, s, m)).collect()
        }
    }
}

fn validate_lifecycle(lifecycle: &Lifecycle, grace: i64, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (handler, field) in [(&lifecycle.post_start, "postStart"), (&lifecycle.pre_stop, "preStop")] {
        if let Some(handler) = handler {
            errs.extend(validate_lifecycle_handler(handler, grace, &path.child(field)));
        }
    }
    errs
}

fn validate_lifecycle_handler(handler: &LifecycleHandler, grace: i64, path: &FieldPath) -> Vec<FieldError> {
    let handlers: [(&str, bool); 4] = [
        ("exec", handler.exec.is_some()),
        ("httpGet", handler.http_get.is_some()),
        ("tcpSocket", handler.tcp_socket.is_some()),
        ("sleep", handler.sleep.is_some()),
    ];
    let mut errs = validate_handler_kinds(&handlers, path);
    errs.extend(validate_handler_details(
        handler.exec.as_ref().map(|e| e.command.as_deref().unwrap_or_default()),
        handler.http_get.as_ref(),
        handler.tcp_socket.as_ref().map(|t| &t.port),
        None,
        handler.sleep.as_ref().map(|s| s.seconds),
        grace,
        path,
    ));
    errs
}
