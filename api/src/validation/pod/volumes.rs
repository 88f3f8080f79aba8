//! Pod volumes: names, exactly one source per volume, and the per-source rules (modes, item paths, claims,
//! projected tokens).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Volume;

use super::containers::{validate_object_field_selector, validate_resource_field};
use crate::validation::names::is_dns1123_label;
use crate::validation::resources::parse_quantity;
use crate::validation::{FieldError, FieldPath};

const FILE_MODE_MSG: &str = "must be a number between 0 and 0777 (octal), both inclusive";

/// Downward-API field paths a volume file may reference.
const VOLUME_FIELD_PATHS: [&str; 5] =
    ["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"];

/// Validates volumes and returns the names that containers may mount (those without errors, as in
/// Kubernetes).
pub(super) fn validate_volumes(volumes: &[Volume], path: &FieldPath) -> (BTreeSet<String>, Vec<FieldError>) {
    let mut names = BTreeSet::new();
    let mut errs = Vec::new();
    for (i, volume) in volumes.iter().enumerate() {
        let vol_path = path.index(i);
        let name_path = vol_path.child("name");
        let mut el = validate_volume_source(volume, &vol_path);
        if volume.name.is_empty() {
            el.push(FieldError::required(&name_path, ""));
        } else {
            el.extend(
                is_dns1123_label(&volume.name)
                    .into_iter()
                    .map(|m| FieldError::invalid(&name_path, &volume.name, m)),
            );
        }
        if names.contains(&volume.name) {
            el.push(FieldError::duplicate(&name_path, &volume.name));
        }
        if el.is_empty() {
            names.insert(volume.name.clone());
        } else {
            errs.extend(el);
        }
    }
    (names, errs)
}

fn validate_volume_source(volume: &Volume, path: &FieldPath) -> Vec<FieldError> {
    // Kubernetes' order of volume types; the first one set counts, the others are "more than 1".
    let present: [(&str, bool); 31] = [
        ("emptyDir", volume.empty_dir.is_some()),
        ("hostPath", volume.host_path.is_some()),
        ("gitRepo", volume.git_repo.is_some()),
        ("gcePersistentDisk", volume.gce_persistent_disk.is_some()),
        ("awsElasticBlockStore", volume.aws_elastic_block_store.is_some()),
        ("secret", volume.secret.is_some()),
        ("nfs", volume.nfs.is_some()),
        ("iscsi", volume.iscsi.is_some()),
        ("glusterfs", volume.glusterfs.is_some()),
        ("flocker", volume.flocker.is_some()),
        ("persistentVolumeClaim", volume.persistent_volume_claim.is_some()),
        ("rbd", volume.rbd.is_some()),
        ("cinder", volume.cinder.is_some()),
        ("cephFS", volume.cephfs.is_some()),
        ("quobyte", volume.quobyte.is_some()),
        ("downwarAPI", volume.downward_api.is_some()),
        ("fc", volume.fc.is_some()),
        ("flexVolume", volume.flex_volume.is_some()),
        ("configMap", volume.config_map.is_some()),
        ("azureFile", volume.azure_file.is_some()),
        ("vsphereVolume", volume.vsphere_volume.is_some()),
        ("photonPersistentDisk", volume.photon_persistent_disk.is_some()),
        ("portworxVolume", volume.portworx_volume.is_some()),
        ("azureDisk", volume.azure_disk.is_some()),
        ("storageos", volume.storageos.is_some()),
        ("projected", volume.projected.is_some()),
        ("scaleIO", volume.scale_io.is_some()),
        ("csi", volume.csi.is_some()),
        ("ephemeral", volume.ephemeral.is_some()),
        ("image", volume.image.is_some()),
        ("", false),
    ];
    let mut errs = Vec::new();
    let mut count = 0;
    for (name, set) in present {
        if !set {
            continue;
        }
        if count > 0 {
            // Kubernetes spells the downward API key "downwarAPI" in this one message.
            errs.push(FieldError::forbidden(&path.child(name), "may not specify more than 1 volume type"));
            continue;
        }
        count += 1;
        errs.extend(validate_one_source(volume, name, path));
    }
    if count == 0 {
        errs.push(FieldError::required(path, "must specify a volume type"));
    }
    errs
}

fn validate_one_source(volume: &Volume, kind: &str, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match kind {
        "emptyDir" => {
            let size = volume.empty_dir.as_ref().and_then(|e| e.size_limit.as_ref());
            if size.and_then(|q| parse_quantity(q).ok()).is_some_and(|n| n.is_negative()) {
                errs.push(FieldError::forbidden(
                    &path.child("emptyDir").child("sizeLimit"),
                    "SizeLimit field must be a valid resource quantity",
                ));
            }
        }
        "hostPath" => {
            let p = path.child("hostPath").child("path");
            match volume.host_path.as_ref().map(|h| h.path.as_str()) {
                Some("") | None => errs.push(FieldError::required(&p, "")),
                Some(host_path) => errs.extend(validate_path_no_backsteps(host_path, &p)),
            }
        }
        "secret" => {
            if let Some(secret) = &volume.secret {
                let p = path.child("secret");
                if secret.secret_name.as_deref().unwrap_or_default().is_empty() {
                    errs.push(FieldError::required(&p.child("secretName"), ""));
                }
                errs.extend(validate_mode(secret.default_mode, &p.child("defaultMode")));
                for (i, item) in secret.items.iter().flatten().enumerate() {
                    errs.extend(validate_key_to_path(
                        &item.key,
                        &item.path,
                        item.mode,
                        &p.child("items").index(i),
                    ));
                }
            }
        }
        "configMap" => {
            if let Some(config_map) = &volume.config_map {
                let p = path.child("configMap");
                if config_map.name.is_empty() {
                    errs.push(FieldError::required(&p.child("name"), ""));
                }
                errs.extend(validate_mode(config_map.default_mode, &p.child("defaultMode")));
                for (i, item) in config_map.items.iter().flatten().enumerate() {
                    errs.extend(validate_key_to_path(
                        &item.key,
                        &item.path,
                        item.mode,
                        &p.child("items").index(i),
                    ));
                }
            }
        }
        "persistentVolumeClaim"
            if volume.persistent_volume_claim.as_ref().is_some_and(|c| c.claim_name.is_empty()) =>
        {
            errs.push(FieldError::required(&path.child("persistentVolumeClaim").child("claimName"), ""));
        }
        "downwarAPI" => {
            if let Some(downward) = &volume.downward_api {
                let p = path.child("downwardAPI");
                errs.extend(validate_mode(downward.default_mode, &p.child("defaultMode")));
                for file in downward.items.iter().flatten() {
                    if file.path.is_empty() {
                        errs.push(FieldError::required(&p.child("path"), ""));
                    }
                    errs.extend(validate_local_non_reserved_path(&file.path, &p.child("path")));
                    match (&file.field_ref, &file.resource_field_ref) {
                        (Some(field_ref), resource) => {
                            errs.extend(validate_object_field_selector(
                                field_ref,
                                &VOLUME_FIELD_PATHS,
                                &p.child("fieldRef"),
                            ));
                            if resource.is_some() {
                                errs.push(FieldError::invalid(
                                    &p,
                                    "resource",
                                    "fieldRef and resourceFieldRef can not be specified simultaneously",
                                ));
                            }
                        }
                        (None, Some(resource)) => {
                            let rp = p.child("resourceFieldRef");
                            if resource.container_name.as_deref().unwrap_or_default().is_empty() {
                                errs.push(FieldError::required(&rp.child("containerName"), ""));
                            } else {
                                errs.extend(validate_resource_field(&resource.resource, &rp));
                            }
                        }
                        (None, None) => errs.push(FieldError::required(
                            &p,
                            "one of fieldRef and resourceFieldRef is required",
                        )),
                    }
                    errs.extend(validate_mode(file.mode, &p.child("mode")));
                }
            }
        }
        "projected" => {
            if let Some(projected) = &volume.projected {
                let p = path.child("projected");
                for (i, source) in projected.sources.iter().flatten().enumerate() {
                    let sp = p.child("sources").index(i);
                    if let Some(secret) = &source.secret
                        && secret.name.is_empty()
                    {
                        errs.push(FieldError::required(&sp.child("secret").child("name"), ""));
                    }
                    if let Some(config_map) = &source.config_map
                        && config_map.name.is_empty()
                    {
                        errs.push(FieldError::required(&sp.child("configMap").child("name"), ""));
                    }
                    if let Some(token) = &source.service_account_token {
                        let tp = sp.child("serviceAccountToken");
                        let seconds = token.expiration_seconds.unwrap_or(3600);
                        if seconds < 600 {
                            errs.push(FieldError::invalid(
                                &tp.child("expirationSeconds"),
                                seconds,
                                "may not specify a duration less than 10 minutes",
                            ));
                        }
                        if seconds > 1 << 32 {
                            errs.push(FieldError::invalid(
                                &tp.child("expirationSeconds"),
                                seconds,
                                "may not specify a duration larger than 2^32 seconds",
                            ));
                        }
                        if token.path.is_empty() {
                            errs.push(FieldError::required(&tp.child("path"), ""));
                        }
                    }
                }
                errs.extend(validate_mode(projected.default_mode, &p.child("defaultMode")));
            }
        }
        _ => {}
    }
    errs
}

fn validate_mode(mode: Option<i32>, path: &FieldPath) -> Option<FieldError> {
    mode.filter(|m| !(0..=0o777).contains(m)).map(|m| FieldError::invalid(path, m, FILE_MODE_MSG))
}

fn validate_key_to_path(key: &str, file: &str, mode: Option<i32>, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if key.is_empty() {
        errs.push(FieldError::required(&path.child("key"), ""));
    }
    if file.is_empty() {
        errs.push(FieldError::required(&path.child("path"), ""));
    }
    errs.extend(validate_local_non_reserved_path(file, &path.child("path")));
    errs.extend(validate_mode(mode, &path.child("mode")));
    errs
}

fn validate_path_no_backsteps(target: &str, path: &FieldPath) -> Option<FieldError> {
    target
        .split('/')
        .any(|part| part == "..")
        .then(|| FieldError::invalid(path, target, "must not contain '..'"))
}

pub(super) fn validate_local_descending_path(target: &str, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if target.starts_with('/') {
        errs.push(FieldError::invalid(path, target, "must be a relative path"));
    }
    errs.extend(validate_path_no_backsteps(target, path));
    errs
}

fn validate_local_non_reserved_path(target: &str, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = validate_local_descending_path(target, path);
    if target.starts_with("..") && !target.starts_with("../") {
        errs.push(FieldError::invalid(path, target, "must not start with '..'"));
    }
    errs
}
