//! Container logs: stdout and stderr captured line by line with timestamps into size-bounded rotating files
//! (`sink`), read back with the kubelet's options (`read`), and served over HTTP (`http`).
//!
//! Layout under the node's data directory: `logs/<namespace>_<pod>_<uid>/<container>_<restart>.log`, rotated to
//! `<container>_<restart>.log.1` (the kubelet keeps a directory per container; one directory per pod costs a pod
//! start one inode fewer, and a container name cannot contain `_`). Lines use the CRI format: `<RFC 3339 time> <stdout|stderr> <F|P> <text>`.

pub mod http;
pub mod read;
mod sink;

use std::path::{Path, PathBuf};

pub use sink::{LogLimits, LogSink};

/// The directory holding the logs of one pod.
pub fn pod_dir(root: &Path, namespace: &str, pod: &str, uid: &str) -> PathBuf {
    root.join(format!("{namespace}_{pod}_{uid}"))
}

/// The empty file that says a run is over, beside its log: followers of the log stop at its end then.
pub fn ended_marker(run_file: &Path) -> PathBuf {
    let mut marker = run_file.as_os_str().to_owned();
    marker.push(".ended");
    PathBuf::from(marker)
}

/// The file one run (`restart`) of a container writes to.
pub fn run_file(pod_dir: &Path, container: &str, restart: u32) -> PathBuf {
    pod_dir.join(format!("{container}_{restart}.log"))
}
