//! Pod volumes as host directories, preopened into the guests: `emptyDir` (per pod, removed with it),
//! `configMap` and `secret` (files written from the source object, read-only, refreshed), and `hostPath` (only
//! under the roots the node allows).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use k8s_openapi::api::core::v1::{Container, KeyToPath, Pod, Volume};

use crate::env::Sources;

/// Why a volume or a mount could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A hostPath outside the allowed roots.
    #[error("hostPath {0} is not under a directory this node allows (see --allow-host-path)")]
    HostPathNotAllowed(String),
    /// A volume type the node does not implement.
    #[error("volume {0:?} has a type this node does not support")]
    Unsupported(String),
    /// A mount names no volume of the pod.
    #[error("volumeMount {0:?} names no volume of the pod")]
    UnknownVolume(String),
    /// A subPath that leaves its volume.
    #[error("subPath {0:?} must be a relative path inside its volume")]
    BadSubPath(String),
    /// The source ConfigMap or Secret is missing.
    #[error("{kind} {name:?} not found")]
    SourceMissing {
        /// configmap or secret.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// A file system operation failed.
    #[error("cannot prepare {path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The Kubernetes reason this failure shows as.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::HostPathNotAllowed(_) => "HostPathNotAllowed",
            _ => "CreateContainerConfigError",
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

/// One prepared volume.
#[derive(Debug, Clone)]
pub struct VolumeDir {
    /// The directory on the host.
    pub path: PathBuf,
    /// Whether every mount of it is read-only (configMap, secret).
    pub read_only: bool,
}

/// A directory to preopen in a guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The directory on the host.
    pub host: PathBuf,
    /// Where the guest sees it.
    pub guest: String,
    /// Whether the guest may only read it.
    pub read_only: bool,
}

/// The directory of the volume `name` of the pod whose directory is `pod_root`.
pub fn dir(pod_root: &Path, name: &str) -> PathBuf {
    pod_root.join("volumes").join(name)
}

/// Creates (or refreshes) every volume of `pod` under `pod_root/volumes`.
pub async fn prepare(
    pod: &Pod,
    pod_root: &Path,
    allowed_host_paths: &[PathBuf],
    sources: &Sources,
) -> Result<BTreeMap<String, VolumeDir>, Error> {
    let mut dirs = BTreeMap::new();
    for volume in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let dir = prepare_one(volume, &dir(pod_root, &volume.name), allowed_host_paths, sources).await?;
        dirs.insert(volume.name.clone(), dir);
    }
    Ok(dirs)
}

async fn prepare_one(
    volume: &Volume,
    dir: &Path,
    allowed_host_paths: &[PathBuf],
    sources: &Sources,
) -> Result<VolumeDir, Error> {
    if volume.empty_dir.is_some() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        return Ok(VolumeDir { path: dir.to_path_buf(), read_only: false });
    }
    if let Some(host) = &volume.host_path {
        let path = PathBuf::from(&host.path);
        let create = matches!(host.type_.as_deref(), Some("DirectoryOrCreate"));
        if !path.is_absolute() || path.components().any(|c| c == Component::ParentDir) {
            return Err(Error::HostPathNotAllowed(host.path.clone()));
        }
        if !allowed_host_paths.iter().any(|root| path.starts_with(root)) {
            return Err(Error::HostPathNotAllowed(host.path.clone()));
        }
        if create {
            std::fs::create_dir_all(&path).map_err(io(&path))?;
        }
        // A symlink on the way could lead out of the allowed roots: check where it really is.
        let real = std::fs::canonicalize(&path).map_err(io(&path))?;
        let roots: Vec<PathBuf> =
            allowed_host_paths.iter().filter_map(|r| std::fs::canonicalize(r).ok()).collect();
        if !roots.iter().any(|root| real.starts_with(root)) {
            return Err(Error::HostPathNotAllowed(host.path.clone()));
        }
        return Ok(VolumeDir { path: real, read_only: false });
    }
    let (data, items, kind, name, optional) = if let Some(cm) = &volume.config_map {
        (sources.config_map(&cm.name).await, cm.items.as_ref(), "configmap", cm.name.clone(), cm.optional)
    } else if let Some(secret) = &volume.secret {
        let name = secret.secret_name.clone().unwrap_or_default();
        (sources.secret(&name).await, secret.items.as_ref(), "secret", name, secret.optional)
    } else {
        return Err(Error::Unsupported(volume.name.clone()));
    };
    let data = match data {
        Some(data) => data,
        None if optional.unwrap_or(false) => BTreeMap::new(),
        None => return Err(Error::SourceMissing { kind, name }),
    };
    write_files(dir, &files(&data, items))?;
    Ok(VolumeDir { path: dir.to_path_buf(), read_only: true })
}

/// The files a configMap or secret volume holds: every key, or only `items` under their paths.
pub fn files(data: &BTreeMap<String, Vec<u8>>, items: Option<&Vec<KeyToPath>>) -> BTreeMap<String, Vec<u8>> {
    match items {
        None => {
            data.iter().filter(|(k, _)| is_relative_inside(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
        }
        Some(items) => items
            .iter()
            .filter(|item| is_relative_inside(&item.path))
            .filter_map(|item| Some((item.path.clone(), data.get(&item.key)?.clone())))
            .collect(),
    }
}

/// Makes `dir` hold exactly `files`: changed files are replaced by rename (a reader never sees half a file),
/// files no longer in the source are removed.
pub fn write_files(dir: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    for (name, bytes) in files {
        let path = dir.join(name);
        if std::fs::read(&path).ok().as_deref() == Some(bytes.as_slice()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let tmp = dir.join(format!(".{}.tmp", name.replace('/', "_")));
        std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, &path)).map_err(io(&path))?;
    }
    for entry in std::fs::read_dir(dir).map_err(io(dir))?.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !files.keys().any(|k| k == &name || k.starts_with(&format!("{name}/"))) {
            let path = entry.path();
            let _ = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        }
    }
    Ok(())
}

fn is_relative_inside(path: &str) -> bool {
    let path = Path::new(path);
    !path.as_os_str().is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)))
}

/// The preopens of one container, from its `volumeMounts`.
pub fn mounts(container: &Container, volumes: &BTreeMap<String, VolumeDir>) -> Result<Vec<Mount>, Error> {
    let mut mounts = Vec::new();
    for mount in container.volume_mounts.iter().flatten() {
        let volume = volumes.get(&mount.name).ok_or_else(|| Error::UnknownVolume(mount.name.clone()))?;
        let host = match mount.sub_path.as_deref().filter(|s| !s.is_empty()) {
            None => volume.path.clone(),
            Some(sub) => {
                if !is_relative_inside(sub) {
                    return Err(Error::BadSubPath(sub.to_owned()));
                }
                let path = volume.path.join(sub);
                if !volume.read_only {
                    std::fs::create_dir_all(&path).map_err(io(&path))?;
                }
                // A guest may have planted a symlink under that name: the real path must stay in the volume.
                let real = std::fs::canonicalize(&path).map_err(io(&path))?;
                let root = std::fs::canonicalize(&volume.path).map_err(io(&volume.path))?;
                if !real.starts_with(&root) {
                    return Err(Error::BadSubPath(sub.to_owned()));
                }
                real
            }
        };
        mounts.push(Mount {
            host,
            guest: mount.mount_path.clone(),
            read_only: volume.read_only || mount.read_only.unwrap_or(false),
        });
    }
    Ok(mounts)
}

/// The bytes a directory tree holds by apparent size (`du --apparent-size`: files, subdirectories and symlinks by
/// their own length, the root excluded), without following symlinks. The walk stops once the sum exceeds
/// `stop_above` or after `max_entries` entries, so its cost is bounded whatever a guest puts there; a tree larger
/// than that reports what was counted (directories count their own size, so such a tree is rarely small).
pub fn usage(root: &Path, stop_above: u64, max_entries: usize) -> u64 {
    let mut total = 0u64;
    let mut entries = 0usize;
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(listing) = std::fs::read_dir(&dir) else { continue };
        for entry in listing.filter_map(Result::ok) {
            entries += 1;
            if entries > max_entries || total > stop_above {
                return total;
            }
            // `DirEntry::metadata` does not traverse symlinks: a link counts as itself.
            let Ok(meta) = entry.metadata() else { continue };
            total = total.saturating_add(meta.len());
            if meta.is_dir() {
                pending.push(entry.path());
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_honour_items_and_reject_escapes() {
        let data: BTreeMap<String, Vec<u8>> =
            [("a".into(), b"1".to_vec()), ("b".into(), b"2".to_vec()), ("../x".into(), b"3".to_vec())].into();
        assert_eq!(files(&data, None).keys().collect::<Vec<_>>(), ["a", "b"]);
        let items = vec![
            KeyToPath { key: "a".into(), path: "dir/renamed".into(), mode: None, user: None },
            KeyToPath { key: "b".into(), path: "/etc/passwd".into(), mode: None, user: None },
        ];
        assert_eq!(files(&data, Some(&items)).keys().collect::<Vec<_>>(), ["dir/renamed"]);
    }

    #[test]
    fn write_files_replaces_and_prunes() {
        let dir = tempfile::tempdir().unwrap();
        let one: BTreeMap<String, Vec<u8>> =
            [("a".into(), b"1".to_vec()), ("b".into(), b"2".to_vec())].into();
        write_files(dir.path(), &one).unwrap();
        let two: BTreeMap<String, Vec<u8>> = [("a".into(), b"changed".to_vec())].into();
        write_files(dir.path(), &two).unwrap();
        assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"changed");
        assert!(!dir.path().join("b").exists());
    }

    #[cfg(unix)]
    #[test]
    fn usage_sums_the_tree_without_following_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("huge"), vec![0u8; 1 << 20]).unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("one"), vec![0u8; 1000]).unwrap();
        std::fs::write(root.join("a/b/two"), vec![0u8; 3000]).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("link")).unwrap();
        let own = |p: &str| std::fs::symlink_metadata(root.join(p)).unwrap().len();
        let expected = 4000 + own("a") + own("a/b") + own("link");
        assert_eq!(usage(root, u64::MAX, usize::MAX), expected);
        assert!(usage(root, 0, usize::MAX) > 0, "stops early once over, with what it counted");
        assert!(usage(root, u64::MAX, 1) < expected, "bounded by the entry budget");
        assert_eq!(usage(&root.join("missing"), u64::MAX, usize::MAX), 0);
    }

    #[cfg(unix)]
    #[test]
    fn sub_path_symlinks_cannot_leave_the_volume() {
        let dir = tempfile::tempdir().unwrap();
        let volume = dir.path().join("vol");
        std::fs::create_dir_all(&volume).unwrap();
        std::os::unix::fs::symlink("/etc", volume.join("evil")).unwrap();
        let volumes: BTreeMap<String, VolumeDir> =
            [("v".to_owned(), VolumeDir { path: volume, read_only: false })].into();
        let container: Container = serde_json::from_value(serde_json::json!({
            "name": "c", "volumeMounts": [{"name": "v", "mountPath": "/data", "subPath": "evil"}]
        }))
        .unwrap();
        assert!(matches!(mounts(&container, &volumes), Err(Error::BadSubPath(_))));
    }
}
