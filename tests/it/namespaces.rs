//! Namespaces: required for namespaced objects, and deleted with their contents.

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, PostParams};
use serde_json::json;
use tests::TestServer;

fn reason(e: kube::Error) -> (u16, String) {
    match e {
        kube::Error::Api(s) => (s.code, s.reason.clone()),
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn namespace_lifecycle() {
    let server = TestServer::start().await;
    let client = server.client();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for system in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(namespaces.get_opt(system).await.unwrap().is_some(), "{system} exists");
    }
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "c"}})).unwrap();
    let demo: Api<ConfigMap> = Api::namespaced(client.clone(), "demo");
    assert_eq!(reason(demo.create(&PostParams::default(), &cm).await.unwrap_err()), (404, "NotFound".into()));

    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "demo"}})).unwrap();
    let ns = namespaces.create(&PostParams::default(), &ns).await.unwrap();
    assert_eq!(ns.status.unwrap().phase.as_deref(), Some("Active"));
    assert_eq!(ns.metadata.labels.unwrap()["kubernetes.io/metadata.name"], "demo");
    demo.create(&PostParams::default(), &cm).await.unwrap();
    // A finalizer on the content holds the namespace in Terminating until it is released.
    let held: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}))
            .unwrap();
    demo.create(&PostParams::default(), &held).await.unwrap();

    let deleted = namespaces.delete("demo", &Default::default()).await.unwrap();
    let deleted = deleted.left().expect("the namespace, terminating");
    assert_eq!(deleted.status.unwrap().phase.as_deref(), Some("Terminating"));
    let more: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "d"}})).unwrap();
    assert_eq!(
        reason(demo.create(&PostParams::default(), &more).await.unwrap_err()),
        (403, "Forbidden".into())
    );

    // The finalizer task deletes the plain content; the held object waits for its finalizer.
    let emptied = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let plain_gone = demo.get_opt("c").await.unwrap().is_none();
            let held_marked = demo.get("held").await.unwrap().metadata.deletion_timestamp.is_some();
            if plain_gone && held_marked {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(emptied.is_ok(), "the namespace's contents were not deleted");
    assert!(namespaces.get_opt("demo").await.unwrap().is_some(), "the namespace waits for its contents");
    let release = json!({"metadata": {"finalizers": null}});
    tests::merge(&demo, "held", release).await.unwrap();

    let gone = tokio::time::timeout(Duration::from_secs(10), async {
        while namespaces.get_opt("demo").await.unwrap().is_some() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(gone.is_ok(), "the namespace was not removed");
    let all: Api<ConfigMap> = Api::all(client);
    assert!(all.list(&Default::default()).await.unwrap().items.is_empty(), "its contents were deleted");
}
