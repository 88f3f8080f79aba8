//! What the benchmarks that start a real cluster share: the workspace, the `wasi:http` guest, starting `wctl`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf()
}

/// Builds one guest of examples/guests for `target` as the tests do (`select`: `-p PACKAGE` or `--bin NAME`) and
/// returns its file, `file` under the target's release directory.
fn guest(target: &str, select: [&str; 2], file: &str) -> PathBuf {
    let dir = root().join("target/guests");
    let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--quiet", "--target", target])
        .args(select)
        .arg("--manifest-path")
        .arg(root().join("examples/guests/Cargo.toml"))
        .arg("--target-dir")
        .arg(&dir)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the guests failed (run scripts/setup.sh)");
    dir.join(target).join("release").join(file)
}

/// The `wasi:http` hello component.
#[allow(dead_code, reason = "not every benchmark runs it")]
pub fn http_hello() -> PathBuf {
    guest("wasm32-wasip2", ["-p", "http-hello"], "http_hello.wasm")
}

/// The hello command module.
#[allow(dead_code, reason = "not every benchmark runs it")]
pub fn hello() -> PathBuf {
    guest("wasm32-wasip1", ["--bin", "hello"], "hello.wasm")
}

/// A running two-node cluster: `wctl up` (node `local` at 127.0.0.1) and `wctl node` (node `far` at 127.0.0.2).
#[allow(dead_code, reason = "not every benchmark runs two nodes")]
pub struct TwoNodes {
    /// `wctl up`.
    pub server: Child,
    /// The API server's URL.
    pub url: String,
    /// `wctl node`.
    pub far: Child,
}

/// Starts a two-node cluster in `dir`.
#[allow(dead_code, reason = "not every benchmark runs two nodes")]
pub async fn two_nodes(dir: &Path) -> TwoNodes {
    let wctl = env!("CARGO_BIN_EXE_wctl");
    let mut up = Command::new(wctl);
    up.args(["up", "--listen", "127.0.0.1:0", "--node-ip", "127.0.0.1", "--data-dir"])
        .arg(dir)
        .env("WHARF_LOG", "warn");
    let (server, url) = start(up, "Wharf is up: API at ").await;
    let mut node = Command::new(wctl);
    node.args(["node", "--node-name", "far", "--node-ip", "127.0.0.2", "--kubeconfig"])
        .arg(dir.join("kubeconfig"))
        .arg("--data-dir")
        .arg(dir.join("far"))
        .env("WHARF_LOG", "warn")
        .stdout(Stdio::null());
    let far = node.kill_on_drop(true).spawn().expect("wctl node");
    TwoNodes { server, url, far }
}

/// Starts `command` and waits for the stdout line starting with `prefix`; returns the child and the line's rest.
pub async fn start(mut command: Command, prefix: &str) -> (Child, String) {
    let mut child = command.stdout(Stdio::piped()).kill_on_drop(true).spawn().expect("starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut found = String::new();
    while let Some(line) = lines.next_line().await.expect("stdout") {
        if let Some(rest) = line.strip_prefix(prefix) {
            rest.clone_into(&mut found);
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, found)
}

/// A kube-rs client with the credentials of the kubeconfig `wctl up` wrote in `data_dir`.
#[allow(dead_code, reason = "not every benchmark uses kube-rs")]
pub async fn admin_client(data_dir: &Path) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(data_dir.join("kubeconfig")).expect("kubeconfig");
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
            .await
            .expect("usable kubeconfig");
    kube::Client::try_from(config).expect("client")
}

/// A thin HTTP client (pre-serialised bodies, status codes) over TLS with a kubeconfig's client certificate,
/// or over plain HTTP with its bearer token.
#[allow(dead_code, reason = "not every benchmark drives the API by hand")]
#[derive(Clone)]
pub struct ApiClient {
    http: hyper_util::client::legacy::Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        http_body_util::Full<bytes::Bytes>,
    >,
    /// The server's URL.
    pub base: String,
    token: Option<String>,
}

#[allow(dead_code, reason = "not every benchmark drives the API by hand")]
impl ApiClient {
    /// A client for the kubeconfig at `path`.
    pub fn from_kubeconfig(path: &Path) -> Self {
        let kubeconfig = kube::config::Kubeconfig::read_from(path).expect("kubeconfig");
        let cluster = kubeconfig.clusters[0].cluster.clone().expect("cluster");
        let user = kubeconfig.auth_infos[0].auth_info.clone().expect("user");
        let decode = |b64: &str| {
            use base64::Engine as _;
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).expect("base64"))
                .expect("PEM")
        };
        let ca = cluster.certificate_authority_data.as_deref().map(decode);
        let identity = user
            .client_certificate_data
            .as_deref()
            .map(decode)
            .zip(user.client_key_data.as_ref().map(|k| decode(secrecy::ExposeSecret::expose_secret(k))));
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.enforce_http(false);
        connector.set_nodelay(true);
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let https = match &ca {
            Some(ca) => {
                let mut tls =
                    pki::client_config(ca, identity.as_ref().map(|(c, k)| (c.as_str(), k.as_str())))
                        .expect("TLS configuration");
                // The connector sets ALPN itself.
                tls.alpn_protocols.clear();
                builder.with_tls_config(tls).https_or_http().enable_http1().wrap_connector(connector)
            }
            None => builder.with_webpki_roots().https_or_http().enable_http1().wrap_connector(connector),
        };
        let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_max_idle_per_host(256)
            .build(https);
        let token = user.token.as_ref().map(|t| secrecy::ExposeSecret::expose_secret(t).to_owned());
        Self { http, base: cluster.server.expect("server"), token }
    }

    /// Sends one request; returns the status and body.
    pub async fn request(&self, method: &str, path: &str, body: bytes::Bytes) -> (u16, bytes::Bytes) {
        use http_body_util::BodyExt as _;
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request.body(http_body_util::Full::new(body)).expect("request");
        let response = self.http.request(request).await.expect("server answers");
        let status = response.status().as_u16();
        (status, response.into_body().collect().await.expect("body").to_bytes())
    }

    /// Sends a bodiless request and returns the response to stream (`accept` sets the media type asked for).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        accept: Option<&str>,
    ) -> hyper_util::client::legacy::ResponseFuture {
        let mut request = http::Request::builder().method(method).uri(format!("{}{path}", self.base));
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        self.http.request(request.body(http_body_util::Full::default()).expect("request"))
    }
}

/// `value` as a typed object.
#[allow(dead_code, reason = "not every benchmark builds objects from JSON")]
pub fn json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("valid object")
}
