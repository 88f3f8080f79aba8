//! emptyDir `sizeLimit`, honoured as the kubelet's eviction manager does: the volumes of each running pod are
//! measured periodically, and a pod whose emptyDir holds more than its limit is evicted (its guests are killed and
//! not restarted, and it ends Failed with reason Evicted). The decision is pure ([`verdict`]); [`watch`] measures.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use api::quantity::{ParsedQuantity, QuantityFormat};
use k8s_openapi::api::core::v1::Pod;
use tokio::time::MissedTickBehavior;

use crate::volumes;

/// `status.reason` of an evicted pod, and the reason of its Event.
pub const REASON: &str = "Evicted";

/// The most entries one measurement of a volume visits: a guest's million small files must not cost the node
/// more than this.
const MAX_ENTRIES: usize = 100_000;

/// The shortest interval between measurements, whatever the configuration says (tokio refuses a zero period).
const MIN_INTERVAL: Duration = Duration::from_millis(50);

/// An emptyDir volume with a size limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeLimit {
    /// The volume's name.
    pub volume: String,
    /// Its `sizeLimit`.
    pub limit: ParsedQuantity,
    /// Its directory on the node.
    pub dir: PathBuf,
}

/// The emptyDir volumes of `pod` (whose directory is `pod_root`) with a positive `sizeLimit`; the kubelet
/// ignores a zero one.
pub fn size_limits(pod: &Pod, pod_root: &Path) -> Vec<SizeLimit> {
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(|v| {
            let limit = ParsedQuantity::try_from(v.empty_dir.as_ref()?.size_limit.as_ref()?).ok()?;
            (limit.nanos() > 0).then(|| SizeLimit {
                volume: v.name.clone(),
                limit,
                dir: volumes::dir(pod_root, &v.name),
            })
        })
        .collect()
}

/// The eviction message when `used` bytes exceed the `limit` of `volume`, in the kubelet's words (trailing space
/// included), or `None` within the limit.
pub fn verdict(volume: &str, limit: ParsedQuantity, used: u64) -> Option<String> {
    let used = ParsedQuantity::from_units(i64::try_from(used).unwrap_or(i64::MAX), QuantityFormat::BinarySi);
    (used > limit)
        .then(|| format!("Usage of EmptyDir volume {volume:?} exceeds the limit {:?}. ", limit.to_string()))
}

/// Measures the volumes every `interval` until one exceeds its limit, and returns the eviction message; never
/// returns for a pod without limits.
pub async fn watch(limits: Vec<SizeLimit>, interval: Duration) -> String {
    if limits.is_empty() {
        return std::future::pending().await;
    }
    let limits: Arc<[SizeLimit]> = limits.into();
    let mut tick = tokio::time::interval(interval.max(MIN_INTERVAL));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let limits = limits.clone();
        // Walking directories blocks: keep it off the async workers.
        if let Ok(Some(message)) = tokio::task::spawn_blocking(move || over_limit(&limits)).await {
            return message;
        }
    }
}

/// The message for the first volume over its limit, if any.
fn over_limit(limits: &[SizeLimit]) -> Option<String> {
    limits.iter().find_map(|l| {
        // Once past the limit the exact figure does not matter: stop counting there.
        let stop_above = l.limit.value().map_or(u64::MAX, |bytes| bytes.max(0) as u64);
        verdict(&l.volume, l.limit, volumes::usage(&l.dir, stop_above, MAX_ENTRIES))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> ParsedQuantity {
        s.parse().unwrap()
    }

    #[test]
    fn verdict_table() {
        let cases = [
            ("1Mi", 0, None),
            ("1Mi", 1 << 20, None),
            ("1Mi", (1 << 20) + 1, Some(r#"Usage of EmptyDir volume "scratch" exceeds the limit "1Mi". "#)),
            // The limit shows in canonical form, as Quantity.String() prints it.
            ("1024Ki", 2 << 20, Some(r#"Usage of EmptyDir volume "scratch" exceeds the limit "1Mi". "#)),
            ("1000k", 1_000_001, Some(r#"Usage of EmptyDir volume "scratch" exceeds the limit "1M". "#)),
            // A fractional limit compares exactly.
            ("1500m", 1, None),
            ("1500m", 2, Some(r#"Usage of EmptyDir volume "scratch" exceeds the limit "1500m". "#)),
            ("1Ei", u64::MAX, Some(r#"Usage of EmptyDir volume "scratch" exceeds the limit "1Ei". "#)),
        ];
        for (limit, used, expected) in cases {
            assert_eq!(verdict("scratch", q(limit), used).as_deref(), expected, "{limit} with {used} bytes");
        }
    }

    #[test]
    fn only_empty_dirs_with_a_positive_limit_count() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [], "volumes": [
                {"name": "limited", "emptyDir": {"sizeLimit": "1Mi"}},
                {"name": "memory", "emptyDir": {"medium": "Memory", "sizeLimit": "2k"}},
                {"name": "unlimited", "emptyDir": {}},
                {"name": "zero", "emptyDir": {"sizeLimit": "0"}},
                {"name": "host", "hostPath": {"path": "/data"}}
            ]}
        }))
        .unwrap();
        let limits = size_limits(&pod, Path::new("/pods/u1"));
        let found: Vec<(&str, String)> =
            limits.iter().map(|l| (l.volume.as_str(), l.limit.to_string())).collect();
        assert_eq!(found, [("limited", "1Mi".to_owned()), ("memory", "2k".to_owned())]);
        assert_eq!(limits[0].dir, Path::new("/pods/u1/volumes/limited"));
    }

    #[test]
    fn over_limit_measures_each_volume() {
        let root = tempfile::tempdir().unwrap();
        let limit = |volume: &str, size: &str| SizeLimit {
            volume: volume.into(),
            limit: q(size),
            dir: volumes::dir(root.path(), volume),
        };
        let limits = [limit("small", "4k"), limit("big", "1Ki")];
        for l in &limits {
            std::fs::create_dir_all(&l.dir).unwrap();
        }
        std::fs::write(limits[0].dir.join("f"), vec![0u8; 4000]).unwrap();
        assert_eq!(over_limit(&limits), None);
        std::fs::write(limits[1].dir.join("f"), vec![0u8; 1025]).unwrap();
        let message = over_limit(&limits).unwrap();
        assert!(
            message.starts_with(r#"Usage of EmptyDir volume "big" exceeds the limit "1Ki"."#),
            "{message}"
        );
    }
}
