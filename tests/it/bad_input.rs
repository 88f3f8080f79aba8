//! Bad requests get the right Status and change nothing.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use tests::{TestServer, raw};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

/// The store's resource version: unchanged means nothing was written.
async fn revision(client: &kube::Client) -> String {
    let (_, list) = raw(client, "GET", "/api/v1/namespaces", "", "").await;
    list["metadata"]["resourceVersion"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_bad_input_gets_its_status_and_stores_nothing() {
    let server = TestServer::start().await;
    let client = server.client();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "keep"}})).unwrap(),
    )
    .await
    .unwrap();
    let big =
        json!({"metadata": {"name": "big"}, "data": {"blob": "x".repeat(3 * 1024 * 1024 + 1)}}).to_string();
    let cases: Vec<(&str, String, &str, String, u16, &str)> = vec![
        (
            "malformed JSON",
            "POST".into(),
            "application/json",
            r#"{"metadata": {"name": "#.into(),
            400,
            "BadRequest",
        ),
        ("malformed YAML", "POST".into(), "application/yaml", "metadata: [name: x".into(), 400, "BadRequest"),
        ("not an object", "POST".into(), "application/json", "[1, 2]".into(), 400, "BadRequest"),
        (
            "kind differs from the URL",
            "POST".into(),
            "application/json",
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}).to_string(),
            400,
            "BadRequest",
        ),
        (
            "apiVersion differs from the URL",
            "POST".into(),
            "application/json",
            json!({"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "x"}}).to_string(),
            400,
            "BadRequest",
        ),
        (
            "invalid name",
            "POST".into(),
            "application/json",
            json!({"metadata": {"name": "Not_Valid"}}).to_string(),
            422,
            "Invalid",
        ),
        (
            "invalid label",
            "POST".into(),
            "application/json",
            json!({"metadata": {"name": "x", "labels": {"bad key!": "v"}}}).to_string(),
            422,
            "Invalid",
        ),
        ("no name", "POST".into(), "application/json", json!({"metadata": {}}).to_string(), 422, "Invalid"),
        (
            "wrong field type",
            "POST".into(),
            "application/json",
            json!({"metadata": {"name": "x"}, "data": {"k": 5}}).to_string(),
            400,
            "BadRequest",
        ),
        ("body over 3 MiB", "POST".into(), "application/json", big, 413, "RequestEntityTooLarge"),
        ("unsupported body type", "POST".into(), "text/plain", "name: x".into(), 415, "UnsupportedMediaType"),
        (
            "unsupported verb on a collection",
            "PUT".into(),
            "application/json",
            json!({"metadata": {"name": "x"}}).to_string(),
            405,
            "MethodNotAllowed",
        ),
    ];
    let before = revision(&client).await;
    for (what, method, content_type, body, code, reason) in cases {
        let (got, status) = raw(&client, &method, CMS, content_type, body).await;
        assert_eq!((got, status["reason"].as_str()), (code, Some(reason)), "{what}: {status}");
        assert_eq!(status["kind"], "Status", "{what}");
        assert!(status["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}");
    }

    let one = format!("{CMS}/keep");
    let object_cases: Vec<(&str, &str, &str, Value, u16, &str)> = vec![
        (
            "name differs from the URL",
            "PUT",
            "application/json",
            json!({"metadata": {"name": "other"}}),
            400,
            "BadRequest",
        ),
        ("unknown patch type", "PATCH", "application/x-patch", json!({}), 415, "UnsupportedMediaType"),
        (
            "merge patch that is not an object",
            "PATCH",
            "application/merge-patch+json",
            json!([1]),
            400,
            "BadRequest",
        ),
        (
            "JSON patch on a missing path",
            "PATCH",
            "application/json-patch+json",
            json!([{"op": "replace", "path": "/nope/deeper", "value": 1}]),
            422,
            "Invalid",
        ),
        (
            "POST to an object",
            "POST",
            "application/json",
            json!({"metadata": {"name": "keep"}}),
            405,
            "MethodNotAllowed",
        ),
    ];
    for (what, method, content_type, body, code, reason) in object_cases {
        let (got, status) = raw(&client, method, &one, content_type, body.to_string()).await;
        assert_eq!((got, status["reason"].as_str()), (code, Some(reason)), "{what}: {status}");
    }
    let (code, status) = raw(&client, "GET", &format!("{CMS}?labelSelector=a%20in%20(b"), "", "").await;
    assert_eq!((code, status["reason"].as_str()), (400, Some("BadRequest")), "invalid selector");
    let (code, status) = raw(&client, "GET", "/api/v1/widgets", "", "").await;
    assert_eq!((code, status["reason"].as_str()), (404, Some("NotFound")), "unknown resource");

    assert_eq!(revision(&client).await, before, "a bad request changed the store");
    let names: Vec<_> = cms
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.metadata.name.unwrap())
        .collect();
    assert_eq!(names, ["keep"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_objects_report_their_fields() {
    let server = TestServer::start().await;
    let client = server.client();
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": -1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "other"}},
                              "spec": {"containers": [{"name": "web", "image": "/opt/web.wasm"}]}}},
    });
    let (code, status) = raw(
        &client,
        "POST",
        "/apis/apps/v1/namespaces/default/deployments",
        "application/json",
        deployment.to_string(),
    )
    .await;
    assert_eq!(code, 422);
    assert!(
        status["message"].as_str().unwrap().starts_with("Deployment.apps \"web\" is invalid"),
        "{status}"
    );
    let fields: Vec<&str> =
        status["details"]["causes"].as_array().unwrap().iter().filter_map(|c| c["field"].as_str()).collect();
    assert!(fields.contains(&"spec.replicas"), "{fields:?}");
    assert!(fields.contains(&"spec.template.metadata.labels"), "{fields:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_bodies_are_byte_for_byte_kube_apiservers() {
    use http_body_util::BodyExt;
    let server = TestServer::start().await;
    let client = server.client();
    let body = |path: &str, method: &str| {
        let client = client.clone();
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .body(kube::client::Body::from(Vec::new()))
            .unwrap();
        async move {
            let response = client.send(request).await.unwrap();
            String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
        }
    };
    // What kube-apiserver answers, including the empty core group left out and the trailing newline.
    assert_eq!(
        body("/api/v1/namespaces/default/pods/nosuch", "GET").await,
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"pods \\\"nosuch\\\" not found\",\"reason\":\"NotFound\",\"details\":{\"name\":\"nosuch\",\"kind\":\"pods\"},\"code\":404}\n"
    );
    assert_eq!(
        body("/apis/apps/v1/namespaces/default/deployments/nosuch", "GET").await,
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"deployments.apps \\\"nosuch\\\" not found\",\"reason\":\"NotFound\",\"details\":{\"name\":\"nosuch\",\"group\":\"apps\",\"kind\":\"deployments\"},\"code\":404}\n"
    );
}
