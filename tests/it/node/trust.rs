//! Trusted modules: where a node or a namespace requires them, a module runs only when the pod pins it by digest
//! or a trusted key signed it (in the pod's annotation or a `.sig` file beside it); others wait with
//! `SignatureValidationFailed` and an Event before any of their code runs.

use std::path::Path;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::Api;
use kube::api::PostParams;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Cluster, TARGETS, guest, phase, wait_pod, waiting};

fn digest_of(module: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(module).unwrap()))
}

fn pod(name: &str, image: &str, annotations: Value) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": name, "annotations": annotations},
        "spec": {"nodeName": "node-0", "restartPolicy": "Never",
            "containers": [{"name": "main", "image": image}]}}))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn only_pinned_or_signed_modules_run_where_trust_is_required() {
    let keys = tempfile::tempdir().unwrap();
    let (private, public) = host::trust::generate().unwrap();
    std::fs::write(keys.path().join("ci.pub"), &public).unwrap();
    let trusted = keys.path().join("ci.pub");
    let cluster = Cluster::start(1, |c| c.trust = host::trust::Trust::load(&[&trusted], true).unwrap()).await;
    let pods = cluster.pods();

    let hello = guest(TARGETS[0], "hello");
    let digest = digest_of(Path::new(&hello));
    // A copy with a signature file beside it.
    let beside = keys.path().join("hello.wasm");
    std::fs::copy(&hello, &beside).unwrap();
    std::fs::write(keys.path().join("hello.wasm.sig"), host::trust::sign(&private, &digest).unwrap())
        .unwrap();
    // A web server publishing the module with its signature, and another copy without one.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let web = listener.local_addr().unwrap();
    let (module, published) = (std::fs::read(&hello).unwrap(), host::trust::sign(&private, &digest).unwrap());
    let app = axum::Router::new()
        .route(
            "/signed.wasm",
            axum::routing::get({
                let module = module.clone();
                move || async move { module }
            }),
        )
        .route("/signed.wasm.sig", axum::routing::get(move || async move { published }))
        .route("/bare.wasm", axum::routing::get(move || async move { module }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let (stranger, _) = host::trust::generate().unwrap();
    let signature = host::trust::sign(&private, &digest).unwrap();
    let other_module = host::trust::sign(&private, &"0".repeat(64)).unwrap();
    let cases = [
        ("signed", hello.clone(), json!({"wharf.dev/signature.main": signature}), true),
        ("pinned", format!("{hello}@sha256:{digest}"), json!({}), true),
        ("beside", beside.display().to_string(), json!({}), true),
        ("published", format!("http://{web}/signed.wasm"), json!({}), true),
        ("bare", format!("http://{web}/bare.wasm"), json!({}), false),
        ("unsigned", hello.clone(), json!({}), false),
        (
            "stranger",
            hello.clone(),
            json!({"wharf.dev/signature.main": host::trust::sign(&stranger, &digest).unwrap()}),
            false,
        ),
        ("elsewhere", hello.clone(), json!({"wharf.dev/signature.main": other_module}), false),
    ];
    for (name, image, annotations, _) in &cases {
        pods.create(&PostParams::default(), &pod(name, image, annotations.clone())).await.unwrap();
    }
    for (name, _, _, runs) in cases {
        if runs {
            wait_pod(&pods, name, 60, |p| phase(p) == "Succeeded").await;
        } else {
            let refused =
                wait_pod(&pods, name, 60, |p| waiting(p).as_deref() == Some("SignatureValidationFailed"))
                    .await;
            let message = refused.status.unwrap().container_statuses.unwrap()[0]
                .state
                .clone()
                .unwrap()
                .waiting
                .unwrap()
                .message
                .unwrap_or_default();
            let unsigned = name == "unsigned" || name == "bare";
            let expected = if unsigned { "neither pinned by digest nor signed" } else { "does not verify" };
            assert!(message.contains(expected), "{name}: {message}");
            let logs = cluster.logs(0, name, "main", "").await;
            assert!(!logs.contains("hello"), "{name} never ran: {logs}");
        }
    }
    let described = cluster.server.kubectl().ok(&["describe", "pod", "unsigned"]).await;
    assert!(
        described.contains("Failed") && described.contains("neither pinned by digest nor signed"),
        "{described}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_namespace_can_require_trusted_modules_on_any_node() {
    let cluster = Cluster::start(1, |_| {}).await;
    let client = cluster.server.client();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let strict = json!({"metadata": {"name": "strict", "labels": {"wharf.dev/trusted-modules": "required"}}});
    namespaces.create(&PostParams::default(), &serde_json::from_value(strict).unwrap()).await.unwrap();
    let hello = guest(TARGETS[0], "hello");
    let in_strict: Api<Pod> = Api::namespaced(client, "strict");
    in_strict.create(&PostParams::default(), &pod("unsigned", &hello, json!({}))).await.unwrap();
    cluster.pods().create(&PostParams::default(), &pod("unsigned", &hello, json!({}))).await.unwrap();
    wait_pod(&cluster.pods(), "unsigned", 60, |p| phase(p) == "Succeeded").await;
    wait_pod(&in_strict, "unsigned", 60, |p| waiting(p).as_deref() == Some("SignatureValidationFailed"))
        .await;
}
