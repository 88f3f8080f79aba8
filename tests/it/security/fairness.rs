//! Fair sharing: one user's watches are capped, and the cap answers 429 with `Retry-After` without touching
//! anyone else's.

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::WatchParams;
use tests::TestServer;

#[tokio::test]
async fn a_user_over_its_watch_limit_gets_429_and_others_are_untouched() {
    let server = TestServer::start_with(|c| c.fairness.max_watches_per_user = 2).await;
    let flood: Api<ConfigMap> = Api::namespaced(server.client_as("flood", &["system:masters"]), "default");
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut stream = flood.watch(&WatchParams::default().timeout(290), "0").await.unwrap().boxed();
        // The first event (or the open stream) shows the watch is being served.
        let _ = tokio::time::timeout(std::time::Duration::from_millis(200), stream.next()).await;
        open.push(stream);
    }
    let request = http::Request::get("/api/v1/namespaces/default/configmaps?watch=true")
        .body(kube::client::Body::empty())
        .unwrap();
    let refused = server.client_as("flood", &["system:masters"]).send(request).await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));

    let calm: Api<ConfigMap> = Api::namespaced(server.client_as("calm", &["system:masters"]), "default");
    let _served = calm.watch(&WatchParams::default().timeout(5), "0").await.unwrap();
    calm.list(&Default::default()).await.unwrap();
    drop(open);
}
