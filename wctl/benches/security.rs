//! What security costs: `cargo bench -p wctl --bench security`.
//!
//! Starts the release `wctl up` (API server alone) three times: plain HTTP with anonymous requests and
//! `AlwaysAllow` (what the server was before TLS, authentication and RBAC), the default (HTTPS, a client
//! certificate, Node and RBAC authorisation), and the default with the audit log on. The client is an ordinary
//! user bound to `cluster-admin` through a ClusterRoleBinding, so RBAC evaluates every request (members of
//! `system:masters` skip it). For each: durable creates/s with 64 clients and gets/s with 64 clients; then the
//! TLS handshake and the latency of a fresh connection's first request; and, on the default configuration, the
//! latency of one user's requests while another floods the server from 512 connections. Prints one line per figure; the numbers
//! in BENCHMARKS.md come from this program.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use support::ApiClient;

mod support;

const CREATES: usize = 3_000;

fn pod(name: &str) -> Bytes {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
        "spec": {"schedulerName": "bench-unscheduled", "containers": [{"name": "web", "image": "web.wasm"}]},
    })
    .to_string()
    .into()
}

/// Starts `wctl up` with `flags` in `dir` and returns it once it serves.
async fn up(dir: &Path, flags: &[&str]) -> tokio::process::Child {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_wctl"));
    command
        .args([
            "up",
            "--listen",
            "127.0.0.1:0",
            "--disable-agent",
            "--disable-scheduler",
            "--disable-controllers",
        ])
        .args(flags)
        .arg("--data-dir")
        .arg(dir)
        .env("WHARF_LOG", "warn");
    support::start(command, "Wharf is up: API at ").await.0
}

/// A kubeconfig for `user` (bound to cluster-admin by a ClusterRoleBinding), signed with the cluster CA.
fn bench_user(dir: &Path, admin: &Path, user: &str) -> std::path::PathBuf {
    let read = |f: &str| std::fs::read_to_string(dir.join("pki").join(f)).expect("the cluster CA");
    let ca = pki::Ca::from_pem(&read("ca.crt"), &read("ca.key")).expect("CA");
    let issued = ca.issue_client(user, &[], Duration::from_secs(3600)).expect("certificate");
    let b64 = |pem: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(pem)
    };
    let text = std::fs::read_to_string(admin).expect("kubeconfig");
    let text: String = text
        .lines()
        .map(|l| {
            if l.contains("client-certificate-data:") {
                format!("    client-certificate-data: {}\n", b64(&issued.cert_pem))
            } else if l.contains("client-key-data:") {
                format!("    client-key-data: {}\n", b64(&issued.key_pem))
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let path = dir.join(format!("{user}-kubeconfig"));
    std::fs::write(&path, text).expect("write");
    path
}

async fn creates_per_second(http: &ApiClient, ns: &str) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (http, next, url) = (http.clone(), next.clone(), format!("/api/v1/namespaces/{ns}/pods"));
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= CREATES {
                    return;
                }
                assert_eq!(http.request("POST", &url, pod(&format!("p-{i}"))).await.0, 201);
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer");
    }
    CREATES as f64 / start.elapsed().as_secs_f64()
}

async fn gets_per_second(http: &ApiClient, ns: &str) -> f64 {
    let gets = Arc::new(AtomicUsize::new(0));
    let until = Instant::now() + Duration::from_secs(5);
    let mut tasks = Vec::new();
    for c in 0..64 {
        let (http, gets, ns) = (http.clone(), gets.clone(), ns.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut i = c;
            while Instant::now() < until {
                let url = format!("/api/v1/namespaces/{ns}/pods/p-{}", i % CREATES);
                assert_eq!(http.request("GET", &url, Bytes::new()).await.0, 200);
                gets.fetch_add(1, Ordering::Relaxed);
                i += 64;
            }
        }));
    }
    for task in tasks {
        task.await.expect("reader");
    }
    gets.load(Ordering::Relaxed) as f64 / 5.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// p50 and p99 of a fresh client's first request, 200 times.
async fn first_request(kubeconfig: &Path) -> (Duration, Duration) {
    let mut times = Vec::new();
    for _ in 0..200 {
        let http = ApiClient::from_kubeconfig(kubeconfig);
        let start = Instant::now();
        assert_eq!(http.request("GET", "/api/v1/namespaces/default", Bytes::new()).await.0, 200);
        times.push(start.elapsed());
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

/// p50 and p99 of the TLS handshake alone (TCP connect included), 200 times.
async fn handshakes(dir: &Path, kubeconfig: &Path) -> (Duration, Duration) {
    let read = |f: &str| std::fs::read_to_string(dir.join("pki").join(f)).expect("pki");
    let text = std::fs::read_to_string(kubeconfig).expect("kubeconfig");
    let server =
        text.lines().find_map(|l| l.trim().strip_prefix("server: https://")).expect("server").to_owned();
    let tls = pki::client_config(&read("ca.crt"), None).expect("TLS");
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
    let mut times = Vec::new();
    for _ in 0..200 {
        let start = Instant::now();
        let tcp = tokio::net::TcpStream::connect(&server).await.expect("connect");
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
        connector.connect(name, tcp).await.expect("handshake");
        times.push(start.elapsed());
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

/// p50 and p99 of `calm`'s sequential gets for 5 s, while `flood` (when given) sends gets from 512 connections
/// as fast as it is answered (429s included); and how many of the flood's requests were refused.
async fn latency_under_flood(calm: &ApiClient, flood: Option<&ApiClient>) -> (Duration, Duration, usize) {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let refused = Arc::new(AtomicUsize::new(0));
    let mut flooders = Vec::new();
    for c in 0..flood.map_or(0, |_| 512) {
        let (http, stop, refused) = (flood.expect("flood").clone(), stop.clone(), refused.clone());
        flooders.push(tokio::spawn(async move {
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                let url = format!("/api/v1/namespaces/bench/pods/p-{}", i % CREATES);
                if http.request("GET", &url, Bytes::new()).await.0 == 429 {
                    refused.fetch_add(1, Ordering::Relaxed);
                }
                i += 512;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut times = Vec::new();
    let until = Instant::now() + Duration::from_secs(5);
    let mut i = 0;
    while Instant::now() < until {
        let start = Instant::now();
        let url = format!("/api/v1/namespaces/bench/pods/p-{}", i % CREATES);
        assert_eq!(calm.request("GET", &url, Bytes::new()).await.0, 200);
        times.push(start.elapsed());
        i += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for flooder in flooders {
        flooder.await.expect("flooder");
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99), refused.load(Ordering::Relaxed))
}

#[tokio::main]
async fn main() {
    println!(
        "machine: {} cores; {CREATES} creates and 5 s of gets per configuration, 64 clients each",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    let configurations: [(&str, &[&str]); 3] = [
        (
            "plain HTTP, anonymous, AlwaysAllow",
            &["--insecure-plain-http", "--anonymous-auth", "--authorization-mode", "AlwaysAllow"],
        ),
        ("HTTPS, client certificate, Node+RBAC", &[]),
        ("HTTPS, client certificate, Node+RBAC, audit log", &["--audit-log-path", "AUDIT"]),
    ];
    for (name, flags) in configurations {
        let dir = tempfile::tempdir().expect("tempdir");
        let audit = dir.path().join("audit.log").display().to_string();
        let flags: Vec<&str> = flags.iter().map(|f| if *f == "AUDIT" { audit.as_str() } else { f }).collect();
        let mut server = up(dir.path(), &flags).await;
        let admin_kubeconfig = dir.path().join("kubeconfig");
        let admin = ApiClient::from_kubeconfig(&admin_kubeconfig);
        let binding = serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "bench"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bench"},
                         {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "flood"}]});
        let path = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings";
        assert_eq!(admin.request("POST", path, binding.to_string().into()).await.0, 201);
        let plain = flags.contains(&"--insecure-plain-http");
        let kubeconfig =
            if plain { admin_kubeconfig.clone() } else { bench_user(dir.path(), &admin_kubeconfig, "bench") };
        let http = ApiClient::from_kubeconfig(&kubeconfig);
        let ns = serde_json::json!({"metadata": {"name": "bench"}}).to_string().into();
        assert_eq!(http.request("POST", "/api/v1/namespaces", ns).await.0, 201);
        let creates = creates_per_second(&http, "bench").await;
        let gets = gets_per_second(&http, "bench").await;
        println!("{name}: durable creates/s {creates:.0}, gets/s {gets:.0}");
        let (p50, p99) = first_request(&kubeconfig).await;
        println!("{name}: a fresh connection's first request p50 {p50:?}, p99 {p99:?}");
        if !plain {
            let (p50, p99) = handshakes(dir.path(), &kubeconfig).await;
            println!("{name}: TLS handshake (with TCP connect) p50 {p50:?}, p99 {p99:?}");
        }
        if !plain && !flags.contains(&"--audit-log-path") {
            let (p50, p99, _) = latency_under_flood(&http, None).await;
            println!("{name}: one user's sequential gets alone p50 {p50:?}, p99 {p99:?}");
            let flood = ApiClient::from_kubeconfig(&bench_user(dir.path(), &admin_kubeconfig, "flood"));
            let (p50, p99, refused) = latency_under_flood(&http, Some(&flood)).await;
            println!(
                "{name}: the same while another user floods from 512 connections p50 {p50:?}, p99 {p99:?} \
                 ({refused} of the flood's requests answered 429)"
            );
        }
        server.start_kill().ok();
        let _ = server.wait().await;
    }
}
