//! Shared set-up for the integration tests: a real API server on 127.0.0.1:0 in a temporary data directory,
//! kube-rs clients for it, and the real kubectl installed by `scripts/setup.sh`.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use apiserver::{Server, ServerConfig};
use tempfile::TempDir;

/// A running API server with its own data directory.
pub struct TestServer {
    /// The server.
    pub server: Server,
    /// Its data directory (removed on drop).
    pub dir: TempDir,
}

impl TestServer {
    /// Starts a server on a free port of 127.0.0.1 in a fresh data directory.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after letting the caller adjust its configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut config = ServerConfig::new(([127, 0, 0, 1], 0).into(), dir.path());
        adjust(&mut config);
        let server = Server::start(config).await.expect("server starts");
        Self { server, dir }
    }

    /// The server's base URL.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// A kube-rs client for it as the cluster admin (the generated kubeconfig's identity).
    pub fn client(&self) -> kube::Client {
        client_for(&std::fs::read_to_string(self.server.kubeconfig()).expect("kubeconfig"))
    }

    /// A kube-rs client acting as `user` in `groups`, with a client certificate from the cluster CA.
    pub fn client_as(&self, user: &str, groups: &[&str]) -> kube::Client {
        client_for(&self.server.kubeconfig_for(user, groups).expect("credentials"))
    }

    /// A kube-rs client that trusts the server but presents no credentials.
    pub fn anonymous_client(&self) -> kube::Client {
        client_for(&self.kubeconfig_text_with_token(None))
    }

    /// A kube-rs client that presents a bearer token.
    pub fn client_with_token(&self, token: &str) -> kube::Client {
        client_for(&self.kubeconfig_text_with_token(Some(token)))
    }

    /// A kubeconfig file that presents a bearer token, for kubectl.
    pub fn kubeconfig_with_token(&self, token: &str) -> PathBuf {
        let path = self.dir.path().join(format!("kubeconfig-token-{}", &token[..token.len().min(8)]));
        std::fs::write(&path, self.kubeconfig_text_with_token(Some(token))).expect("write");
        path
    }

    /// The admin kubeconfig with its client certificate replaced by `token` (or by nothing).
    fn kubeconfig_text_with_token(&self, token: Option<&str>) -> String {
        let admin = std::fs::read_to_string(self.server.kubeconfig()).expect("kubeconfig");
        let user = token.map_or_else(|| "  user: {}\n".to_owned(), |t| format!("  user:\n    token: {t}\n"));
        admin
            .lines()
            .filter(|l| {
                !["client-certificate-data:", "client-key-data:", "token:"].iter().any(|f| l.contains(f))
            })
            .map(|l| if l.trim() == "user:" { user.clone() } else { format!("{l}\n") })
            .collect()
    }

    /// A kubeconfig file acting as `user` in `groups`, for kubectl.
    pub fn kubeconfig_as(&self, user: &str, groups: &[&str]) -> PathBuf {
        let path = self.dir.path().join(format!("kubeconfig-{}", user.replace(':', "-")));
        std::fs::write(&path, self.server.kubeconfig_for(user, groups).expect("credentials")).expect("write");
        path
    }

    /// The real kubectl, pointed at this server.
    pub fn kubectl(&self) -> Kubectl {
        Kubectl::new(self.server.kubeconfig())
    }
}

/// A kube-rs client for a server as its admin (from the kubeconfig the server wrote).
pub fn admin_client(server: &Server) -> kube::Client {
    client_for(&std::fs::read_to_string(server.kubeconfig()).expect("kubeconfig"))
}

/// A kube-rs client from a kubeconfig's text. It does not retry 429/503/504 answers (kube-rs does by default),
/// so tests see exactly what the server said.
pub fn client_for(kubeconfig: &str) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::from_yaml(kubeconfig).expect("a kubeconfig");
    let cluster = kubeconfig.clusters[0].cluster.clone().expect("a cluster");
    let mut config = kube::Config::new(cluster.server.expect("a server").parse().expect("url"));
    if let Some(ca) = cluster.certificate_authority_data {
        use base64::Engine as _;
        let pem = base64::engine::general_purpose::STANDARD.decode(ca).expect("base64 CA");
        let der = pem_to_der(&pem);
        config.root_cert = Some(vec![der]);
    }
    config.auth_info = kubeconfig.auth_infos[0].auth_info.clone().expect("a user");
    config.default_retry = false;
    kube::Client::try_from(config).expect("client")
}

/// The DER bytes of the first PEM block.
fn pem_to_der(pem: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let text = std::str::from_utf8(pem).expect("PEM is text");
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(body).expect("PEM body")
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// The real kubectl 1.37 with a private home and cache directory.
pub struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    home: TempDir,
}

impl Kubectl {
    /// kubectl from `WHARF_KUBECTL` or the project's venv. Panics with the fix when it is missing: these tests
    /// must not pass silently without it.
    pub fn new(kubeconfig: &Path) -> Self {
        let bin = std::env::var_os("WHARF_KUBECTL")
            .map_or_else(|| workspace_root().join(".venv-kubectl/bin/kubectl"), PathBuf::from);
        assert!(bin.exists(), "kubectl not found at {}: run scripts/setup.sh", bin.display());
        Self { bin, kubeconfig: kubeconfig.to_path_buf(), home: tempfile::tempdir().expect("home") }
    }

    /// A directory for manifests of this test.
    pub fn dir(&self) -> &Path {
        self.home.path()
    }

    /// Writes a file in [`Self::dir`] and returns its path as a string.
    pub fn write(&self, name: &str, contents: &str) -> String {
        let path = self.home.path().join(name);
        std::fs::write(&path, contents).expect("write manifest");
        path.display().to_string()
    }

    /// Runs kubectl (killed after 60 s, so a hanging watch fails the test instead of stalling it).
    pub async fn run(&self, args: &[&str]) -> Output {
        let child = tokio::process::Command::new(&self.bin)
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.home.path())
            .env("KUBECACHEDIR", self.home.path().join("cache"))
            .kill_on_drop(true)
            .output();
        tokio::time::timeout(Duration::from_secs(60), child)
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} did not finish in 60 s"))
            .expect("kubectl runs")
    }

    /// Runs kubectl and returns its stdout, failing the test with stderr when it exits non-zero.
    pub async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "kubectl {args:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl expecting failure; returns stderr.
    pub async fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            !out.status.success(),
            "kubectl {args:?} should fail but printed:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

/// A raw HTTP exchange through kube-rs' transport, for requests its typed API cannot make (bad bodies,
/// unusual content types). Returns the status code and the body parsed as JSON (`Null` when it is not JSON).
pub async fn raw(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: impl Into<Vec<u8>>,
) -> (u16, serde_json::Value) {
    use http_body_util::BodyExt;
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(kube::client::Body::from(body.into()))
        .expect("request");
    let response = client.send(request).await.expect("server answers");
    let code = response.status().as_u16();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (code, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

/// How long a test waits for a controller or an agent to act, unless it says otherwise: generous, since CI
/// machines are small and shared. Waiting never slows a passing test; only a failing one waits this long.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// What a polled check answers: `true`, or `Some(value)`, once what it waits for holds.
pub trait Outcome {
    /// What the check found.
    type Value;
    /// `Some` when the check holds.
    fn done(self) -> Option<Self::Value>;
}

impl Outcome for bool {
    type Value = ();
    fn done(self) -> Option<()> {
        self.then_some(())
    }
}

impl<T> Outcome for Option<T> {
    type Value = T;
    fn done(self) -> Option<T> {
        self
    }
}

/// Polls `check` every 50 ms until it holds and returns what it found; fails the test, naming `what`, after
/// `limit`.
pub async fn eventually<O: Outcome>(
    what: &str,
    limit: Duration,
    mut check: impl AsyncFnMut() -> O,
) -> O::Value {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await.done() {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Applies a JSON merge patch to `name`, as `kubectl patch --type=merge` does.
pub async fn merge<K>(api: &kube::Api<K>, name: &str, patch: serde_json::Value) -> kube::Result<K>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch(name, &kube::api::PatchParams::default(), &kube::api::Patch::Merge(patch)).await
}

/// Applies a JSON merge patch to the status of `name`, as a controller or node agent reports.
pub async fn merge_status<K>(api: &kube::Api<K>, name: &str, patch: serde_json::Value) -> kube::Result<K>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch_status(name, &kube::api::PatchParams::default(), &kube::api::Patch::Merge(patch)).await
}

/// The status a node agent writes for a pod whose containers run and pass their readiness checks.
pub fn running_and_ready() -> serde_json::Value {
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    serde_json::json!({"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": now}]}})
}
