//! `wctl` as a user runs it: durability across `kill -9`, one-line errors for unusable data directories, and a
//! node joining with a bootstrap token.

// A failed unwrap is a failed test, with its location; that is what tests want.
#![allow(clippy::unwrap_used, clippy::default_trait_access)]

mod support;

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use tokio::process::{Child, Command};

/// Starts `wctl up` on a free port and returns it with its API URL.
async fn up(data_dir: &Path) -> (Child, String) {
    up_with(data_dir, &[]).await
}

/// Starts `wctl up` with extra flags.
async fn up_with(data_dir: &Path, flags: &[&str]) -> (Child, String) {
    support::start(data_dir, flags).await
}

/// The admin client of the cluster in `data_dir`, from the kubeconfig `wctl up` wrote there.
async fn client(data_dir: &Path) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(data_dir.join("kubeconfig")).expect("kubeconfig");
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
            .await
            .expect("usable kubeconfig");
    kube::Client::try_from(config).expect("client")
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, _) = up(dir.path()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client(dir.path()).await, "default");

    // 32 clients write as fast as they can; the server is killed while writes are in flight.
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut writers = Vec::new();
    for w in 0..32 {
        let cms = cms.clone();
        let acknowledged = acknowledged.clone();
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let cm: ConfigMap =
                    serde_json::from_value(serde_json::json!({"metadata": {"name": format!("w{w}-{i}")}}))
                        .unwrap();
                match cms.create(&PostParams::default(), &cm).await {
                    Ok(created) => acknowledged.lock().unwrap().push(created.metadata),
                    Err(_) => return,
                }
            }
        }));
    }
    while acknowledged.lock().unwrap().len() < 500 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.start_kill().unwrap(); // SIGKILL
    server.wait().await.unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    let (_server, _) = up(dir.path()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client(dir.path()).await, "default");
    for meta in &acknowledged {
        let name = meta.name.as_deref().unwrap();
        let stored = cms.get(name).await.unwrap_or_else(|e| panic!("acknowledged {name} was lost: {e}"));
        assert_eq!(stored.metadata.uid, meta.uid, "{name}");
        assert_eq!(stored.metadata.resource_version, meta.resource_version, "{name}");
    }
}

async fn failed_up(data_dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_wctl"))
        .args(["up", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("WHARF_LOG", "off")
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out).await.expect("exits in time").expect("runs");
    assert!(!out.status.success(), "wctl up should fail");
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    stderr
}

#[tokio::test(flavor = "multi_thread")]
async fn unusable_data_directories_fail_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (_running, _) = up(dir.path()).await;
    let locked = failed_up(dir.path()).await;
    assert!(locked.contains("is in use by another Wharf server"), "{locked}");

    let corrupt = tempfile::tempdir().unwrap();
    std::fs::write(corrupt.path().join("wharf.redb"), vec![0x5a; 64 * 1024]).unwrap();
    let message = failed_up(corrupt.path()).await;
    assert!(message.contains("corrupt or not a Wharf store"), "{message}");

    let file = tempfile::NamedTempFile::new().unwrap();
    let message = failed_up(file.path()).await;
    assert!(message.starts_with("error: cannot open data directory"), "{message}");
}

/// Runs `wctl` to completion; returns whether it succeeded, stdout and stderr.
async fn wctl(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wctl")).args(args).env("WHARF_LOG", "off").output();
    let out = tokio::time::timeout(Duration::from_secs(60), out).await.expect("exits in time").expect("runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).trim().to_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_joins_with_a_bootstrap_token_and_then_acts_as_itself() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = up_with(dir.path(), &["--disable-agent"]).await;
    let kubeconfig = dir.path().join("kubeconfig").display().to_string();
    let (ok, token, stderr) = wctl(&["token", "create", "--kubeconfig", &kubeconfig, "--ttl", "1h"]).await;
    assert!(ok, "{stderr}");
    assert!(token.len() == 23 && token.as_bytes()[6] == b'.', "a bootstrap token: {token}");

    let node_dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("pki/ca.crt").display().to_string();
    let join = |token: String, name: &'static str, data: std::path::PathBuf| {
        let (url, ca) = (url.clone(), ca.clone());
        async move {
            Command::new(env!("CARGO_BIN_EXE_wctl"))
                .args(["node", "--server", &url, "--token", &token, "--certificate-authority", &ca])
                .args(["--node-name", name, "--node-ip", "127.0.0.1", "--data-dir"])
                .arg(data)
                .env("WHARF_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .expect("wctl node")
        }
    };
    let joined_process = join(token.clone(), "joined", node_dir.path().to_path_buf()).await;
    let admin = client(dir.path()).await;
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(admin.clone());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while nodes.get_opt("joined").await.unwrap().is_none() {
        assert!(tokio::time::Instant::now() < deadline, "the node did not register");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // It acts as system:node:joined, with what the Node authoriser allows it and no more.
    let own = kube::config::Kubeconfig::read_from(node_dir.path().join("kubeconfig")).unwrap();
    let config = kube::Config::from_custom_kubeconfig(own, &Default::default()).await.unwrap();
    let node_client = kube::Client::try_from(config).unwrap();
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(node_client.clone(), "kube-system");
    let kube::Error::Api(refused) = secrets.list(&Default::default()).await.unwrap_err() else { panic!() };
    assert_eq!(refused.code, 403);
    assert!(refused.message.contains("User \"system:node:joined\""), "{}", refused.message);
    let csrs: Api<kube::api::DynamicObject> = Api::all_with(
        admin.clone(),
        &kube::discovery::ApiResource::erase::<k8s_openapi::api::certificates::v1::CertificateSigningRequest>(
            &(),
        ),
    );
    let requests: Vec<serde_json::Value> = csrs
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect();
    let signer = |r: &serde_json::Value| r["spec"]["signerName"].as_str().unwrap_or_default().to_owned();
    let client_request =
        requests.iter().find(|r| signer(r).ends_with("client-kubelet")).expect("a client request");
    assert!(client_request["spec"]["username"].as_str().unwrap().starts_with("system:bootstrap:"));
    assert_eq!(client_request["status"]["conditions"][0]["reason"], "AutoApproved");
    let serving =
        requests.iter().find(|r| signer(r) == "kubernetes.io/kubelet-serving").expect("a serving request");
    assert_eq!(serving["spec"]["username"], "system:node:joined");
    assert!(serving["status"]["certificate"].is_string(), "{serving}");

    // Its endpoint serves TLS with the serving certificate it asked for, and the API server reaches it there.
    let node = nodes.get("joined").await.unwrap();
    let annotations = node.metadata.annotations.unwrap_or_default();
    assert_eq!(annotations.get("wharf.dev/endpoint-tls").map(String::as_str), Some("true"));
    let request = http::Request::get("/apis/metrics.k8s.io/v1beta1/nodes/joined").body(Vec::new()).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let request = request.clone();
        let answer = client(dir.path()).await.request_text(request.map(Into::into)).await;
        if answer.is_ok() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the node's usage never came through: {answer:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Restarted when its certificate is due (here: one made to live nine seconds), it renews it as itself.
    drop(joined_process);
    let node_kubeconfig = node_dir.path().join("kubeconfig");
    let read = |f: &str| std::fs::read_to_string(dir.path().join("pki").join(f)).unwrap();
    let cluster_ca = pki::Ca::from_pem(&read("ca.crt"), &read("ca.key")).unwrap();
    let short =
        cluster_ca.issue_client("system:node:joined", &["system:nodes"], Duration::from_secs(9)).unwrap();
    let b64 = |pem: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pem);
    let text: String = std::fs::read_to_string(&node_kubeconfig)
        .unwrap()
        .lines()
        .map(|l| match l.split_once(':').map(|(k, _)| k.trim()) {
            Some("client-certificate-data") => {
                format!("    client-certificate-data: {}\n", b64(&short.cert_pem))
            }
            Some("client-key-data") => format!("    client-key-data: {}\n", b64(&short.key_pem)),
            _ => format!("{l}\n"),
        })
        .collect();
    std::fs::write(&node_kubeconfig, &text).unwrap();
    // Two thirds of its life gone, three seconds left to ask for the next.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let _node = join("abcdef.0000000000000000".into(), "joined", node_dir.path().to_path_buf()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&node_kubeconfig).unwrap() == text {
        assert!(tokio::time::Instant::now() < deadline, "the node did not renew its certificate");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let renewals = csrs.list(&Default::default()).await.unwrap().items;
    assert!(
        renewals.iter().any(|r| {
            let r = serde_json::to_value(r).unwrap();
            r["spec"]["username"] == "system:node:joined"
                && r["spec"]["signerName"].as_str().unwrap().ends_with("client-kubelet")
        }),
        "a renewal asked as the node itself"
    );

    // A wrong token is refused in one line.
    let (ok, _, stderr) = wctl(&[
        "node",
        "--server",
        &url,
        "--token",
        "abcdef.0000000000000000",
        "--certificate-authority",
        &ca,
        "--node-name",
        "intruder",
        "--data-dir",
        &node_dir.path().join("other").display().to_string(),
    ])
    .await;
    assert!(!ok);
    assert!(stderr.contains("refused the bootstrap token"), "{stderr}");
}
