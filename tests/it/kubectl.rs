//! The real kubectl 1.37 against the server: apply, get (tables and watch), scale, label, annotate, delete.

use std::process::Stdio;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::Api;
use tests::TestServer;
use tokio::io::{AsyncBufReadExt, BufReader};

const APP_V1: &str = "
apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: demo
data:
  greeting: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: /opt/wharf/web-v1.wasm
        ports:
        - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
";

#[tokio::test(flavor = "multi_thread")]
async fn apply_get_scale_label_annotate_delete() {
    let server = TestServer::start().await;
    let kubectl = server.kubectl();
    let client = server.client();
    let app = kubectl.write("app.yaml", APP_V1);

    let out = kubectl.ok(&["apply", "-f", &app]).await;
    for line in [
        "namespace/demo created",
        "configmap/web-config created",
        "deployment.apps/web created",
        "service/web created",
    ] {
        assert!(out.contains(line), "apply output lacks {line:?}:\n{out}");
    }
    // Re-applying the same manifest changes nothing; a changed one is configured.
    let out = kubectl.ok(&["apply", "-f", &app]).await;
    assert!(out.contains("deployment.apps/web unchanged"), "{out}");
    let app_v2 = kubectl.write(
        "app-v2.yaml",
        &APP_V1.replace("web-v1.wasm", "web-v2.wasm").replace("greeting: hello", "greeting: hi"),
    );
    let out = kubectl.ok(&["apply", "-f", &app_v2]).await;
    assert!(
        out.contains("deployment.apps/web configured") && out.contains("configmap/web-config configured"),
        "{out}"
    );
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "demo");
    let web = deploys.get("web").await.unwrap();
    let image = web.spec.template.spec.as_ref().unwrap().containers[0].image.clone();
    assert_eq!(image.as_deref(), Some("/opt/wharf/web-v2.wasm"));
    assert_eq!(web.metadata.generation, Some(2));

    // Server-side tables.
    let out = kubectl.ok(&["get", "deploy", "-n", "demo"]).await;
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], "{out}");
    assert!(out.lines().nth(1).unwrap().starts_with("web "), "{out}");
    let out = kubectl.ok(&["get", "svc", "web", "-n", "demo", "-o", "wide"]).await;
    assert!(out.contains("ClusterIP") && out.contains("80/TCP") && out.contains("app=web"), "{out}");
    let out = kubectl.ok(&["get", "all", "-n", "demo"]).await;
    assert!(out.contains("deployment.apps/web") && out.contains("service/web"), "{out}");
    let out = kubectl.ok(&["get", "cm", "web-config", "-n", "demo", "-o", "yaml"]).await;
    assert!(out.contains("greeting: hi") && out.contains("uid:"), "{out}");

    kubectl.ok(&["scale", "deploy/web", "-n", "demo", "--replicas=3"]).await;
    assert_eq!(deploys.get("web").await.unwrap().spec.replicas, Some(3));
    let out =
        kubectl.fails(&["scale", "deploy/web", "-n", "demo", "--replicas=4", "--current-replicas=2"]).await;
    assert!(out.contains("Expected replicas to be 2, was 3"), "{out}");

    kubectl.ok(&["label", "cm", "web-config", "-n", "demo", "tier=front"]).await;
    kubectl.fails(&["label", "cm", "web-config", "-n", "demo", "tier=back"]).await;
    kubectl.ok(&["label", "cm", "web-config", "-n", "demo", "tier=back", "--overwrite"]).await;
    kubectl.ok(&["annotate", "cm", "web-config", "-n", "demo", "note=first"]).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "demo");
    let cm = cms.get("web-config").await.unwrap();
    assert_eq!(cm.metadata.labels.unwrap()["tier"], "back");
    assert_eq!(cm.metadata.annotations.as_ref().unwrap()["note"], "first");
    kubectl.ok(&["label", "cm", "web-config", "-n", "demo", "tier-"]).await;
    kubectl.ok(&["annotate", "cm", "web-config", "-n", "demo", "note-"]).await;
    let cm = cms.get("web-config").await.unwrap();
    assert!(!cm.metadata.labels.unwrap_or_default().contains_key("tier"));
    assert!(!cm.metadata.annotations.unwrap_or_default().contains_key("note"));

    let out = kubectl.ok(&["delete", "-f", &app_v2]).await;
    for line in
        ["namespace \"demo\" deleted", "configmap \"web-config\" deleted", "deployment.apps \"web\" deleted"]
    {
        assert!(out.contains(line), "delete output lacks {line:?}:\n{out}");
    }
    let err = kubectl.fails(&["get", "deploy", "nope", "-n", "default"]).await;
    assert!(err.contains(r#"Error from server (NotFound): deployments.apps "nope" not found"#), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn get_watch_prints_new_rows() {
    let server = TestServer::start().await;
    let kubectl = server.kubectl();
    let mut child = tokio::process::Command::new(kubectl_bin())
        .args(["get", "namespaces", "-w"])
        .env("KUBECONFIG", server.server.kubeconfig())
        .env("HOME", kubectl.dir())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let namespaces: Api<Namespace> = Api::all(server.client());
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.starts_with("default ") {
                // The initial table is printed; a live change must arrive as a new row.
                let ns = serde_json::from_value(serde_json::json!({"metadata": {"name": "later"}})).unwrap();
                namespaces.create(&Default::default(), &ns).await.unwrap();
            }
            let done = line.starts_with("later ");
            seen.push(line);
            if done {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "kubectl get -w did not print the new namespace; it printed {seen:?}");
    assert!(seen[0].starts_with("NAME") && seen[0].contains("STATUS"), "{seen:?}");
}

fn kubectl_bin() -> std::path::PathBuf {
    std::env::var_os("WHARF_KUBECTL")
        .map_or_else(|| tests::workspace_root().join(".venv-kubectl/bin/kubectl"), Into::into)
}
