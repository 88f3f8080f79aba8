//! Pod and pod-template defaults: restart and DNS policy, scheduler, grace period, per-container pull policy
//! and termination message, port protocols, probes, downward-API versions and volume modes.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EphemeralContainer, HTTPGetAction, Lifecycle,
    Pod, PodSecurityContext, PodSpec, PodStatus, PodTemplateSpec, Probe, ResourceRequirements, Volume,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::{ApplyDefaults, default_str};
use crate::quantity::ParsedQuantity;

/// `0644`, the default file mode of projected files.
const DEFAULT_MODE: i32 = 0o644;

impl ApplyDefaults for Pod {
    fn apply_defaults(&mut self) {
        let spec = self.spec.get_or_insert_with(PodSpec::default);
        default_pod_spec(spec);
        // Pod-only defaults: Kubernetes applies these to Pods, not to templates, so templates stay stable.
        for container in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
            default_requests_from_limits(container.resources.as_mut());
        }
        if spec.enable_service_links.is_none() {
            spec.enable_service_links = Some(true);
        }
        if spec.host_network == Some(true) {
            for container in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
                for port in container.ports.iter_mut().flatten() {
                    if port.host_port.is_none_or(|p| p == 0) {
                        port.host_port = Some(port.container_port);
                    }
                }
            }
        }
        let status = self
            .status
            .get_or_insert_with(|| PodStatus { phase: Some("Pending".to_owned()), ..PodStatus::default() });
        if status.qos_class.is_none() {
            status.qos_class = Some(qos_class(spec).to_owned());
        }
    }
}

/// Defaults a pod template (Deployment, `ReplicaSet`, `DaemonSet`, Job): its spec, as [`default_pod_spec`].
pub fn default_pod_template_spec(template: &mut PodTemplateSpec) {
    default_pod_spec(template.spec.get_or_insert_with(PodSpec::default));
}

/// `SetDefaults_PodSpec` and everything nested in it: `restartPolicy` Always, `dnsPolicy` `ClusterFirst`,
/// `schedulerName` `default-scheduler`, `terminationGracePeriodSeconds` 30, an empty `securityContext`, and
/// the container, probe and volume defaults.
pub fn default_pod_spec(spec: &mut PodSpec) {
    default_str(&mut spec.dns_policy, "ClusterFirst");
    default_str(&mut spec.restart_policy, "Always");
    if spec.security_context.is_none() {
        spec.security_context = Some(PodSecurityContext::default());
    }
    if spec.termination_grace_period_seconds.is_none() {
        spec.termination_grace_period_seconds = Some(30);
    }
    default_str(&mut spec.scheduler_name, "default-scheduler");
    for container in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
        default_container(container);
    }
    for container in spec.ephemeral_containers.iter_mut().flatten() {
        default_ephemeral_container(container);
    }
    for volume in spec.volumes.iter_mut().flatten() {
        default_volume(volume);
    }
}

fn default_container(c: &mut Container) {
    if c.image_pull_policy.as_deref().is_none_or(str::is_empty) {
        c.image_pull_policy = Some(pull_policy(c.image.as_deref().unwrap_or_default()).to_owned());
    }
    default_str(&mut c.termination_message_path, "/dev/termination-log");
    default_str(&mut c.termination_message_policy, "File");
    default_ports(c.ports.as_deref_mut());
    default_env(c.env.as_deref_mut());
    for probe in [&mut c.liveness_probe, &mut c.readiness_probe, &mut c.startup_probe].into_iter().flatten() {
        default_probe(probe);
    }
    default_lifecycle(c.lifecycle.as_mut());
}

fn default_ephemeral_container(c: &mut EphemeralContainer) {
    if c.image_pull_policy.as_deref().is_none_or(str::is_empty) {
        c.image_pull_policy = Some(pull_policy(c.image.as_deref().unwrap_or_default()).to_owned());
    }
    default_str(&mut c.termination_message_path, "/dev/termination-log");
    default_str(&mut c.termination_message_policy, "File");
    default_ports(c.ports.as_deref_mut());
    default_env(c.env.as_deref_mut());
    for probe in [&mut c.liveness_probe, &mut c.readiness_probe, &mut c.startup_probe].into_iter().flatten() {
        default_probe(probe);
    }
    default_lifecycle(c.lifecycle.as_mut());
}

fn default_ports(ports: Option<&mut [ContainerPort]>) {
    for port in ports.into_iter().flatten() {
        default_str(&mut port.protocol, "TCP");
    }
}

fn default_env(env: Option<&mut [EnvVar]>) {
    for var in env.into_iter().flatten() {
        if let Some(field_ref) = var.value_from.as_mut().and_then(|f| f.field_ref.as_mut()) {
            default_str(&mut field_ref.api_version, "v1");
        }
    }
}

fn default_probe(probe: &mut Probe) {
    for (field, value) in [
        (&mut probe.timeout_seconds, 1),
        (&mut probe.period_seconds, 10),
        (&mut probe.success_threshold, 1),
        (&mut probe.failure_threshold, 3),
    ] {
        if field.is_none_or(|v| v == 0) {
            *field = Some(value);
        }
    }
    default_http_get(probe.http_get.as_mut());
}

fn default_lifecycle(lifecycle: Option<&mut Lifecycle>) {
    let Some(lifecycle) = lifecycle else { return };
    for handler in [&mut lifecycle.post_start, &mut lifecycle.pre_stop].into_iter().flatten() {
        default_http_get(handler.http_get.as_mut());
    }
}

fn default_http_get(action: Option<&mut HTTPGetAction>) {
    if let Some(action) = action {
        default_str(&mut action.path, "/");
        default_str(&mut action.scheme, "HTTP");
    }
}

/// Whether any volume source is set (`utilpointer.AllPtrFieldsNil` on the source, negated).
fn has_source(v: &Volume) -> bool {
    [
        v.aws_elastic_block_store.is_some(),
        v.azure_disk.is_some(),
        v.azure_file.is_some(),
        v.cephfs.is_some(),
        v.cinder.is_some(),
        v.config_map.is_some(),
        v.csi.is_some(),
        v.downward_api.is_some(),
        v.empty_dir.is_some(),
        v.ephemeral.is_some(),
        v.fc.is_some(),
        v.flex_volume.is_some(),
        v.flocker.is_some(),
        v.gce_persistent_disk.is_some(),
        v.git_repo.is_some(),
        v.glusterfs.is_some(),
        v.host_path.is_some(),
        v.image.is_some(),
        v.iscsi.is_some(),
        v.nfs.is_some(),
        v.persistent_volume_claim.is_some(),
        v.photon_persistent_disk.is_some(),
        v.portworx_volume.is_some(),
        v.projected.is_some(),
        v.quobyte.is_some(),
        v.rbd.is_some(),
        v.scale_io.is_some(),
        v.secret.is_some(),
        v.storageos.is_some(),
        v.vsphere_volume.is_some(),
    ]
    .into_iter()
    .any(|set| set)
}

fn default_volume(volume: &mut Volume) {
    if !has_source(volume) {
        volume.empty_dir = Some(EmptyDirVolumeSource::default());
    }
    if let Some(config_map) = &mut volume.config_map {
        config_map.default_mode.get_or_insert(DEFAULT_MODE);
    }
    if let Some(secret) = &mut volume.secret {
        secret.default_mode.get_or_insert(DEFAULT_MODE);
    }
    if let Some(downward) = &mut volume.downward_api {
        downward.default_mode.get_or_insert(DEFAULT_MODE);
        for file in downward.items.iter_mut().flatten() {
            if let Some(field_ref) = &mut file.field_ref {
                default_str(&mut field_ref.api_version, "v1");
            }
        }
    }
    if let Some(projected) = &mut volume.projected {
        projected.default_mode.get_or_insert(DEFAULT_MODE);
        for source in projected.sources.iter_mut().flatten() {
            if let Some(token) = &mut source.service_account_token {
                token.expiration_seconds.get_or_insert(3600);
            }
            for file in source.downward_api.iter_mut().flat_map(|d| d.items.iter_mut().flatten()) {
                if let Some(field_ref) = &mut file.field_ref {
                    default_str(&mut field_ref.api_version, "v1");
                }
            }
        }
    }
    if let Some(host_path) = &mut volume.host_path
        && host_path.type_.is_none()
    {
        host_path.type_ = Some(String::new());
    }
}

/// `Always` for `:latest` or untagged images, `IfNotPresent` otherwise (including digest-only references and
/// images that do not parse, as in Kubernetes).
fn pull_policy(image: &str) -> &'static str {
    if image_tag(image) == Some("latest") { "Always" } else { "IfNotPresent" }
}

/// The tag of an image reference: `latest` when there is neither tag nor digest, `None` when it does not
/// parse or has only a digest.
fn image_tag(image: &str) -> Option<&str> {
    if image.is_empty() || image.chars().any(char::is_whitespace) {
        return None;
    }
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    let last_slash = name.rfind('/');
    let (repository, tag) = match name.rfind(':') {
        Some(colon) if last_slash.is_none_or(|slash| colon > slash) => {
            (&name[..colon], Some(&name[colon + 1..]))
        }
        _ => (name, None),
    };
    // Path components must be lowercase; a leading registry host (with a dot, a port or "localhost") may not be.
    let path = match repository.split_once('/') {
        Some((host, rest)) if host.contains(['.', ':']) || host == "localhost" => rest,
        _ => repository,
    };
    if repository.is_empty() || path.chars().any(|c| c.is_ascii_uppercase()) {
        return None;
    }
    match (tag, digest) {
        (Some(tag), _) => Some(tag),
        (None, Some(_)) => None,
        (None, None) => Some("latest"),
    }
}

/// Requests default to limits for every resource that has a limit but no request.
fn default_requests_from_limits(resources: Option<&mut ResourceRequirements>) {
    let Some(resources) = resources else { return };
    let Some(limits) = &resources.limits else { return };
    let missing: Vec<(String, Quantity)> = limits
        .iter()
        .filter(|(name, _)| resources.requests.as_ref().is_none_or(|r| !r.contains_key(*name)))
        .map(|(name, quantity)| (name.clone(), quantity.clone()))
        .collect();
    if !missing.is_empty() {
        resources.requests.get_or_insert_with(BTreeMap::new).extend(missing);
    }
}

/// `ComputePodQOS`: Guaranteed when every container limits cpu and memory with requests equal to limits,
/// `BestEffort` when nothing requests or limits cpu or memory, Burstable otherwise.
fn qos_class(spec: &PodSpec) -> &'static str {
    // Sums in nano-units; saturating keeps absurd inputs from overflowing (they are rejected by validation).
    let mut requests: BTreeMap<&str, i128> = BTreeMap::new();
    let mut limits: BTreeMap<&str, i128> = BTreeMap::new();
    let mut guaranteed = true;
    let positive = |name: &str, quantity: &Quantity| -> Option<i128> {
        matches!(name, "cpu" | "memory")
            .then(|| ParsedQuantity::try_from(quantity).ok())
            .flatten()
            .map(|q| q.nanos())
            .filter(|n| *n > 0)
    };
    for container in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
        let resources = container.resources.as_ref();
        for (name, quantity) in resources.and_then(|r| r.requests.as_ref()).into_iter().flatten() {
            if let Some(value) = positive(name, quantity) {
                let sum = requests.entry(name.as_str()).or_insert(0);
                *sum = sum.saturating_add(value);
            }
        }
        let mut found = 0;
        for (name, quantity) in resources.and_then(|r| r.limits.as_ref()).into_iter().flatten() {
            if let Some(value) = positive(name, quantity) {
                found += 1;
                let sum = limits.entry(name.as_str()).or_insert(0);
                *sum = sum.saturating_add(value);
            }
        }
        if found < 2 {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed
        && requests.len() == limits.len()
        && requests.iter().all(|(name, value)| limits.get(name) == Some(value))
    {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_tags() {
        let cases = [
            ("nginx", Some("latest")),
            ("nginx:latest", Some("latest")),
            ("nginx:1.27", Some("1.27")),
            ("registry.example:5000/app", Some("latest")),
            ("registry.example:5000/app:v2", Some("v2")),
            ("localhost/app", Some("latest")),
            ("app@sha256:abc", None),
            ("app:latest@sha256:abc", Some("latest")),
            ("app:1@sha256:abc", Some("1")),
            ("", None),
            ("NGINX", None),
            ("Registry.Example/app", Some("latest")),
            ("with space", None),
        ];
        for (image, tag) in cases {
            assert_eq!(image_tag(image), tag, "{image}");
        }
        assert_eq!(pull_policy("web.wasm"), "Always");
        assert_eq!(pull_policy("oci.example/web:1.0"), "IfNotPresent");
        assert_eq!(pull_policy(""), "IfNotPresent");
    }
}
