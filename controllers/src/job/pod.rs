//! The pod a Job creates from its template: owned by the Job, named after it, and for an Indexed Job
//! carrying its completion index as Kubernetes passes it (annotation, label and `JOB_COMPLETION_INDEX`).

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Container, EnvVar, EnvVarSource, ObjectFieldSelector, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::indexes::{COMPLETION_INDEX, COMPLETION_INDEX_ENV};
use crate::owners;

/// The pod to create for `job`, with completion index `index` for an Indexed Job.
pub fn for_job(job: &Job, index: Option<i32>) -> Pod {
    let name = job.metadata.name.as_deref().unwrap_or_default();
    let template = job.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
    let template_meta = template.metadata.unwrap_or_default();
    let mut labels = template_meta.labels.unwrap_or_default();
    let mut annotations = template_meta.annotations.unwrap_or_default();
    let mut spec = template.spec;
    let generate_name = match index {
        Some(index) => {
            labels.insert(COMPLETION_INDEX.to_owned(), index.to_string());
            annotations.insert(COMPLETION_INDEX.to_owned(), index.to_string());
            if let Some(spec) = &mut spec {
                for container in spec.init_containers.iter_mut().flatten().chain(spec.containers.iter_mut()) {
                    add_index_env(container);
                }
            }
            format!("{name}-{index}-")
        }
        None => format!("{name}-"),
    };
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(generate_name),
            namespace: job.metadata.namespace.clone(),
            labels: (!labels.is_empty()).then_some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            finalizers: template_meta.finalizers,
            owner_references: Some(vec![owners::controller_ref(job)]),
            ..ObjectMeta::default()
        },
        spec,
        status: None,
    }
}

/// `JOB_COMPLETION_INDEX` from the index annotation through the downward API, as Kubernetes sets it; a
/// container that defines the variable itself keeps its own.
fn add_index_env(container: &mut Container) {
    let env = container.env.get_or_insert_with(Vec::new);
    if env.iter().any(|e| e.name == COMPLETION_INDEX_ENV) {
        return;
    }
    env.push(EnvVar {
        name: COMPLETION_INDEX_ENV.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: Some("v1".to_owned()),
                field_path: format!("metadata.annotations['{COMPLETION_INDEX}']"),
            }),
            ..EnvVarSource::default()
        }),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job() -> Job {
        serde_json::from_value(json!({
            "metadata": {"name": "pi", "namespace": "d", "uid": "job-uid"},
            "spec": {"template": {
                "metadata": {"labels": {"batch.kubernetes.io/job-name": "pi"}, "annotations": {"a": "b"}},
                "spec": {"restartPolicy": "Never",
                         "initContainers": [{"name": "init"}],
                         "containers": [{"name": "main", "env": [{"name": "X", "value": "1"}]},
                                        {"name": "own", "env": [{"name": "JOB_COMPLETION_INDEX", "value": "9"}]}]}}},
        }))
        .unwrap()
    }

    #[test]
    fn non_indexed_pods_copy_the_template_and_point_at_the_job() {
        let pod = serde_json::to_value(for_job(&job(), None)).unwrap();
        assert_eq!(pod["metadata"]["generateName"], "pi-");
        assert_eq!(pod["metadata"]["namespace"], "d");
        assert_eq!(pod["metadata"]["labels"], json!({"batch.kubernetes.io/job-name": "pi"}));
        assert_eq!(
            pod["metadata"]["ownerReferences"],
            json!([{"apiVersion": "batch/v1", "kind": "Job", "name": "pi", "uid": "job-uid",
                    "controller": true, "blockOwnerDeletion": true}])
        );
        assert_eq!(pod["spec"]["containers"][0]["env"], json!([{"name": "X", "value": "1"}]));
    }

    #[test]
    fn indexed_pods_carry_their_index() {
        let pod = serde_json::to_value(for_job(&job(), Some(3))).unwrap();
        assert_eq!(pod["metadata"]["generateName"], "pi-3-");
        assert_eq!(pod["metadata"]["labels"][COMPLETION_INDEX], "3");
        assert_eq!(pod["metadata"]["annotations"], json!({"a": "b", COMPLETION_INDEX: "3"}));
        let from_annotation = json!({"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}});
        assert_eq!(pod["spec"]["initContainers"][0]["env"], json!([from_annotation]));
        assert_eq!(
            pod["spec"]["containers"][0]["env"],
            json!([{"name": "X", "value": "1"}, from_annotation])
        );
        assert_eq!(
            pod["spec"]["containers"][1]["env"],
            json!([{"name": "JOB_COMPLETION_INDEX", "value": "9"}])
        );
    }
}
