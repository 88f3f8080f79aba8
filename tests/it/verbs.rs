//! kubectl's everyday imperative verbs against the server (the JSON ones; the protobuf `create` verbs are in
//! `protobuf.rs`).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, EvictParams, PostParams};
use serde_json::json;
use tests::TestServer;

async fn ready_pod(pods: &Api<Pod>, name: &str) {
    let pod: Pod = serde_json::from_value(json!({"metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "/opt/web.wasm"}]}}))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let status = json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
    tests::merge_status(pods, name, status).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn eviction_respects_the_disruption_budget() {
    let server = TestServer::start().await;
    let client = server.client();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    for name in ["a", "b", "c"] {
        ready_pod(&pods, name).await;
    }
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), "default");
    let pdb = serde_json::from_value(json!({"metadata": {"name": "web"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}}))
    .unwrap();
    pdbs.create(&PostParams::default(), &pdb).await.unwrap();

    pods.evict("a", &EvictParams::default()).await.unwrap();
    assert!(pods.get_opt("a").await.unwrap().is_none(), "an unscheduled pod goes at once");
    let err = pods.evict("b", &EvictParams::default()).await.unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (429, "TooManyRequests"));
            assert_eq!(s.message, "Cannot evict pod as it would violate the pod's disruption budget.");
        }
        other => panic!("expected 429, got {other}"),
    }
    assert!(pods.get_opt("b").await.unwrap().is_some());
    let budget = pdbs.get("web").await.unwrap();
    assert!(budget.status.unwrap().disrupted_pods.unwrap().contains_key("a"));
}

#[tokio::test(flavor = "multi_thread")]
async fn set_taint_cordon_and_wasm_explanations() {
    let server = TestServer::start().await;
    let client = server.client();
    let kubectl = server.kubectl();
    let deploy = kubectl.write(
        "web.yaml",
        "
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: /opt/web-v1.wasm}
",
    );
    kubectl.ok(&["apply", "-f", &deploy]).await;
    kubectl.ok(&["set", "image", "deployment/web", "web=/opt/web-v2.wasm"]).await;
    kubectl.ok(&["set", "env", "deployment/web", "GREETING=hi"]).await;
    kubectl.ok(&["set", "resources", "deployment/web", "--limits=memory=64Mi", "--requests=cpu=50m"]).await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let web = deploys.get("web").await.unwrap();
    let container = &web.spec.template.spec.as_ref().unwrap().containers[0];
    assert_eq!(container.image.as_deref(), Some("/opt/web-v2.wasm"));
    assert_eq!(container.env.as_ref().unwrap()[0].value.as_deref(), Some("hi"));
    let resources = container.resources.as_ref().unwrap();
    assert_eq!(resources.limits.as_ref().unwrap()["memory"].0, "64Mi");
    assert_eq!(resources.requests.as_ref().unwrap()["cpu"].0, "50m");

    let out = kubectl.ok(&["expose", "deployment", "web", "--port=80", "--target-port=8080"]).await;
    assert!(out.contains("service/web exposed"), "{out}");

    let nodes: Api<Node> = Api::all(client.clone());
    nodes
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "n1"}})).unwrap())
        .await
        .unwrap();
    kubectl.ok(&["taint", "node", "n1", "dedicated=edge:NoSchedule"]).await;
    kubectl.ok(&["cordon", "n1"]).await;
    let n1 = nodes.get("n1").await.unwrap().spec.unwrap();
    assert_eq!(n1.unschedulable, Some(true));
    assert_eq!(n1.taints.unwrap()[0].key, "dedicated");
    kubectl.ok(&["taint", "node", "n1", "dedicated:NoSchedule-"]).await;
    kubectl.ok(&["uncordon", "n1"]).await;
    let n1 = nodes.get("n1").await.unwrap().spec.unwrap();
    assert!(n1.unschedulable != Some(true));
    assert!(n1.taints.unwrap_or_default().is_empty());

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    ready_pod(&pods, "guest").await;
    let err = kubectl.fails(&["exec", "guest", "--", "sh"]).await;
    assert!(err.contains("runs WebAssembly"), "{err}");
    let err = kubectl.fails(&["port-forward", "pod/guest", "8080:80"]).await;
    assert!(err.contains("runs WebAssembly"), "{err}");

    let out = kubectl.ok(&["api-resources"]).await;
    assert!(
        out.lines().any(|l| l.starts_with("deployments ") && l.contains("deploy") && l.contains("apps/v1")),
        "{out}"
    );
    let out = kubectl.ok(&["api-versions"]).await;
    for gv in ["apps/v1", "batch/v1", "policy/v1", "v1"] {
        assert!(out.lines().any(|l| l == gv), "{gv} missing from {out}");
    }
    let changed = kubectl
        .write("web2.yaml", &std::fs::read_to_string(&deploy).unwrap().replace("replicas: 1", "replicas: 4"));
    let out = kubectl.run(&["diff", "-f", &changed]).await;
    let diff = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "kubectl diff exits 1 when there are differences: {diff}");
    assert!(diff.contains("-  replicas: 1") && diff.contains("+  replicas: 4"), "{diff}");
    assert_eq!(deploys.get("web").await.unwrap().spec.replicas, Some(1), "diff changes nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_shows_kubernetes_field_docs() {
    let server = TestServer::start().await;
    let kubectl = server.kubectl();
    let out = kubectl.ok(&["explain", "deployment.spec.replicas"]).await;
    assert!(out.contains("GROUP:      apps") && out.contains("KIND:       Deployment"), "{out}");
    assert!(out.contains("FIELD: replicas <integer>"), "{out}");
    assert!(out.contains("Number of desired pods"), "{out}");
    let out = kubectl.ok(&["explain", "pods.spec.containers"]).await;
    assert!(out.contains("image\t<string>"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn run_creates_a_wasm_pod() {
    let server = TestServer::start().await;
    let kubectl = server.kubectl();
    let out = kubectl
        .ok(&[
            "run",
            "hello",
            "--image=hello.wasm",
            "--restart=Never",
            "--env=GREETING=hi",
            "--labels=app=hello,tier=demo",
        ])
        .await;
    assert!(out.contains("pod/hello created"), "{out}");
    let out = kubectl.ok(&["create", "namespace", "edge"]).await;
    assert!(out.contains("namespace/edge created"), "{out}");
    kubectl.ok(&["get", "namespace", "edge"]).await;
    let pods: Api<Pod> = Api::namespaced(server.client(), "default");
    let pod = pods.get("hello").await.unwrap();
    let labels = pod.metadata.labels.unwrap();
    assert_eq!((labels["app"].as_str(), labels["tier"].as_str()), ("hello", "demo"));
    let spec = pod.spec.unwrap();
    assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
    let container = &spec.containers[0];
    assert_eq!(container.image.as_deref(), Some("hello.wasm"));
    assert_eq!(container.env.as_ref().unwrap()[0].name, "GREETING");
}
