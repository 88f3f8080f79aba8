//! The `pod-template-hash`: the name suffix and label that tie a ReplicaSet to the Deployment template it runs.
//!
//! Kubernetes hashes the template with FNV-32a (plus the Deployment's `collisionCount`) and prints the 32-bit
//! sum in decimal through its `SafeEncodeString` alphabet, which has no vowels (no words) and no confusable
//! characters. The bytes hashed here are a canonical form of the template instead of Go's printed struct:
//! decoded into the typed `PodTemplateSpec`, defaulted as the API server defaults it, without the
//! `pod-template-hash` label, and with empty maps and lists dropped (Kubernetes compares templates with
//! `Semantic.DeepEqual`, where empty and absent are equal). A template that only differs in such zero values,
//! as the one `kubectl rollout undo` sends back, therefore hashes and compares equal to the original.

use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::Value;

/// The label every ReplicaSet of a Deployment (and each of its pods) carries, with the template hash.
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

/// Kubernetes' `SafeEncodeString` alphabet.
const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The canonical form of a template: equal for two templates exactly when a ReplicaSet made from one runs
/// the other.
pub fn canonical_template(template: &PodTemplateSpec) -> Value {
    let mut template = template.clone();
    api::defaults::default_pod_template_spec(&mut template);
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(POD_TEMPLATE_HASH_LABEL);
    }
    // Serialising a k8s-openapi type cannot fail: every field is a string, number, map or list.
    let mut value = serde_json::to_value(&template).unwrap_or(Value::Null);
    prune_empty(&mut value);
    value
}

/// Whether two templates are the same ignoring the hash label (Kubernetes' `EqualIgnoreHash`).
pub fn equal_ignoring_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    canonical_template(a) == canonical_template(b)
}

/// The `pod-template-hash` of a template for a Deployment with this `status.collisionCount`.
pub fn pod_template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    // `serde_json::Value` objects are ordered maps, so the text is canonical.
    let text = canonical_template(template).to_string();
    let mut hash = fnv32a(FNV_OFFSET, text.as_bytes());
    if let Some(count) = collision_count {
        hash = fnv32a(hash, &(count as u32).to_le_bytes());
    }
    safe_encode(&hash.to_string())
}

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

fn fnv32a(mut hash: u32, bytes: &[u8]) -> u32 {
    for byte in bytes {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// Kubernetes' `rand.SafeEncodeString`: each byte mapped into [`ALPHABET`].
fn safe_encode(s: &str) -> String {
    s.bytes().map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()])).collect()
}

/// Removes nulls, empty objects and empty lists, innermost first.
fn prune_empty(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for v in map.values_mut() {
                prune_empty(v);
            }
            map.retain(|_, v| !is_empty(v));
        }
        Value::Array(items) => {
            for v in items.iter_mut() {
                prune_empty(v);
            }
        }
        _ => {}
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(value: Value) -> PodTemplateSpec {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn fnv_matches_the_reference_vectors() {
        // Test vectors of FNV-1a 32 (Landon Curt Noll's list).
        assert_eq!(fnv32a(FNV_OFFSET, b""), 0x811c_9dc5);
        assert_eq!(fnv32a(FNV_OFFSET, b"a"), 0xe40c_292c);
        assert_eq!(fnv32a(FNV_OFFSET, b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn encoding_uses_the_safe_alphabet() {
        // '0' is byte 48: 48 % 27 = 21 -> '4'; '9' is 57 % 27 = 3 -> 'f'.
        assert_eq!(safe_encode("09"), "4f");
        assert_eq!(safe_encode("4294967295").len(), 10);
    }

    #[test]
    fn hashes_ignore_zero_values_defaults_and_the_hash_label() {
        let base = json!({"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "/w/web.wasm"}]}});
        let cases = [
            ("same", base.clone(), true),
            (
                "empty resources and annotations",
                json!({"metadata": {"labels": {"app": "web"}, "annotations": {}},
                       "spec": {"containers": [{"name": "web", "image": "/w/web.wasm", "resources": {}}]}}),
                true,
            ),
            (
                "explicit defaults",
                json!({"metadata": {"labels": {"app": "web"}},
                       "spec": {"restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
                                "containers": [{"name": "web", "image": "/w/web.wasm",
                                                "terminationMessagePath": "/dev/termination-log"}]}}),
                true,
            ),
            (
                "hash label",
                json!({"metadata": {"labels": {"app": "web", "pod-template-hash": "abc"}},
                       "spec": {"containers": [{"name": "web", "image": "/w/web.wasm"}]}}),
                true,
            ),
            (
                "other image",
                json!({"metadata": {"labels": {"app": "web"}},
                       "spec": {"containers": [{"name": "web", "image": "/w/web-2.wasm"}]}}),
                false,
            ),
            (
                "restart annotation",
                json!({"metadata": {"labels": {"app": "web"},
                                    "annotations": {"kubectl.kubernetes.io/restartedAt": "now"}},
                       "spec": {"containers": [{"name": "web", "image": "/w/web.wasm"}]}}),
                false,
            ),
        ];
        let base = template(base);
        let reference = pod_template_hash(&base, None);
        for (name, other, same) in cases {
            let other = template(other);
            assert_eq!(pod_template_hash(&other, None) == reference, same, "{name}");
            assert_eq!(equal_ignoring_hash(&other, &base), same, "{name}");
        }
    }

    #[test]
    fn hashes_have_kubernetes_shape_and_change_with_collisions() {
        let t = template(json!({"spec": {"containers": [{"name": "a", "image": "/a.wasm"}]}}));
        let plain = pod_template_hash(&t, None);
        let collided = pod_template_hash(&t, Some(1));
        for hash in [&plain, &collided] {
            assert!((1..=10).contains(&hash.len()), "{hash}");
            assert!(hash.bytes().all(|b| ALPHABET.contains(&b)), "{hash}");
        }
        assert_ne!(plain, collided);
        assert_eq!(plain, pod_template_hash(&t, None), "stable");
    }
}
