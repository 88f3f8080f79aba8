//! Watches: resume, 410 and relist, selectors, WatchList, through kube-rs' raw watch and its runtime watcher.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams, WatchEvent, WatchParams};
use kube::runtime::watcher;
use serde_json::json;
use tests::TestServer;

fn cm(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap()
}

async fn next<S: futures::Stream + Unpin>(stream: &mut S) -> S::Item {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("event in time")
        .expect("stream open")
}

/// The names a kube-rs watcher reports in its initial list, up to `InitDone`.
async fn initial_names<S>(events: &mut S) -> Vec<String>
where
    S: futures::Stream<Item = Result<watcher::Event<ConfigMap>, watcher::Error>> + Unpin,
{
    let mut seen = Vec::new();
    loop {
        let event =
            tokio::time::timeout(Duration::from_secs(10), events.try_next()).await.unwrap().unwrap().unwrap();
        match event {
            watcher::Event::InitApply(o) => seen.push(o.metadata.name.unwrap()),
            watcher::Event::InitDone => return seen,
            _ => {}
        }
    }
}

fn name_of(event: &WatchEvent<ConfigMap>) -> (&'static str, String) {
    match event {
        WatchEvent::Added(o) => ("ADDED", o.metadata.name.clone().unwrap()),
        WatchEvent::Modified(o) => ("MODIFIED", o.metadata.name.clone().unwrap()),
        WatchEvent::Deleted(o) => ("DELETED", o.metadata.name.clone().unwrap()),
        WatchEvent::Bookmark(_) => ("BOOKMARK", String::new()),
        WatchEvent::Error(e) => ("ERROR", e.message.clone()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn resumes_from_a_resource_version_and_sees_live_events() {
    let server = TestServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let pp = PostParams::default();
    let first = cms.create(&pp, &cm("a", json!({}))).await.unwrap();
    cms.create(&pp, &cm("b", json!({}))).await.unwrap();
    let rv = first.metadata.resource_version.unwrap();

    // From a's resourceVersion: b's creation is replayed, then live events follow.
    let mut stream = cms.watch(&WatchParams::default().timeout(20), &rv).await.unwrap().boxed();
    assert_eq!(name_of(&next(&mut stream).await.unwrap()), ("ADDED", "b".into()));
    cms.delete("a", &Default::default()).await.unwrap();
    assert_eq!(name_of(&next(&mut stream).await.unwrap()), ("DELETED", "a".into()));

    // From "0": synthetic ADDED for what exists.
    let mut stream = cms.watch(&WatchParams::default().timeout(20), "0").await.unwrap().boxed();
    assert_eq!(name_of(&next(&mut stream).await.unwrap()), ("ADDED", "b".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn label_selected_watch_reports_objects_leaving_the_selection_as_deleted() {
    let server = TestServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let list = cms.list(&Default::default()).await.unwrap();
    let rv = list.metadata.resource_version.unwrap();
    let mut stream =
        cms.watch(&WatchParams::default().labels("app=web").timeout(20), &rv).await.unwrap().boxed();
    cms.create(&PostParams::default(), &cm("other", json!({"app": "db"}))).await.unwrap();
    cms.create(&PostParams::default(), &cm("web", json!({"app": "web"}))).await.unwrap();
    assert_eq!(name_of(&next(&mut stream).await.unwrap()), ("ADDED", "web".into()));
    let relabel = json!({"metadata": {"labels": {"app": "db"}}});
    tests::merge(&cms, "web", relabel).await.unwrap();
    assert_eq!(name_of(&next(&mut stream).await.unwrap()), ("DELETED", "web".into()));
    let relabel = json!({"metadata": {"labels": {"app": "web"}}});
    tests::merge(&cms, "other", relabel).await.unwrap();
    assert_eq!(name_of(&next(&mut stream).await.unwrap()), ("ADDED", "other".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_resource_version_gets_410_and_the_watcher_relists() {
    let server = TestServer::start_with(|c| c.store.history_events = 4).await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let first = cms.create(&PostParams::default(), &cm("c0", json!({}))).await.unwrap();
    for i in 1..10 {
        cms.create(&PostParams::default(), &cm(&format!("c{i}"), json!({}))).await.unwrap();
    }
    let old = first.metadata.resource_version.unwrap();
    let mut stream = cms.watch(&WatchParams::default().timeout(5), &old).await.unwrap().boxed();
    match next(&mut stream).await.unwrap() {
        WatchEvent::Error(status) => assert_eq!((status.code, status.reason.as_str()), (410, "Expired")),
        other => panic!("expected 410, got {:?}", name_of(&other)),
    }

    // kube-rs' watcher lists, then watches; it sees every object.
    let mut events = watcher(cms.clone(), watcher::Config::default()).boxed();
    let seen = initial_names(&mut events).await;
    assert_eq!(seen.len(), 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_list_streams_initial_events_then_the_bookmark() {
    let server = TestServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    for name in ["x", "y"] {
        cms.create(&PostParams::default(), &cm(name, json!({}))).await.unwrap();
    }
    let mut events = watcher(cms.clone(), watcher::Config::default().streaming_lists()).boxed();
    let seen = initial_names(&mut events).await;
    assert_eq!(seen, ["x", "y"]);
    cms.create(&PostParams::default(), &cm("z", json!({}))).await.unwrap();
    match tokio::time::timeout(Duration::from_secs(10), events.try_next()).await.unwrap().unwrap().unwrap() {
        watcher::Event::Apply(o) => assert_eq!(o.metadata.name.as_deref(), Some("z")),
        _ => panic!("expected the new object"),
    }

    // WatchList without resourceVersionMatch=NotOlderThan is refused, as in Kubernetes.
    let (code, status) = tests::raw(
        &server.client(),
        "GET",
        "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true",
        "",
        "",
    )
    .await;
    assert_eq!((code, status["reason"].as_str()), (422, Some("Invalid")));
}

#[tokio::test(flavor = "multi_thread")]
async fn bookmarks_and_timeouts() {
    let server = TestServer::start_with(|c| c.http.bookmark_interval = Duration::from_millis(200)).await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let created = cms.create(&PostParams::default(), &cm("a", json!({}))).await.unwrap();
    let rv = created.metadata.resource_version.unwrap();
    let mut stream = cms
        .watch(&WatchParams { bookmarks: true, ..WatchParams::default() }.timeout(1), &rv)
        .await
        .unwrap()
        .boxed();
    match next(&mut stream).await.unwrap() {
        WatchEvent::Bookmark(b) => assert_eq!(b.metadata.resource_version, rv),
        other => panic!("expected a bookmark, got {:?}", name_of(&other)),
    }
    // timeoutSeconds=1 ends the stream.
    let ended =
        tokio::time::timeout(Duration::from_secs(5), async { while stream.next().await.is_some() {} }).await;
    assert!(ended.is_ok(), "the watch outlived its timeoutSeconds");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watcher_that_does_not_read_is_dropped_without_slowing_writers() {
    let server = TestServer::start_with(|c| c.store.watcher_buffer = 16).await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let rv = cms.list(&Default::default()).await.unwrap().metadata.resource_version.unwrap();
    // Open a watch and do not read it while 1,000 large objects (10 MB) are written.
    let mut stalled = cms.watch(&WatchParams::default().timeout(60), &rv).await.unwrap().boxed();
    let blob = "x".repeat(10_000);
    let mut writers = Vec::new();
    for w in 0..8 {
        let (cms, blob) = (cms.clone(), blob.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..125 {
                let cm: ConfigMap = serde_json::from_value(
                    json!({"metadata": {"name": format!("big-{w}-{i}")}, "data": {"blob": blob}}),
                )
                .unwrap();
                cms.create(&PostParams::default(), &cm).await.unwrap();
            }
        }));
    }
    for writer in writers {
        tokio::time::timeout(Duration::from_secs(60), writer).await.expect("writes are not held up").unwrap();
    }
    // The stalled watcher fell behind: its stream ends early instead of holding 1,000 events for it.
    let mut received = 0;
    let drained = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(event) = stalled.next().await {
            if event.is_ok() {
                received += 1;
            }
        }
    })
    .await;
    assert!(drained.is_ok(), "the lagging watch was not closed");
    assert!(received < 1000, "the lagging watch received all {received} events");
}
