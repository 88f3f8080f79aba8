//! The examples (`examples/*/`) doing what their READMEs say: built with `scripts/build-examples.sh`, applied
//! with the real kubectl as the READMEs do, and checked from outside (HTTP through their Services, `kubectl
//! logs`, the objects' status). They share one cluster of two nodes with the scheduler and the controllers, each
//! in its own namespace, and run side by side.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, WatchEvent, WatchParams};
use kube::{Api, ResourceExt};
use serde_json::Value;
use tests::{Kubectl, eventually, workspace_root};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::node::{Cluster, phase, terminated};

/// How long an example may take to be up: generous, as CI machines are small and these run side by side.
const UP: Duration = Duration::from_secs(120);

/// Builds the examples once per test process with the README's command; returns the images directory.
fn images() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = workspace_root();
            let images = root.join("target/examples/images");
            let status = std::process::Command::new(root.join("scripts/build-examples.sh"))
                .arg(&images)
                .status()
                .expect("scripts/build-examples.sh runs");
            assert!(
                status.success(),
                "building the examples failed (run scripts/setup.sh for the wasm targets)"
            );
            images
        })
        .clone()
}

/// The shared cluster: two nodes whose images directory holds the built examples and which allow hostPath
/// volumes under one temporary directory (the notes example's).
struct Examples {
    cluster: Cluster,
    kubectl: Kubectl,
    notes_root: tempfile::TempDir,
}

impl Examples {
    fn client(&self) -> kube::Client {
        self.cluster.server.client()
    }

    fn pods(&self, namespace: &str) -> Api<Pod> {
        Api::namespaced(self.client(), namespace)
    }

    /// The address of node `i`'s node ports: its address, where `wctl up`'s single node has 127.0.0.1.
    fn node_port(&self, i: usize, port: u16) -> String {
        let ip = self.cluster.pod_cidrs[i].hosts().next().expect("a node address");
        format!("{ip}:{port}")
    }

    /// `kubectl apply -f examples/<name>/manifest.yaml`, as every README says.
    async fn apply(&self, name: &str) {
        let manifest = workspace_root().join("examples").join(name).join("manifest.yaml");
        self.kubectl.ok(&["apply", "-f", &manifest.display().to_string()]).await;
    }

    /// The running pods of `namespace` labelled `app=<app>` that are not being deleted.
    async fn running_now(&self, namespace: &str, app: &str) -> Vec<Pod> {
        let params = ListParams::default().labels(&format!("app={app}"));
        let pods = self.pods(namespace).list(&params).await.map(|l| l.items).unwrap_or_default();
        pods.into_iter()
            .filter(|p| phase(p) == "Running" && p.metadata.deletion_timestamp.is_none())
            .collect()
    }

    /// Those pods, once there are `count`.
    async fn running(&self, namespace: &str, app: &str, count: usize) -> Vec<Pod> {
        eventually(&format!("{count} running {app} pods"), UP, async || {
            Some(self.running_now(namespace, app).await).filter(|pods| pods.len() == count)
        })
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn examples_do_what_their_readmes_say() {
    let images = images();
    let notes_root = tempfile::tempdir().unwrap();
    let allowed = notes_root.path().to_path_buf();
    let cluster = Cluster::start(2, move |config| {
        config.images_dir.clone_from(&images);
        config.host_path_roots = vec![allowed.clone()];
    })
    .await;
    let client = cluster.server.client();
    let controllers = controllers::Controllers::start(client.clone());
    let scheduler = scheduler::Service::start(client, scheduler::Options::default());
    let kubectl = cluster.server.kubectl();
    let examples = Examples { cluster, kubectl, notes_root };

    tokio::join!(
        hello_http(&examples),
        notes(&examples),
        worker(&examples),
        ci_suite(&examples),
        frontend_backend(&examples),
        node_reporter(&examples),
    );

    scheduler.shutdown().await;
    controllers.shutdown().await;
}

/// Two replicas answer through the NodePort Service, by route, with JSON and 404s, and log what they did.
async fn hello_http(ex: &Examples) {
    ex.apply("hello-http").await;
    let front = ex.node_port(0, 30090);
    let mut pods = BTreeSet::new();
    eventually("both hello replicas to answer through the Service", UP, async || {
        if let Ok((200, body)) = http(&front, "GET", "/", "").await {
            let pod = body.trim().strip_prefix("hello from ").map(str::to_owned);
            pods.extend(pod);
        }
        pods.len() == 2
    })
    .await;
    let (status, body) = http(&front, "GET", "/hello/wharf", "").await.unwrap();
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((status, &body["greeting"]), (200, &Value::from("hello, wharf")), "{body}");
    assert!(pods.contains(body["pod"].as_str().unwrap_or_default()), "{body} from {pods:?}");
    let (status, body) = http(&front, "GET", "/nowhere", "").await.unwrap();
    assert_eq!((status, body.as_str()), (404, r#"{"error":"no route for /nowhere"}"#));
    eventually("the greeting to be logged", UP, async || {
        let logs = ex.kubectl.ok(&["-n", "hello", "logs", "-l", "app=hello"]).await;
        logs.contains(r#"{"level":"info","msg":"greeted","name":"wharf"}"#)
    })
    .await;
}

/// Notes written through the Service are files in the hostPath volume, and the pod that replaces a deleted one
/// serves them.
async fn notes(ex: &Examples) {
    // The README's directory is the node's to allow; here the node allows a temporary one instead.
    let manifest = std::fs::read_to_string(workspace_root().join("examples/notes/manifest.yaml")).unwrap();
    let root = ex.notes_root.path().display().to_string();
    assert!(manifest.contains("/tmp/wharf-notes"), "the manifest's hostPath moved");
    let path = ex.kubectl.write("notes.yaml", &manifest.replace("/tmp/wharf-notes", &root));
    ex.kubectl.ok(&["apply", "-f", &path]).await;
    let front = ex.node_port(0, 30091);
    let status = eventually("the notes API to store a note", UP, async || {
        http(&front, "PUT", "/notes/groceries", "milk, eggs")
            .await
            .ok()
            .map(|(status, _)| status)
            .filter(|s| *s < 300)
    })
    .await;
    assert_eq!(status, 201, "a new note");
    assert_eq!(http(&front, "GET", "/notes/groceries", "").await.unwrap(), (200, "milk, eggs".into()));
    assert_eq!(http(&front, "GET", "/notes", "").await.unwrap(), (200, r#"{"notes":["groceries"]}"#.into()));
    assert_eq!(http(&front, "GET", "/notes/nothing", "").await.unwrap().0, 404);
    assert_eq!(
        http(&front, "PUT", "/notes/..%2Fescape", "x").await.unwrap().0,
        400,
        "a name leaving the volume"
    );
    assert_eq!(std::fs::read_to_string(ex.notes_root.path().join("groceries")).unwrap(), "milk, eggs");

    let old = ex.running("notes", "notes", 1).await.remove(0).name_any();
    ex.kubectl.ok(&["-n", "notes", "delete", "pod", "-l", "app=notes"]).await;
    eventually("the replacement pod to serve the note", UP, async || {
        let pods = ex.running_now("notes", "notes").await;
        let replaced = pods.len() == 1 && pods[0].name_any() != old;
        replaced && http(&front, "GET", "/notes/groceries", "").await.ok() == Some((200, "milk, eggs".into()))
    })
    .await;
    assert_eq!(
        http(&front, "PUT", "/notes/groceries", "milk, eggs, bread").await.unwrap().0,
        200,
        "replaced"
    );
}

/// The worker logs its ConfigMap's settings and its Secret's user (never the token), and a restart for a new
/// configuration ends the old pod on its termination notice with exit code 0.
async fn worker(ex: &Examples) {
    ex.apply("worker").await;
    let logs = async |what: &str, needles: &[&str]| {
        eventually(what, UP, async || {
            let logs = ex.kubectl.run(&["-n", "worker", "logs", "deployment/worker"]).await;
            let logs = String::from_utf8_lossy(&logs.stdout).into_owned();
            needles.iter().all(|n| logs.contains(n)).then_some(logs)
        })
        .await
    };
    let fingerprint = format!(r#""token_fingerprint":"{}""#, fnv_fingerprint("s3cr3t-t0ken"));
    let started = logs(
        "the worker to start with its configuration",
        &[
            r#""msg":"worker started","queue":"emails","batch_size":25,"user":"worker-bot""#,
            &fingerprint,
            r#""msg":"processed a batch","queue":"emails","batch":1,"items":25"#,
        ],
    )
    .await;
    assert!(!started.contains("s3cr3t-t0ken"), "the token is never logged:\n{started}");

    let old = ex.running("worker", "worker", 1).await.remove(0);
    let removed = until_removed(&ex.pods("worker"), &old).await;
    let patch = r#"{"data":{"QUEUE":"invoices"}}"#;
    ex.kubectl
        .ok(&["-n", "worker", "patch", "configmap", "worker-config", "--type", "merge", "-p", patch])
        .await;
    ex.kubectl.ok(&["-n", "worker", "rollout", "restart", "deployment/worker"]).await;
    let gone = removed.await;
    assert_eq!(terminated(&gone), Some((0, "Completed".to_owned())), "{:?}", gone.status);
    logs("the new worker to take the new queue", &[r#""msg":"worker started","queue":"invoices""#]).await;

    let bad = ["-n", "worker", "run", "misconfigured", "--image=examples/worker.wasm", "--restart=Never"];
    ex.kubectl.ok(&[&bad[..], &["--env=QUEUE=emails", "--env=BATCH_SIZE=lots"]].concat()).await;
    let pods = ex.pods("worker");
    let failed = eventually("the misconfigured worker to fail", UP, async || {
        pods.get_opt("misconfigured").await.ok()?.filter(|p| phase(p) == "Failed")
    })
    .await;
    assert_eq!(terminated(&failed), Some((1, "Error".to_owned())));
    let output = ex.kubectl.ok(&["-n", "worker", "logs", "misconfigured"]).await;
    let line = r#"{"level":"error","msg":"cannot start: bad configuration","error":"BATCH_SIZE is not a valid u32"}"#;
    assert_eq!(output.trim(), line, "one line naming the setting, not its value");
}

/// The Indexed Job completes every index, its shards ran on both nodes, and each shard's log shows its tests.
async fn ci_suite(ex: &Examples) {
    ex.apply("ci-suite").await;
    let jobs: Api<Job> = Api::namespaced(ex.client(), "ci");
    let job = eventually("the suite to complete", UP, async || {
        let job = jobs.get_opt("ci-suite").await.ok()??;
        let complete = job
            .status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .any(|c| c.type_ == "Complete" && c.status == "True");
        complete.then_some(job)
    })
    .await;
    ex.kubectl.ok(&["-n", "ci", "wait", "--for=condition=complete", "job/ci-suite", "--timeout=30s"]).await;
    let status = job.status.unwrap();
    assert_eq!((status.succeeded, status.completed_indexes.as_deref()), (Some(3), Some("0-2")));
    let pods = ex
        .pods("ci")
        .list(&ListParams::default().labels("batch.kubernetes.io/job-name=ci-suite"))
        .await
        .unwrap();
    assert_eq!(pods.items.len(), 3, "one pod per shard, none retried");
    let nodes: BTreeSet<String> =
        pods.items.iter().filter_map(|p| p.spec.as_ref()?.node_name.clone()).collect();
    assert_eq!(nodes.len(), 2, "the shards spread over both nodes: {nodes:?}");

    let logs =
        ex.kubectl.ok(&["-n", "ci", "logs", "-l", "batch.kubernetes.io/job-name=ci-suite", "--prefix"]).await;
    for pod in &pods.items {
        let index = &pod.annotations()["batch.kubernetes.io/job-completion-index"];
        let prefix = format!("[pod/{}/suite] ", pod.name_any());
        let summary = format!("{prefix}shard {index}/3: ");
        assert!(
            logs.lines().any(|l| l.starts_with(&summary) && l.ends_with(" passed, 0 failed")),
            "{summary}\n{logs}"
        );
    }
    let ran = logs.lines().filter(|l| l.contains("] ok - ")).count();
    assert_eq!(ran, 8, "every test ran once, in some shard:\n{logs}");
}

/// The frontend reaches the backend by its Service name; a pod outside the NetworkPolicy is refused.
async fn frontend_backend(ex: &Examples) {
    ex.apply("frontend-backend").await;
    let front = ex.node_port(1, 30092);
    let page = eventually("the frontend to show a quote from the backend", UP, async || {
        http(&front, "GET", "/", "").await.ok().filter(|(status, _)| *status == 200).map(|(_, body)| body)
    })
    .await;
    assert!(page.contains("(backend backend-") && page.contains(", frontend frontend-"), "{page}");

    ex.kubectl
        .ok(&[
            "-n",
            "shop",
            "run",
            "intruder",
            "--image=examples/frontend.wasm",
            "--port=8080",
            "--labels=app=intruder",
        ])
        .await;
    ex.kubectl.ok(&["-n", "shop", "wait", "--for=condition=ready", "pod/intruder", "--timeout=50s"]).await;
    let intruder = ex.running("shop", "intruder", 1).await.remove(0);
    let address = format!("{}:8080", intruder.status.and_then(|s| s.pod_ip).unwrap());
    let (status, body) =
        eventually("the intruder to answer", UP, async || http(&address, "GET", "/", "").await.ok()).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body, r#"{"error":"request to http://backend/api/quote failed: ConnectionRefused"}"#);
    eventually("the refusal to show on the intruder", UP, async || {
        ex.kubectl.ok(&["-n", "shop", "describe", "pod", "intruder"]).await.contains("NetworkPolicyDenied")
    })
    .await;
    assert_eq!(http(&front, "GET", "/", "").await.unwrap().0, 200, "the frontend is still let through");
}

/// One reporter per node, each reporting the node it runs on.
async fn node_reporter(ex: &Examples) {
    ex.apply("node-reporter").await;
    let pods = ex.running("node-reporter", "node-reporter", 2).await;
    let nodes: BTreeSet<String> = pods.iter().filter_map(|p| p.spec.as_ref()?.node_name.clone()).collect();
    assert_eq!(nodes, BTreeSet::from(["node-0".to_owned(), "node-1".to_owned()]));
    let daemonsets: Api<DaemonSet> = Api::namespaced(ex.client(), "node-reporter");
    eventually("the DaemonSet to count its pods", UP, async || {
        let status = daemonsets.get("node-reporter").await.ok()?.status?;
        (status.desired_number_scheduled == 2 && status.current_number_scheduled == 2).then_some(())
    })
    .await;
    for pod in &pods {
        let node = pod.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default();
        let report = format!(r#""msg":"node report","node":"{node}","pod":"{}","report":1"#, pod.name_any());
        eventually(&format!("{} to report {node}", pod.name_any()), UP, async || {
            ex.kubectl.ok(&["-n", "node-reporter", "logs", &pod.name_any()]).await.contains(&report)
        })
        .await;
    }

    // A deleted reporter stops on its termination notice, and the DaemonSet puts a new one on its node.
    let removed = until_removed(&ex.pods("node-reporter"), &pods[0]).await;
    ex.kubectl.ok(&["-n", "node-reporter", "delete", "pod", &pods[0].name_any(), "--wait=false"]).await;
    let gone = removed.await;
    assert_eq!(terminated(&gone), Some((0, "Completed".to_owned())), "{:?}", gone.status);
    let again = ex.running("node-reporter", "node-reporter", 2).await;
    let nodes: BTreeSet<String> = again.iter().filter_map(|p| p.spec.as_ref()?.node_name.clone()).collect();
    assert_eq!(nodes.len(), 2, "one reporter per node again");
}

/// Starts watching `pod`; the future ends, with its last state, once the pod is removed from the API.
async fn until_removed(pods: &Api<Pod>, pod: &Pod) -> impl Future<Output = Pod> + use<> {
    let name = pod.name_any();
    let params = WatchParams::default().fields(&format!("metadata.name={name}")).timeout(120);
    let version = pod.resource_version().unwrap_or_default();
    let mut events = pods.watch(&params, &version).await.unwrap().boxed();
    let mut last = pod.clone();
    async move {
        let follow = async {
            while let Some(event) = events.try_next().await.unwrap() {
                match event {
                    WatchEvent::Modified(pod) => last = pod,
                    WatchEvent::Deleted(pod) => return pod,
                    _ => {}
                }
            }
            panic!("the watch ended before {name} was removed; last seen: {:?}", last.status);
        };
        tokio::time::timeout(UP, follow).await.unwrap_or_else(|_| panic!("{name} was not removed in time"))
    }
}

/// One HTTP/1.0 exchange (the connection closes after it, so no chunked body); the status and the body as text,
/// or why there was none.
async fn http(addr: &str, method: &str, path: &str, body: &str) -> Result<(u16, String), String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
        let head =
            format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n", body.len());
        stream.write_all(head.as_bytes()).await.map_err(|e| format!("write: {e}"))?;
        stream.write_all(body.as_bytes()).await.map_err(|e| format!("write: {e}"))?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.map_err(|e| format!("read: {e}"))?;
        let text = String::from_utf8_lossy(&response).into_owned();
        let (head, body) =
            text.split_once("\r\n\r\n").ok_or_else(|| format!("no response head: {text:?}"))?;
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("no status: {head}"))?;
        Ok((status, body.to_owned()))
    };
    tokio::time::timeout(Duration::from_secs(10), exchange).await.map_err(|_| "timed out".to_owned())?
}

/// The worker's token fingerprint: the top 32 bits of the token's FNV-1a hash, in hex.
fn fnv_fingerprint(token: &str) -> String {
    let hash = token.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{:08x}", hash >> 32)
}
