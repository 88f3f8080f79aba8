//! The controllers against a real API server: Deployments make ReplicaSets and pods, scale, roll out, roll
//! back and are deleted with each cascade mode, driven by kube-rs and the real kubectl. No node agent runs
//! here: a helper marks pods ready the way an agent would.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::json;
use tests::{PATIENCE, TestServer, eventually, merge_status, running_and_ready};
use tokio_util::sync::CancellationToken;

/// Marks every pod that is not ready yet as running and ready, as a node agent would, until `stop`.
fn make_pods_ready(client: kube::Client, stop: CancellationToken) {
    tokio::spawn(async move {
        let pods: Api<Pod> = Api::all(client.clone());
        while !stop.is_cancelled() {
            for pod in pods.list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default() {
                let ready = pod
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
                if ready || pod.metadata.deletion_timestamp.is_some() {
                    continue;
                }
                let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace().unwrap());
                // The pod may be gone already; the next round sees that.
                let _ = merge_status(&api, &pod.name_any(), running_and_ready()).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
}

fn deployment(name: &str, replicas: i32, image: &str) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "app", "image": image}]}},
        },
    })
}

/// The ReplicaSets of the default namespace that a Deployment controls.
async fn replica_sets_of(client: &kube::Client, d: &Deployment) -> Vec<ReplicaSet> {
    let api: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let uid = d.uid().unwrap();
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|rs| rs.owner_references().iter().any(|r| r.uid == uid && r.controller == Some(true)))
        .collect()
}

async fn pods_with(client: &kube::Client, labels: &str) -> Vec<Pod> {
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    api.list(&ListParams::default().labels(labels)).await.unwrap().items
}

#[tokio::test]
async fn controllers_create_replica_sets_and_pods_with_owners() {
    let server = TestServer::start().await;
    let client = server.client();
    let controllers = controllers::Controllers::start(client.clone());
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let d: Deployment = serde_json::from_value(deployment("web", 3, "/w/web.wasm")).unwrap();
    let d = deployments.create(&PostParams::default(), &d).await.unwrap();
    let template_hash = controllers::hash::pod_template_hash(&d.spec.template, None);

    eventually("3 pods", PATIENCE, || async { pods_with(&client, "app=web").await.len() == 3 }).await;
    let sets = replica_sets_of(&client, &d).await;
    assert_eq!(sets.len(), 1);
    let rs = &sets[0];
    assert_eq!(rs.name_any(), format!("web-{template_hash}"));
    assert_eq!(rs.labels()["pod-template-hash"], template_hash);
    assert_eq!(rs.spec.replicas, Some(3));
    assert_eq!(rs.annotations()["deployment.kubernetes.io/revision"], "1");
    let owner = &rs.owner_references()[0];
    assert_eq!((owner.kind.as_str(), owner.block_owner_deletion), ("Deployment", Some(true)));
    for pod in pods_with(&client, "app=web").await {
        assert!(pod.name_any().starts_with(&format!("web-{template_hash}-")), "{}", pod.name_any());
        assert_eq!(pod.labels()["pod-template-hash"], template_hash);
        let owner = &pod.owner_references()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
            ("ReplicaSet", rs.uid().unwrap().as_str(), Some(true))
        );
    }

    // A deleted pod is replaced; an orphan that matches is adopted instead of a new one being made.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let victim = pods_with(&client, "app=web").await[0].name_any();
    pods.delete(&victim, &Default::default()).await.unwrap();
    eventually("a replacement", PATIENCE, || async {
        let now = pods_with(&client, "app=web").await;
        now.len() == 3 && now.iter().all(|p| p.name_any() != victim)
    })
    .await;

    let d = deployments.get("web").await.unwrap();
    let status = d.status.unwrap();
    assert_eq!(status.observed_generation, d.metadata.generation);
    controllers.shutdown().await;
}

#[tokio::test]
async fn controllers_roll_out_scale_and_roll_back_with_kubectl() {
    let server = TestServer::start().await;
    let client = server.client();
    let kubectl = server.kubectl();
    let controllers = controllers::Controllers::start(client.clone());
    let ready = CancellationToken::new();
    make_pods_ready(client.clone(), ready.clone());

    let v1 = kubectl.write("v1.yaml", &deployment("web", 4, "/w/v1.wasm").to_string());
    kubectl.ok(&["apply", "-f", &v1]).await;
    let out = kubectl.ok(&["rollout", "status", "deployment/web", "--timeout=50s"]).await;
    assert!(out.contains("successfully rolled out"), "{out}");

    kubectl.ok(&["scale", "deployment/web", "--replicas=6"]).await;
    eventually("6 ready pods", PATIENCE, || async {
        pods_with(&client, "app=web").await.iter().filter(|p| p.metadata.deletion_timestamp.is_none()).count()
            == 6
    })
    .await;
    kubectl.ok(&["rollout", "status", "deployment/web", "--timeout=50s"]).await;

    // A new image: a second ReplicaSet, with never fewer than replicas - maxUnavailable ready pods.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let d = deployments.get("web").await.unwrap();
    let first = replica_sets_of(&client, &d).await.remove(0);
    let v2 = kubectl.write("v2.yaml", &deployment("web", 6, "/w/v2.wasm").to_string());
    kubectl.ok(&["apply", "-f", &v2]).await;
    let watch_client = client.clone();
    let lowest = tokio::spawn(async move {
        let mut lowest = usize::MAX;
        for _ in 0..200 {
            let ready = pods_with(&watch_client, "app=web")
                .await
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .filter(|p| {
                    p.status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
                })
                .count();
            lowest = lowest.min(ready);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        lowest
    });
    let out = kubectl.ok(&["rollout", "status", "deployment/web", "--timeout=50s"]).await;
    assert!(out.contains("successfully rolled out"), "{out}");
    assert!(lowest.await.unwrap() >= 5, "fell below replicas - maxUnavailable");
    let sets = replica_sets_of(&client, &d).await;
    assert_eq!(sets.len(), 2);
    let old = sets.iter().find(|rs| rs.uid() == first.uid()).unwrap();
    assert_eq!(old.spec.replicas, Some(0));

    let history = kubectl.ok(&["rollout", "history", "deployment/web"]).await;
    assert!(history.contains('1') && history.contains('2'), "{history}");

    // Undo goes back to the first ReplicaSet, which becomes revision 3.
    kubectl.ok(&["rollout", "undo", "deployment/web"]).await;
    kubectl.ok(&["rollout", "status", "deployment/web", "--timeout=50s"]).await;
    let sets = replica_sets_of(&client, &d).await;
    assert_eq!(sets.len(), 2, "the old ReplicaSet is reused");
    let reused = sets.iter().find(|rs| rs.uid() == first.uid()).unwrap();
    assert_eq!(reused.spec.replicas, Some(6));
    assert_eq!(reused.annotations()["deployment.kubernetes.io/revision"], "3");
    assert_eq!(reused.annotations()["deployment.kubernetes.io/revision-history"], "1");
    let d = deployments.get("web").await.unwrap();
    assert_eq!(d.annotations()["deployment.kubernetes.io/revision"], "3");

    // Pause holds a template change back; resume rolls it out; restart makes a new ReplicaSet.
    kubectl.ok(&["rollout", "pause", "deployment/web"]).await;
    kubectl.ok(&["set", "image", "deployment/web", "app=/w/v3.wasm"]).await;
    eventually("the controller to observe the paused change", PATIENCE, || async {
        let d = deployments.get("web").await.unwrap();
        let status = d.status.unwrap_or_default();
        let progressing =
            status.conditions.iter().flatten().find(|c| c.type_.as_deref() == Some("Progressing"));
        status.observed_generation == d.metadata.generation
            && progressing.and_then(|c| c.reason.as_deref()) == Some("DeploymentPaused")
    })
    .await;
    assert_eq!(replica_sets_of(&client, &d).await.len(), 2, "paused: no new ReplicaSet");
    kubectl.ok(&["rollout", "resume", "deployment/web"]).await;
    kubectl.ok(&["rollout", "status", "deployment/web", "--timeout=50s"]).await;
    assert_eq!(replica_sets_of(&client, &d).await.len(), 3);
    kubectl.ok(&["rollout", "restart", "deployment/web"]).await;
    kubectl.ok(&["rollout", "status", "deployment/web", "--timeout=50s"]).await;
    assert_eq!(replica_sets_of(&client, &d).await.len(), 4);

    ready.cancel();
    controllers.shutdown().await;
}

#[tokio::test]
async fn controllers_delete_with_each_cascade_mode() {
    let server = TestServer::start().await;
    let client = server.client();
    let kubectl = server.kubectl();
    let controllers = controllers::Controllers::start(client.clone());
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    for name in ["bg", "fg", "orphan"] {
        let file = kubectl.write(&format!("{name}.yaml"), &deployment(name, 2, "/w/app.wasm").to_string());
        kubectl.ok(&["apply", "-f", &file]).await;
    }
    for name in ["bg", "fg", "orphan"] {
        eventually("2 pods each", PATIENCE, || async {
            pods_with(&client, &format!("app={name}")).await.len() == 2
        })
        .await;
    }

    kubectl.ok(&["delete", "deployment/bg", "--cascade=background"]).await;
    eventually("background: ReplicaSet and pods collected", PATIENCE, || async {
        pods_with(&client, "app=bg").await.is_empty()
            && sets.list(&ListParams::default().labels("app=bg")).await.unwrap().items.is_empty()
    })
    .await;

    // Foreground: kubectl waits until the Deployment is gone, which is after its dependents.
    kubectl.ok(&["delete", "deployment/fg", "--cascade=foreground", "--timeout=50s"]).await;
    assert!(deployments.get_opt("fg").await.unwrap().is_none());
    eventually("foreground: dependents gone", PATIENCE, || async {
        pods_with(&client, "app=fg").await.is_empty()
            && sets.list(&ListParams::default().labels("app=fg")).await.unwrap().items.is_empty()
    })
    .await;

    let orphaned = deployments.get("orphan").await.unwrap();
    kubectl.ok(&["delete", "deployment/orphan", "--cascade=orphan", "--timeout=50s"]).await;
    assert!(deployments.get_opt("orphan").await.unwrap().is_none());
    // A ReplicaSet that names the deleted Deployment as its owner, made after the orphaning: once the
    // collector has deleted it, it has also acted on the orphaned ReplicaSet's update, seen before it.
    let sentinel: ReplicaSet = serde_json::from_value(json!({
        "metadata": {"name": "sentinel", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
            "name": "orphan", "uid": orphaned.uid().unwrap(), "controller": true}]},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "sentinel"}},
                 "template": {"metadata": {"labels": {"app": "sentinel"}},
                              "spec": {"containers": [{"name": "app", "image": "/w/app.wasm"}]}}},
    }))
    .unwrap();
    sets.create(&PostParams::default(), &sentinel).await.unwrap();
    eventually("the collector to delete the sentinel", PATIENCE, || async {
        sets.get_opt("sentinel").await.unwrap().is_none()
    })
    .await;
    let left = sets.list(&ListParams::default().labels("app=orphan")).await.unwrap().items;
    assert_eq!(left.len(), 1, "orphan: the ReplicaSet stays");
    assert!(left[0].owner_references().is_empty(), "and has no owner");
    assert_eq!(pods_with(&client, "app=orphan").await.len(), 2, "with its pods");

    controllers.shutdown().await;
}
