//! Create, read, update, patch and delete through kube-rs, with the status codes and reasons clients rely on.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use tests::TestServer;

fn api_error(e: kube::Error) -> (u16, String) {
    match e {
        kube::Error::Api(status) => (status.code, status.reason.clone()),
        other => panic!("expected an API error, got {other}"),
    }
}

fn config_map(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}, "data": {"k": "v"}})).unwrap()
}

fn deployment(name: &str, image: &str) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "web", "image": image,
                                                        "env": [{"name": "A", "value": "1"}]}]}}},
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn create_get_replace_delete_with_kubernetes_errors() {
    let server = TestServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let pp = PostParams::default();

    let created = cms.create(&pp, &config_map("one", json!({"app": "a"}))).await.unwrap();
    let meta = &created.metadata;
    assert!(meta.uid.as_deref().is_some_and(|u| u.len() == 36));
    assert!(meta.creation_timestamp.is_some());
    let rv1: u64 = meta.resource_version.as_deref().unwrap().parse().unwrap();

    assert_eq!(
        api_error(cms.create(&pp, &config_map("one", json!({}))).await.unwrap_err()),
        (409, "AlreadyExists".into())
    );

    let mut changed = created.clone();
    changed.data = Some([("k".to_owned(), "w".to_owned())].into());
    let replaced = cms.replace("one", &pp, &changed).await.unwrap();
    let rv2: u64 = replaced.metadata.resource_version.as_deref().unwrap().parse().unwrap();
    assert!(rv2 > rv1);
    assert_eq!(replaced.metadata.uid, created.metadata.uid);

    // The first version's resourceVersion is stale now.
    assert_eq!(api_error(cms.replace("one", &pp, &changed).await.unwrap_err()), (409, "Conflict".into()));

    let got = cms.get("one").await.unwrap();
    assert_eq!(got.data.unwrap()["k"], "w");

    let deleted = cms.delete("one", &DeleteParams::default()).await.unwrap();
    assert!(deleted.left().is_some_and(|cm| cm.metadata.name.as_deref() == Some("one")));
    assert_eq!(api_error(cms.get("one").await.unwrap_err()), (404, "NotFound".into()));
    assert!(cms.get_opt("one").await.unwrap().is_none());
    assert_eq!(
        api_error(cms.delete("one", &DeleteParams::default()).await.unwrap_err()),
        (404, "NotFound".into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_name_defaults_and_secret_string_data() {
    let server = TestServer::start().await;
    let client = server.client();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"generateName": "web-"},
        "spec": {"containers": [{"name": "web", "image": "/opt/web.wasm", "ports": [{"containerPort": 8080}]}]},
    }))
    .unwrap();
    let pod = pods.create(&PostParams::default(), &pod).await.unwrap();
    let name = pod.metadata.name.unwrap();
    assert!(name.starts_with("web-") && name.len() == 9, "{name}");
    let spec = pod.spec.unwrap();
    assert_eq!(spec.restart_policy.as_deref(), Some("Always"));
    assert_eq!(spec.containers[0].ports.as_ref().unwrap()[0].protocol.as_deref(), Some("TCP"));
    assert_eq!(pod.status.unwrap().phase.as_deref(), Some("Pending"));

    let secrets: Api<Secret> = Api::namespaced(client, "default");
    let secret: Secret =
        serde_json::from_value(json!({"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}))
            .unwrap();
    let secret = secrets.create(&PostParams::default(), &secret).await.unwrap();
    assert!(secret.string_data.is_none());
    assert_eq!(secret.data.unwrap()["password"].0, b"hunter2");
    assert_eq!(secret.type_.as_deref(), Some("Opaque"));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_patch_type() {
    let server = TestServer::start().await;
    let deploys: Api<Deployment> = Api::namespaced(server.client(), "default");
    deploys.create(&PostParams::default(), &deployment("web", "/opt/v1.wasm")).await.unwrap();
    let pp = PatchParams::default();

    // Merge patch: labels and null removal.
    deploys
        .patch("web", &pp, &Patch::Merge(json!({"metadata": {"labels": {"tier": "front", "x": "y"}}})))
        .await
        .unwrap();
    let d =
        deploys.patch("web", &pp, &Patch::Merge(json!({"metadata": {"labels": {"x": null}}}))).await.unwrap();
    assert_eq!(
        d.metadata.labels.unwrap().into_iter().collect::<Vec<_>>(),
        vec![("tier".into(), "front".into())]
    );

    // Strategic merge: containers merge by name, env by name, in the order kubectl asks for.
    let d = deploys
        .patch(
            "web",
            &pp,
            &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "/opt/v2.wasm", "$setElementOrder/env": [{"name": "A"}, {"name": "B"}],
             "env": [{"name": "B", "value": "2"}]}]}}}})),
        )
        .await
        .unwrap();
    let container = &d.spec.template.spec.as_ref().unwrap().containers[0];
    assert_eq!(container.image.as_deref(), Some("/opt/v2.wasm"));
    let env: Vec<_> = container.env.as_ref().unwrap().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(env, vec!["A", "B"]);

    // JSON patch, as `kubectl rollout undo` sends it.
    let d = deploys
        .patch(
            "web",
            &pp,
            &Patch::Json::<()>(
                serde_json::from_value(json!([
            {"op": "replace", "path": "/spec/replicas", "value": 5}]))
                .unwrap(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(d.spec.replicas, Some(5));

    // Server-side apply creates a missing object, then merges into it.
    let apply = PatchParams::apply("test").force();
    let mut other = serde_json::to_value(deployment("api", "/opt/api.wasm")).unwrap();
    other["apiVersion"] = json!("apps/v1");
    other["kind"] = json!("Deployment");
    let created = deploys.patch("api", &apply, &Patch::Apply(&other)).await.unwrap();
    assert_eq!(created.spec.replicas, Some(2));
    other["spec"]["replicas"] = json!(4);
    let updated = deploys.patch("api", &apply, &Patch::Apply(&other)).await.unwrap();
    assert_eq!(updated.spec.replicas, Some(4));
    assert_eq!(updated.metadata.uid, created.metadata.uid);

    // A patch carrying a stale resourceVersion is a conflict.
    let stale = json!({"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 1}});
    assert_eq!(
        api_error(deploys.patch("web", &pp, &Patch::Merge(stale)).await.unwrap_err()),
        (409, "Conflict".into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn generation_scale_and_status_subresources() {
    let server = TestServer::start().await;
    let deploys: Api<Deployment> = Api::namespaced(server.client(), "default");
    let d = deploys.create(&PostParams::default(), &deployment("web", "/opt/v1.wasm")).await.unwrap();
    assert_eq!(d.metadata.generation, Some(1));
    let spec = d.spec;
    assert_eq!(spec.revision_history_limit, Some(10));
    assert_eq!(spec.strategy.unwrap().type_.as_deref(), Some("RollingUpdate"));

    // Metadata changes keep the generation; spec changes bump it.
    let pp = PatchParams::default();
    let d =
        deploys.patch("web", &pp, &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}}))).await.unwrap();
    assert_eq!(d.metadata.generation, Some(1));

    let scale = deploys.get_scale("web").await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(2));
    assert_eq!(scale.status.unwrap().selector.as_deref(), Some("app=web"));
    let scale =
        deploys.patch_scale("web", &pp, &Patch::Merge(json!({"spec": {"replicas": 3}}))).await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(3));
    let d = deploys.get("web").await.unwrap();
    assert_eq!((d.metadata.generation, d.spec.replicas), (Some(2), Some(3)));

    // Status writes go through /status only, and do not bump the generation.
    let d = deploys
        .patch_status("web", &pp, &Patch::Merge(json!({"status": {"observedGeneration": 2, "replicas": 3}})))
        .await
        .unwrap();
    assert_eq!(d.metadata.generation, Some(2));
    assert_eq!(d.status.unwrap().replicas, Some(3));
    let d = deploys.patch("web", &pp, &Patch::Merge(json!({"status": {"replicas": 9}}))).await.unwrap();
    assert_eq!(d.status.unwrap().replicas, Some(3), "the main resource ignores status");

    // Negative replicas through /scale are invalid.
    let err =
        deploys.patch_scale("web", &pp, &Patch::Merge(json!({"spec": {"replicas": -1}}))).await.unwrap_err();
    assert_eq!(api_error(err), (422, "Invalid".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn selectors_and_paging() {
    let server = TestServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    for (name, tier) in [("a", "front"), ("b", "back"), ("c", "front"), ("d", "cache"), ("e", "front")] {
        cms.create(&PostParams::default(), &config_map(name, json!({"tier": tier, "app": "shop"})))
            .await
            .unwrap();
    }
    let names = |list: kube::core::ObjectList<ConfigMap>| {
        list.items.into_iter().map(|c| c.metadata.name.unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(names(cms.list(&ListParams::default().labels("tier=front")).await.unwrap()), ["a", "c", "e"]);
    assert_eq!(
        names(cms.list(&ListParams::default().labels("tier in (back,cache)")).await.unwrap()),
        ["b", "d"]
    );
    assert_eq!(names(cms.list(&ListParams::default().labels("tier!=front,app")).await.unwrap()), ["b", "d"]);
    assert_eq!(names(cms.list(&ListParams::default().labels("!app")).await.unwrap()), Vec::<String>::new());
    assert_eq!(names(cms.list(&ListParams::default().fields("metadata.name=d")).await.unwrap()), ["d"]);
    let err = cms.list(&ListParams::default().fields("spec.nodeName=x")).await.unwrap_err();
    assert_eq!(api_error(err), (400, "BadRequest".into()));
    let err = cms.list(&ListParams::default().labels("tier in (")).await.unwrap_err();
    assert_eq!(api_error(err), (400, "BadRequest".into()));

    let first = cms.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(first.metadata.remaining_item_count, Some(3));
    let token = first.metadata.continue_.clone().unwrap();
    let second = cms.list(&ListParams::default().limit(2).continue_token(&token)).await.unwrap();
    let third = cms
        .list(&ListParams::default().limit(2).continue_token(second.metadata.continue_.as_deref().unwrap()))
        .await
        .unwrap();
    assert!(third.metadata.continue_.is_none());
    let all: Vec<String> = [first, second, third].into_iter().flat_map(names).collect();
    assert_eq!(all, ["a", "b", "c", "d", "e"]);

    // kube-rs' watcher pages through lists by itself; the default list in another namespace is empty.
    let other: Api<ConfigMap> = Api::namespaced(server.client(), "kube-system");
    assert!(other.list(&ListParams::default()).await.unwrap().items.is_empty());
    let everywhere: Api<ConfigMap> = Api::all(server.client());
    assert_eq!(everywhere.list(&ListParams::default()).await.unwrap().items.len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_strict_validation_and_finalizers() {
    let server = TestServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let dry = PostParams { dry_run: true, ..PostParams::default() };
    let cm = cms.create(&dry, &config_map("dry", json!({}))).await.unwrap();
    assert_eq!(cm.metadata.name.as_deref(), Some("dry"));
    assert!(cms.get_opt("dry").await.unwrap().is_none(), "a dry run stores nothing");

    // Unknown fields: rejected under Strict, dropped otherwise.
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "colour": "red"});
    let client = server.client();
    let (code, status) = tests::raw(
        &client,
        "POST",
        "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
        "application/json",
        body.to_string(),
    )
    .await;
    assert_eq!((code, status["reason"].as_str()), (400, Some("BadRequest")));
    assert!(status["message"].as_str().unwrap().contains(r#"unknown field "colour""#), "{status}");
    assert!(cms.get_opt("x").await.unwrap().is_none());
    let (code, stored) = tests::raw(
        &client,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        "application/json",
        body.to_string(),
    )
    .await;
    assert_eq!(code, 201);
    assert!(stored.get("colour").is_none());

    // An object with a finalizer is only marked for deletion until the finalizer goes.
    let mut guarded = config_map("guarded", json!({}));
    guarded.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    cms.create(&PostParams::default(), &guarded).await.unwrap();
    cms.delete("guarded", &DeleteParams::default()).await.unwrap();
    let marked = cms.get("guarded").await.unwrap();
    assert!(marked.metadata.deletion_timestamp.is_some());
    cms.patch("guarded", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}})))
        .await
        .unwrap();
    assert!(cms.get_opt("guarded").await.unwrap().is_none());

    // Foreground deletion records its finalizer for the garbage collector.
    cms.create(&PostParams::default(), &config_map("owner", json!({}))).await.unwrap();
    cms.delete("owner", &DeleteParams::foreground()).await.unwrap();
    let owner = cms.get("owner").await.unwrap();
    assert_eq!(owner.metadata.finalizers, Some(vec!["foregroundDeletion".to_owned()]));
}

#[tokio::test(flavor = "multi_thread")]
async fn binding_and_graceful_pod_deletion() {
    let server = TestServer::start().await;
    let client = server.client();
    let nodes: Api<Node> = Api::all(client.clone());
    nodes
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "n1"}})).unwrap())
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "/opt/c.wasm"}]}}))
    .unwrap();
    let created = pods.create(&PostParams::default(), &pod).await.unwrap();

    // A binding decided for another pod of the same name is refused.
    let stale = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p", "uid": "not-this-pod"},
                       "target": {"kind": "Node", "name": "n1"}});
    let bind = |body: serde_json::Value| {
        let client = client.clone();
        async move {
            tests::raw(
                &client,
                "POST",
                "/api/v1/namespaces/default/pods/p/binding",
                "application/json",
                body.to_string(),
            )
            .await
        }
    };
    let (code, status) = bind(stale).await;
    assert_eq!((code, status["reason"].as_str()), (409, Some("Conflict")), "{status}");

    let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p", "uid": created.metadata.uid},
                         "target": {"kind": "Node", "name": "n1"}});
    let (code, _) = tests::raw(
        &client,
        "POST",
        "/api/v1/namespaces/default/pods/p/binding",
        "application/json",
        binding.to_string(),
    )
    .await;
    assert_eq!(code, 201);
    let bound = pods.get("p").await.unwrap();
    assert_eq!(bound.spec.unwrap().node_name.as_deref(), Some("n1"));
    let scheduled = bound.status.unwrap().conditions.unwrap();
    assert!(scheduled.iter().any(|c| c.type_ == "PodScheduled" && c.status == "True"));
    let (code, status) = tests::raw(
        &client,
        "POST",
        "/api/v1/namespaces/default/pods/p/binding",
        "application/json",
        binding.to_string(),
    )
    .await;
    assert_eq!((code, status["reason"].as_str()), (409, Some("Conflict")));

    // A bound pod terminates gracefully: the node agent removes it with a zero grace period.
    pods.delete("p", &DeleteParams::default()).await.unwrap();
    let terminating = pods.get("p").await.unwrap();
    assert_eq!(terminating.metadata.deletion_grace_period_seconds, Some(30));
    pods.delete("p", &DeleteParams { grace_period_seconds: Some(0), ..DeleteParams::default() })
        .await
        .unwrap();
    assert!(pods.get_opt("p").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_collection_by_label() {
    let server = TestServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    for (name, app) in [("a", "web"), ("b", "web"), ("c", "db")] {
        cms.create(&PostParams::default(), &config_map(name, json!({"app": app}))).await.unwrap();
    }
    let deleted = cms
        .delete_collection(&DeleteParams::default(), &ListParams::default().labels("app=web"))
        .await
        .unwrap();
    let names: Vec<String> =
        deleted.left().unwrap().items.into_iter().map(|c| c.metadata.name.unwrap()).collect();
    assert_eq!(names, ["a", "b"]);
    let left: Vec<String> = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.metadata.name.unwrap())
        .collect();
    assert_eq!(left, ["c"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn priority_classes_resolve_into_pod_priority() {
    use k8s_openapi::api::scheduling::v1::PriorityClass;
    let server = TestServer::start().await;
    let client = server.client();
    let classes: Api<PriorityClass> = Api::all(client.clone());
    let high = serde_json::from_value(
        json!({"metadata": {"name": "high"}, "value": 1000, "preemptionPolicy": "Never"}),
    )
    .unwrap();
    classes.create(&PostParams::default(), &high).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let pod = |name: &str, class: Option<&str>| -> Pod {
        serde_json::from_value(json!({"metadata": {"name": name},
            "spec": {"priorityClassName": class, "containers": [{"name": "c", "image": "/opt/c.wasm"}]}}))
        .unwrap()
    };
    let spec = pods.create(&PostParams::default(), &pod("a", Some("high"))).await.unwrap().spec.unwrap();
    assert_eq!((spec.priority, spec.preemption_policy.as_deref()), (Some(1000), Some("Never")));
    let spec = pods
        .create(&PostParams::default(), &pod("b", Some("system-node-critical")))
        .await
        .unwrap()
        .spec
        .unwrap();
    assert_eq!(spec.priority, Some(2_000_001_000));
    let spec = pods.create(&PostParams::default(), &pod("c", None)).await.unwrap().spec.unwrap();
    assert_eq!(spec.priority, Some(0));
    let err = pods.create(&PostParams::default(), &pod("d", Some("nope"))).await.unwrap_err();
    assert_eq!(api_error(err), (403, "Forbidden".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pod_with_a_finalizer_goes_when_both_its_agent_and_its_finalizer_are_done() {
    let server = TestServer::start().await;
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    let pod: Pod =
        serde_json::from_value(json!({"metadata": {"name": "p", "finalizers": ["example.com/hold"]},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "/opt/c.wasm"}]}}))
        .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    pods.delete("p", &DeleteParams::default()).await.unwrap();
    // The node agent's final delete leaves the pod to its finalizer...
    pods.delete("p", &DeleteParams { grace_period_seconds: Some(0), ..DeleteParams::default() })
        .await
        .unwrap();
    let held = pods.get("p").await.unwrap();
    assert_eq!(held.metadata.deletion_grace_period_seconds, Some(0));
    // ...and clearing the finalizer removes it.
    pods.patch("p", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}})))
        .await
        .unwrap();
    assert!(pods.get_opt("p").await.unwrap().is_none());
}

#[tokio::test]
async fn metadata_only_requests_get_partial_object_metadata() {
    use futures::StreamExt;
    use http_body_util::BodyExt;
    use kube::core::PartialObjectMeta;
    use kube::runtime::watcher;

    let server = TestServer::start().await;
    let client = server.client();
    let maps: Api<ConfigMap> = Api::default_namespaced(client.clone());
    maps.create(&PostParams::default(), &config_map("meta", json!({"app": "meta"}))).await.unwrap();

    // What kube-rs asks for with `Api<PartialObjectMeta<K>>` (and client-go's metadata client).
    let accept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";
    let request = http::Request::builder()
        .uri("/api/v1/namespaces/default/configmaps/meta")
        .header(http::header::ACCEPT, accept)
        .body(kube::client::Body::empty())
        .unwrap();
    let response = client.send(request).await.unwrap();
    let body: serde_json::Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["kind"], "PartialObjectMetadata");
    assert_eq!(body["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(body["metadata"]["labels"]["app"], "meta");
    assert!(body.get("data").is_none(), "only the metadata: {body}");

    let metas: Api<PartialObjectMeta<ConfigMap>> = Api::default_namespaced(client.clone());
    let one = metas.get("meta").await.unwrap();
    assert_eq!(one.types.as_ref().map(|t| t.kind.as_str()), Some("PartialObjectMetadata"));
    let list = metas.list(&ListParams::default().labels("app=meta")).await.unwrap();
    assert_eq!(list.items.len(), 1);
    assert!(list.metadata.resource_version.is_some());

    // A metadata watch sees the change, reduced to metadata too.
    let mut events = watcher(metas, watcher::Config::default().labels("app=meta")).boxed();
    maps.patch(
        "meta",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"seen": "yes"}}})),
    )
    .await
    .unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let event =
            tokio::time::timeout_at(deadline, events.next()).await.expect("an event").unwrap().unwrap();
        if let watcher::Event::Apply(meta) | watcher::Event::InitApply(meta) = event
            && meta.metadata.labels.as_ref().is_some_and(|l| l.contains_key("seen"))
        {
            assert_eq!(meta.types.map(|t| t.kind), Some("PartialObjectMetadata".to_owned()));
            break;
        }
    }
}
