//! The pod a DaemonSet creates for one node.
//!
//! Kubernetes leaves the placement to the scheduler through a required node affinity on `metadata.name`.
//! Here the pod is bound at creation through `spec.nodeName`, as Kubernetes did before 1.12: the controller
//! has already decided the node is eligible, and a daemon must not wait behind a busy scheduler or be placed
//! elsewhere. The node agent still admits or rejects it against the node's capacity. The pod carries the
//! [automatic tolerations](super::plan::DAEMON_TOLERATIONS), so that the node lifecycle controller does not
//! evict daemons from unhealthy nodes.

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Pod, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::plan::{DAEMON_TOLERATIONS, REVISION_HASH_LABEL, TEMPLATE_GENERATION_LABEL};
use crate::owners;

/// The pod to create for `set` on `node`, labelled with the template's `hash` and the set's generation.
pub fn for_node(set: &DaemonSet, node: &str, hash: &str) -> Pod {
    let name = set.metadata.name.as_deref().unwrap_or_default();
    let template = set.spec.template.clone();
    let template_meta = template.metadata.unwrap_or_default();
    let mut labels = template_meta.labels.unwrap_or_default();
    labels.insert(REVISION_HASH_LABEL.to_owned(), hash.to_owned());
    if let Some(generation) = set.metadata.generation {
        labels.insert(TEMPLATE_GENERATION_LABEL.to_owned(), generation.to_string());
    }
    let mut spec = template.spec.unwrap_or_default();
    spec.node_name = Some(node.to_owned());
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    for (key, effect) in DAEMON_TOLERATIONS {
        let present = tolerations.iter().any(|t| {
            t.key.as_deref() == Some(key)
                && t.effect.as_deref() == Some(effect)
                && t.toleration_seconds.is_none()
        });
        if !present {
            tolerations.push(Toleration {
                key: Some(key.to_owned()),
                operator: Some("Exists".to_owned()),
                effect: Some(effect.to_owned()),
                ..Toleration::default()
            });
        }
    }
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}-")),
            namespace: set.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: template_meta.annotations,
            finalizers: template_meta.finalizers,
            owner_references: Some(vec![owners::controller_ref(set)]),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pods_are_bound_labelled_tolerant_and_owned() {
        let set: DaemonSet = serde_json::from_value(json!({
            "metadata": {"name": "agent", "namespace": "d", "uid": "ds-uid", "generation": 3},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                     "template": {"metadata": {"labels": {"app": "agent"}},
                                  "spec": {"containers": [{"name": "main"}],
                                           "tolerations": [{"key": "node.kubernetes.io/not-ready",
                                                            "operator": "Exists", "effect": "NoExecute"}]}}},
        }))
        .unwrap();
        let pod = serde_json::to_value(for_node(&set, "n1", "h4sh")).unwrap();
        assert_eq!(pod["metadata"]["generateName"], "agent-");
        assert_eq!(pod["metadata"]["namespace"], "d");
        assert_eq!(
            pod["metadata"]["labels"],
            json!({"app": "agent", "controller-revision-hash": "h4sh", "pod-template-generation": "3"})
        );
        assert_eq!(
            pod["metadata"]["ownerReferences"],
            json!([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": "ds-uid",
                    "controller": true, "blockOwnerDeletion": true}])
        );
        assert_eq!(pod["spec"]["nodeName"], "n1");
        let tolerations = pod["spec"]["tolerations"].as_array().unwrap();
        assert_eq!(tolerations.len(), 6, "the template's own not-ready toleration is not repeated");
        assert!(tolerations.iter().any(|t| t["key"] == "node.kubernetes.io/unschedulable"
            && t["effect"] == "NoSchedule"
            && t["operator"] == "Exists"));
    }
}
