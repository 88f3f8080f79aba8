//! Kubernetes protobuf request bodies: kubectl's typed `create` verbs send them, and each must store exactly what
//! the same object sent as JSON stores; malformed protobuf is refused with 400 and stores nothing.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::api::Api;
use serde_json::{Value, json};
use tests::{Kubectl, TestServer, raw, workspace_root};

const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

/// The object at `path`, without what the server assigns (uid, resource version, creation time), the namespace
/// or name the two paths differ by, and the container names `kubectl create deployment` makes up at random.
async fn stored(client: &kube::Client, path: &str) -> Value {
    let (code, object) = raw(client, "GET", path, "", "").await;
    assert_eq!(code, 200, "GET {path}: {object}");
    // A Job's labels and selector carry its uid.
    let uid = object["metadata"]["uid"].as_str().unwrap_or("no uid").to_owned();
    let mut object: Value = serde_json::from_str(&object.to_string().replace(&uid, "UID")).unwrap();
    if let Some(metadata) = object["metadata"].as_object_mut() {
        for key in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp", "managedFields"] {
            metadata.remove(key);
        }
    }
    if let Some(containers) =
        object.pointer_mut("/spec/template/spec/containers").and_then(Value::as_array_mut)
    {
        for container in containers {
            container["name"] = json!("random");
        }
    }
    object
}

/// Runs a typed `kubectl create` (protobuf) in `default`, and the same object through `-o json` and
/// `kubectl create -f` (JSON) in `json-path`; the stored objects must be the same.
async fn create_both_ways(kubectl: &Kubectl, client: &kube::Client, args: &[&str], path: &str) {
    let mut typed = vec!["create"];
    typed.extend_from_slice(args);
    kubectl.ok(&[typed.as_slice(), &["-n", "default"]].concat()).await;
    let printed = kubectl
        .ok(&[typed.as_slice(), &["-n", "json-path", "--dry-run=client", "-o", "json"]].concat())
        .await;
    let file = kubectl.write("object.json", &printed);
    kubectl.ok(&["create", "-f", &file, "-n", "json-path"]).await;
    let via_protobuf = stored(client, &path.replace("{ns}", "default")).await;
    let via_json = stored(client, &path.replace("{ns}", "json-path")).await;
    assert_eq!(via_protobuf, via_json, "kubectl create {args:?}: protobuf and JSON stored different objects");
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_typed_create_verbs() {
    let server = TestServer::start().await;
    let kubectl = server.kubectl();
    let client = server.client();
    kubectl.ok(&["create", "namespace", "json-path"]).await;

    // The typed verbs really send protobuf (kubectl logs its request headers at -v=8).
    let out = kubectl.run(&["create", "serviceaccount", "robot", "-n", "default", "-v=8"]).await;
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains(&format!("Content-Type: {PROTOBUF}")), "kubectl did not send protobuf:\n{log}");
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    assert!(accounts.get("robot").await.is_ok());

    let greeting = kubectl.write("greeting.txt", "hello\n");
    let env = kubectl.write("app.env", "MODE=prod\n# a comment\nLEVEL=3\n");
    let blob = kubectl.dir().join("blob.bin");
    std::fs::write(&blob, [0_u8, 0x9f, 0x92, 0x96, 0xff]).unwrap();
    let blob = blob.display().to_string();
    let from_file = format!("--from-file={greeting}");
    let from_blob = format!("--from-file={blob}");
    let from_env = format!("--from-env-file={env}");
    create_both_ways(
        &kubectl,
        &client,
        &["configmap", "settings", "--from-literal=a=b", &from_file, &from_blob],
        "/api/v1/namespaces/{ns}/configmaps/settings",
    )
    .await;
    create_both_ways(
        &kubectl,
        &client,
        &["configmap", "env", &from_env],
        "/api/v1/namespaces/{ns}/configmaps/env",
    )
    .await;
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let settings = configmaps.get("settings").await.unwrap();
    let data = settings.data.unwrap_or_default();
    assert_eq!((data["a"].as_str(), data["greeting.txt"].as_str()), ("b", "hello\n"));
    assert_eq!(settings.binary_data.unwrap_or_default()["blob.bin"].0, [0, 0x9f, 0x92, 0x96, 0xff]);
    let env = configmaps.get("env").await.unwrap().data.unwrap_or_default();
    assert_eq!(env, BTreeMap::from([("LEVEL".into(), "3".into()), ("MODE".into(), "prod".into())]));

    create_both_ways(
        &kubectl,
        &client,
        &["secret", "generic", "creds", "--from-literal=user=admin", "--from-literal=empty=", &from_file],
        "/api/v1/namespaces/{ns}/secrets/creds",
    )
    .await;
    let fixtures = workspace_root().join("tests/fixtures");
    let cert = format!("--cert={}", fixtures.join("tls.crt").display());
    let key = format!("--key={}", fixtures.join("tls.key").display());
    create_both_ways(
        &kubectl,
        &client,
        &["secret", "tls", "site", &cert, &key],
        "/api/v1/namespaces/{ns}/secrets/site",
    )
    .await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let creds = secrets.get("creds").await.unwrap();
    assert_eq!(creds.type_.as_deref(), Some("Opaque"));
    let data = creds.data.unwrap_or_default();
    assert_eq!((data["user"].0.as_slice(), data["empty"].0.as_slice()), (&b"admin"[..], &b""[..]));
    let site = secrets.get("site").await.unwrap();
    assert_eq!(site.type_.as_deref(), Some("kubernetes.io/tls"));
    let data = site.data.unwrap_or_default();
    let pem = std::fs::read(fixtures.join("tls.crt")).unwrap();
    assert_eq!(data["tls.crt"].0, pem);
    assert!(data["tls.key"].0.starts_with(b"-----BEGIN PRIVATE KEY-----"));

    create_both_ways(
        &kubectl,
        &client,
        &["deployment", "web", "--image=/opt/web.wasm", "--replicas=2"],
        "/apis/apps/v1/namespaces/{ns}/deployments/web",
    )
    .await;
    let web = Api::<Deployment>::namespaced(client.clone(), "default").get("web").await.unwrap();
    let spec = web.spec;
    assert_eq!(spec.replicas, Some(2));
    // Defaults apply as for JSON: the zero values Go wrote for unset fields did not block them.
    assert_eq!(spec.strategy.and_then(|s| s.type_).as_deref(), Some("RollingUpdate"));
    let container = &spec.template.spec.unwrap().containers[0];
    assert_eq!(container.image.as_deref(), Some("/opt/web.wasm"));
    assert_eq!(container.termination_message_path.as_deref(), Some("/dev/termination-log"));

    create_both_ways(
        &kubectl,
        &client,
        &["job", "once", "--image=/opt/job.wasm"],
        "/apis/batch/v1/namespaces/{ns}/jobs/once",
    )
    .await;
    let job = Api::<Job>::namespaced(client.clone(), "default").get("once").await.unwrap();
    let pod = job.spec.unwrap().template.spec.unwrap();
    assert_eq!(
        (pod.containers[0].image.as_deref(), pod.restart_policy.as_deref()),
        (Some("/opt/job.wasm"), Some("Never"))
    );

    create_both_ways(
        &kubectl,
        &client,
        &["serviceaccount", "builder"],
        "/api/v1/namespaces/{ns}/serviceaccounts/builder",
    )
    .await;

    // Cluster-scoped: the JSON twin gets another name.
    kubectl.ok(&["create", "priorityclass", "high", "--value=1000", "--description=urgent"]).await;
    let printed = kubectl
        .ok(&[
            "create",
            "priorityclass",
            "high",
            "--value=1000",
            "--description=urgent",
            "--dry-run=client",
            "-o",
            "json",
        ])
        .await;
    let mut twin: Value = serde_json::from_str(&printed).unwrap();
    twin["metadata"]["name"] = json!("high-json");
    let file = kubectl.write("pc.json", &twin.to_string());
    kubectl.ok(&["create", "-f", &file]).await;
    let path = "/apis/scheduling.k8s.io/v1/priorityclasses/";
    assert_eq!(
        stored(&client, &format!("{path}high")).await,
        stored(&client, &format!("{path}high-json")).await
    );
    let high = Api::<PriorityClass>::all(client.clone()).get("high").await.unwrap();
    assert_eq!((high.value, high.description.as_deref()), (Some(1000), Some("urgent")));
}

/// The store's resource version: unchanged means nothing was written.
async fn revision(client: &kube::Client) -> String {
    let (_, list) = raw(client, "GET", "/api/v1/namespaces", "", "").await;
    list["metadata"]["resourceVersion"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn protobuf_bodies_of_every_verb_and_bad_ones() {
    let server = TestServer::start().await;
    let client = server.client();
    let body = |object: Value| apiserver::protobuf::encode(&object).unwrap();
    let configmap = body(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"k": "v"}}),
    );
    let cms = "/api/v1/namespaces/default/configmaps";

    let before = revision(&client).await;
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        ("truncated", cms, configmap[..configmap.len() - 6].to_vec(), "claims"),
        ("wrong magic", cms, [b"k8x\0".as_slice(), &configmap[4..]].concat(), "magic"),
        ("JSON labelled protobuf", cms, br#"{"kind":"ConfigMap"}"#.to_vec(), "magic"),
        (
            "garbage",
            cms,
            [b"k8s\0".as_slice(), &[0x12, 0x05, 0x0a, 0xff, 0xff, 0xff, 0xff]].concat(),
            "malformed",
        ),
        (
            "another kind than the URL's",
            "/api/v1/namespaces/default/secrets",
            configmap.clone(),
            "holds a v1 ConfigMap, but this URL expects a v1 Secret",
        ),
        (
            "another group than the URL's",
            "/apis/apps/v1/namespaces/default/deployments",
            configmap.clone(),
            "expects a apps/v1 Deployment",
        ),
    ];
    for (what, path, bytes, message) in cases {
        let (code, status) = raw(&client, "POST", path, PROTOBUF, bytes).await;
        assert_eq!((code, status["reason"].as_str()), (400, Some("BadRequest")), "{what}: {status}");
        assert!(status["message"].as_str().unwrap().contains(message), "{what}: {status}");
    }
    assert_eq!(revision(&client).await, before, "a bad protobuf body changed the store");

    // Create, replace, then the subresources and DELETE options.
    let (code, created) = raw(&client, "POST", cms, PROTOBUF, configmap).await;
    assert_eq!((code, &created["data"]), (201, &json!({"k": "v"})), "{created}");
    let rv = created["metadata"]["resourceVersion"].as_str().unwrap();
    let replacement = body(json!({"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": "cm", "resourceVersion": rv}, "data": {"k": "w"}}));
    let (code, replaced) = raw(&client, "PUT", &format!("{cms}/cm"), PROTOBUF, replacement).await;
    assert_eq!((code, &replaced["data"]), (200, &json!({"k": "w"})), "{replaced}");

    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "/opt/web.wasm"}]}}}});
    let deployments = "/apis/apps/v1/namespaces/default/deployments";
    let (code, status) = raw(&client, "POST", deployments, PROTOBUF, body(deployment)).await;
    assert_eq!(code, 201, "{status}");
    let scale = body(json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"},
                            "spec": {"replicas": 3}}));
    let (code, scaled) = raw(&client, "PUT", &format!("{deployments}/web/scale"), PROTOBUF, scale).await;
    assert_eq!((code, &scaled["spec"]["replicas"]), (200, &json!(3)), "{scaled}");
    let wrong = body(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}));
    let (code, _) = raw(&client, "PUT", &format!("{deployments}/web/scale"), PROTOBUF, wrong).await;
    assert_eq!(code, 400, "a Deployment body on the scale subresource");

    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                     "spec": {"containers": [{"name": "c", "image": "/opt/c.wasm"}]}});
    let pods = "/api/v1/namespaces/default/pods";
    let (code, status) = raw(&client, "POST", pods, PROTOBUF, body(pod)).await;
    assert_eq!(code, 201, "{status}");
    let binding = body(json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"},
                              "target": {"kind": "Node", "name": "node-1"}}));
    let (code, status) = raw(&client, "POST", &format!("{pods}/p/binding"), PROTOBUF, binding).await;
    assert_eq!(code, 201, "{status}");
    let (_, bound) = raw(&client, "GET", &format!("{pods}/p"), "", "").await;
    assert_eq!(bound["spec"]["nodeName"], "node-1");
    // `kubectl drain` evicts through the typed client, so in protobuf too.
    let eviction = body(json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p"},
                               "deleteOptions": {"gracePeriodSeconds": 0}}));
    let (code, status) = raw(&client, "POST", &format!("{pods}/p/eviction"), PROTOBUF, eviction).await;
    assert_eq!(code, 201, "{status}");
    let (code, evicted) = raw(&client, "GET", &format!("{pods}/p"), "", "").await;
    assert!(code == 404 || evicted["metadata"]["deletionTimestamp"].is_string(), "{evicted}");

    // DELETE with protobuf DeleteOptions: a bad one is refused and deletes nothing; a failed precondition too.
    let before = revision(&client).await;
    let (code, _) = raw(&client, "DELETE", &format!("{cms}/cm"), PROTOBUF, b"k8s\0\x12\x09".to_vec()).await;
    assert_eq!(code, 400);
    let mismatch = body(json!({"apiVersion": "meta.k8s.io/v1", "kind": "DeleteOptions",
                            "preconditions": {"uid": "not-the-uid"}}));
    let (code, _) = raw(&client, "DELETE", &format!("{cms}/cm"), PROTOBUF, mismatch).await;
    assert_eq!(code, 409);
    assert_eq!(revision(&client).await, before);
    let options = body(json!({"apiVersion": "meta.k8s.io/v1", "kind": "DeleteOptions",
                              "preconditions": {"uid": created["metadata"]["uid"]}}));
    let (code, status) = raw(&client, "DELETE", &format!("{cms}/cm"), PROTOBUF, options).await;
    assert_eq!(code, 200, "{status}");
    let (code, _) = raw(&client, "GET", &format!("{cms}/cm"), "", "").await;
    assert_eq!(code, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_accepts_only_protobuf_gets_protobuf_objects() {
    use http_body_util::BodyExt;
    let server = TestServer::start().await;
    let client = server.client();
    let get = |path: &str| {
        http::Request::get(path)
            .header(http::header::ACCEPT, "application/vnd.kubernetes.protobuf")
            .body(kube::client::Body::empty())
            .unwrap()
    };
    let response = client.send(get("/api/v1/namespaces/default")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[http::header::CONTENT_TYPE], "application/vnd.kubernetes.protobuf");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let expected = apiserver::protobuf::Expected { kind: "Namespace", api_versions: &["v1"] };
    let namespace = apiserver::protobuf::decode(&bytes, expected).unwrap();
    assert_eq!(namespace["metadata"]["name"], "default");
    // Lists are served as JSON only.
    let response = client.send(get("/api/v1/namespaces")).await.unwrap();
    assert_eq!(response.status(), 406);
}
