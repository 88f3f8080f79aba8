//! `pods/{name}/log` through the API server: container choice and errors here, the proxying to the node agent
//! that publishes its endpoint in its Node object (an agent double that records what it was asked).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, RawQuery};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, PostParams};
use serde_json::json;
use tests::TestServer;

/// Starts a stand-in node agent that serves three log lines slowly and records each request.
async fn agent(requests: Arc<Mutex<Vec<String>>>) -> u16 {
    let app = axum::Router::new().route(
        "/containerLogs/{ns}/{pod}/{container}",
        axum::routing::get(
            move |Path((ns, pod, container)): Path<(String, String, String)>, RawQuery(q): RawQuery| {
                requests.lock().unwrap().push(format!("{ns}/{pod}/{container}?{}", q.unwrap_or_default()));
                async move {
                    let lines =
                        futures::stream::iter(["one\n", "two\n", "three\n"]).then(|line| async move {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            Ok::<_, std::convert::Infallible>(bytes::Bytes::from(line))
                        });
                    axum::body::Body::from_stream(lines)
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_logs_are_proxied_to_the_pods_node_agent() {
    let server = TestServer::start().await;
    let client = server.client();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let port = agent(requests.clone()).await;
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({"metadata": {"name": "n1"}})).unwrap();
    nodes.create(&PostParams::default(), &node).await.unwrap();
    let status = json!({"status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                                   "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}});
    tests::merge_status(&nodes, "n1", status).await.unwrap();

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": {"nodeName": "n1",
        "containers": [{"name": "web", "image": "/opt/web.wasm"}, {"name": "side", "image": "/opt/side.wasm"}]}}))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();

    let kubectl = server.kubectl();
    let out = kubectl.ok(&["logs", "web", "-c", "side", "--tail=2", "--timestamps"]).await;
    assert_eq!(out, "one\ntwo\nthree\n");
    let out = kubectl.ok(&["logs", "-f", "web", "-c", "web"]).await;
    assert_eq!(out, "one\ntwo\nthree\n", "logs -f ends when the agent ends the stream");
    let seen = requests.lock().unwrap().clone();
    assert_eq!(seen[0], "default/web/side?timestamps=true&tailLines=2");
    assert_eq!(seen[1], "default/web/web?follow=true");

    let (code, status) =
        tests::raw(&client, "GET", "/api/v1/namespaces/default/pods/web/log?container=nope", "", "").await;
    assert_eq!(code, 400);
    assert_eq!(status["message"], r#"container "nope" is not valid for pod "web""#);
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_of_unscheduled_pods_and_unreachable_agents_are_clear_errors() {
    let server = TestServer::start().await;
    let client = server.client();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "pending"},
        "spec": {"containers": [{"name": "c", "image": "/opt/c.wasm"}]}}))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let (code, status) =
        tests::raw(&client, "GET", "/api/v1/namespaces/default/pods/pending/log", "", "").await;
    assert_eq!(
        (code, status["message"].as_str()),
        (400, Some("pod \"pending\" does not have a host assigned"))
    );

    let mut bound = pod.clone();
    bound.metadata.name = Some("bound".into());
    bound.spec.as_mut().unwrap().node_name = Some("gone".into());
    pods.create(&PostParams::default(), &bound).await.unwrap();
    let (code, status) =
        tests::raw(&client, "GET", "/api/v1/namespaces/default/pods/bound/log", "", "").await;
    assert_eq!((code, status["reason"].as_str()), (500, Some("InternalError")), "{status}");
    assert!(status["message"].as_str().unwrap().contains("node \"gone\""), "{status}");
}
