//! Joining a cluster with a bootstrap token, as kubeadm's TLS bootstrap does: the node authenticates with the
//! token, asks for a client certificate for `system:node:<name>` with a CertificateSigningRequest, waits for the
//! cluster to approve and sign it, and from then on acts as itself with the kubeconfig it writes in its data
//! directory (used again on the next start, so the token is needed only once). As itself it then asks for the
//! serving certificate of its endpoint (`kubernetes.io/kubelet-serving`, for its address), so that the API server
//! and other nodes reach it over TLS.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kube::Api;
use kube::api::{DynamicObject, PostParams};
use serde_json::{Value, json};

/// The signer of node client certificates.
const KUBELET_CLIENT_SIGNER: &str = "kubernetes.io/kube-apiserver-client-kubelet";
/// The signer of node serving certificates.
const KUBELET_SERVING_SIGNER: &str = "kubernetes.io/kubelet-serving";
/// How long a join waits for its certificate.
const APPROVAL_TIMEOUT: Duration = Duration::from_secs(60);

/// Where a joined node keeps its own credentials.
pub fn node_kubeconfig(data_dir: &Path) -> PathBuf {
    data_dir.join("kubeconfig")
}

/// What a joined node has: its kubeconfig and its endpoint's certificates.
pub struct Joined {
    /// The node's own kubeconfig.
    pub kubeconfig: PathBuf,
    /// The endpoint's TLS material.
    pub tls: host::NodeTls,
}

/// Joins the cluster at `server` as node `node_name` at `node_ip`, unless it joined before.
pub async fn join(
    server: &str,
    token: &str,
    ca_file: &Path,
    node_name: &str,
    node_ip: std::net::IpAddr,
    data_dir: &Path,
) -> anyhow::Result<Joined> {
    let path = node_kubeconfig(data_dir);
    if !path.exists() {
        let with_token = format!("    token: {token}\n");
        request_client_certificate(server, &with_token, ca_file, node_name, data_dir).await?;
    } else if let Some(fields) = due_client_identity(&path)? {
        // A third of its life left: the node asks for a new one as itself, as kubelets rotate theirs.
        request_client_certificate(server, &fields, ca_file, node_name, data_dir).await.with_context(
            || {
                format!(
                    "cannot renew the node's certificate; to join afresh, remove {} and pass a new --token",
                    path.display()
                )
            },
        )?;
    }
    let kubeconfig =
        std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let (cert, key) = (data_dir.join("serving.crt"), data_dir.join("serving.key"));
    let serving_due =
        std::fs::read_to_string(&cert).map_or(true, |pem| pki::needs_renewal(&pem, jiff::Timestamp::now()));
    if serving_due || !key.exists() {
        let client = super::client_from_kubeconfig_text(&kubeconfig).await?;
        let user = format!("system:node:{node_name}");
        let (csr, private) = pki::make_csr(&user, &["system:nodes"], &[pki::San::Ip(node_ip)])
            .context("cannot make a certificate request")?;
        let api: Api<DynamicObject> = Api::all_with(client, &csr_resource());
        let name = format!("node-serving-{node_name}-{}", &uuid_like()[..8]);
        let usages = ["digital signature", "server auth"];
        let certificate = ask(&api, &name, &csr, KUBELET_SERVING_SIGNER, &usages).await?;
        pki::write_private(&key, &private).with_context(|| format!("cannot write {}", key.display()))?;
        pki::write_private(&cert, &certificate)
            .with_context(|| format!("cannot write {}", cert.display()))?;
    }
    let read = |p: &Path| std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()));
    let parsed = kube::config::Kubeconfig::from_yaml(&kubeconfig).context("the node's kubeconfig")?;
    let user = parsed
        .auth_infos
        .first()
        .and_then(|a| a.auth_info.clone())
        .context("the node's kubeconfig has no user")?;
    let decode = |b64: Option<String>| -> anyhow::Result<String> {
        let b64 = b64.context("the node's kubeconfig has no client certificate")?;
        Ok(String::from_utf8(STANDARD.decode(b64)?)?)
    };
    let client_key = user.client_key_data.map(|k| secrecy::ExposeSecret::expose_secret(&k).to_owned());
    let tls = host::NodeTls {
        ca_pem: read(ca_file)?,
        serving: (read(&cert)?, read(&key)?),
        client: (decode(user.client_certificate_data)?, decode(client_key)?),
    };
    Ok(Joined { kubeconfig: path, tls })
}

/// The user fields of the node's kubeconfig when its client certificate is due for renewal.
fn due_client_identity(path: &Path) -> anyhow::Result<Option<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let parsed = kube::config::Kubeconfig::from_yaml(&text).context("the node's kubeconfig")?;
    let certificate = parsed
        .auth_infos
        .first()
        .and_then(|a| a.auth_info.as_ref())
        .and_then(|u| u.client_certificate_data.as_deref())
        .and_then(|b64| STANDARD.decode(b64).ok())
        .and_then(|pem| String::from_utf8(pem).ok())
        .unwrap_or_default();
    if !pki::needs_renewal(&certificate, jiff::Timestamp::now()) {
        return Ok(None);
    }
    Ok(text.split_once("\n  user:\n").map(|(_, fields)| fields.to_owned()))
}

/// Asks for the node's client certificate, authenticating with `credentials` (a kubeconfig's user fields: the
/// bootstrap token, or the node's current certificate), and writes the node's kubeconfig.
async fn request_client_certificate(
    server: &str,
    credentials: &str,
    ca_file: &Path,
    node_name: &str,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let path = node_kubeconfig(data_dir);
    let ca = std::fs::read_to_string(ca_file)
        .with_context(|| format!("cannot read --certificate-authority {}", ca_file.display()))?;
    let bootstrap = kubeconfig(server, &ca, credentials);
    let client = super::client_from_kubeconfig_text(&bootstrap).await?;
    let user = format!("system:node:{node_name}");
    let (csr, key) =
        pki::make_csr(&user, &["system:nodes"], &[]).context("cannot make a certificate request")?;
    let api: Api<DynamicObject> = Api::all_with(client, &csr_resource());
    let name = format!("node-csr-{node_name}-{}", &uuid_like()[..8]);
    let certificate =
        ask(&api, &name, &csr, KUBELET_CLIENT_SIGNER, &["digital signature", "client auth"]).await?;
    let text = kubeconfig(
        server,
        &ca,
        &format!(
            "    client-certificate-data: {}\n    client-key-data: {}\n",
            STANDARD.encode(&certificate),
            STANDARD.encode(&key)
        ),
    );
    std::fs::create_dir_all(data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
    pki::write_private(&path, &text).with_context(|| format!("cannot write {}", path.display()))
}

/// Creates the CertificateSigningRequest `name` for `csr` and waits for its certificate.
async fn ask(
    api: &Api<DynamicObject>,
    name: &str,
    csr: &str,
    signer: &str,
    usages: &[&str],
) -> anyhow::Result<String> {
    let request: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {"request": STANDARD.encode(csr), "signerName": signer, "usages": usages},
    }))?;
    api.create(&PostParams::default(), &request).await.map_err(|e| match e {
        kube::Error::Api(status) if status.code == 401 => anyhow::anyhow!(
            "the API server refused the bootstrap token: it is unknown or expired (make one with `wctl token create`)"
        ),
        other => anyhow::anyhow!("cannot ask for the node's certificate: {other}"),
    })?;
    wait_for_certificate(api, name).await
}

async fn wait_for_certificate(api: &Api<DynamicObject>, name: &str) -> anyhow::Result<String> {
    let deadline = tokio::time::Instant::now() + APPROVAL_TIMEOUT;
    loop {
        let request =
            serde_json::to_value(api.get(name).await.context("cannot read the certificate request")?)?;
        if let Some(encoded) = request.pointer("/status/certificate").and_then(Value::as_str) {
            return String::from_utf8(STANDARD.decode(encoded)?).context("the certificate is not PEM");
        }
        let conditions =
            request.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
        if let Some(refusal) = conditions.iter().find(|c| c["type"] == "Denied" || c["type"] == "Failed") {
            bail!(
                "the cluster {} the node's certificate request {name}: {}",
                if refusal["type"] == "Denied" { "denied" } else { "failed to sign" },
                refusal["message"].as_str().unwrap_or("no reason given")
            );
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "the certificate request {name} was not approved within {APPROVAL_TIMEOUT:?}; approve it with `kubectl certificate approve {name}`"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn csr_resource() -> kube::discovery::ApiResource {
    kube::discovery::ApiResource {
        group: "certificates.k8s.io".into(),
        version: "v1".into(),
        api_version: "certificates.k8s.io/v1".into(),
        kind: "CertificateSigningRequest".into(),
        plural: "certificatesigningrequests".into(),
    }
}

fn kubeconfig(server: &str, ca_pem: &str, user_fields: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: wharf\n  cluster:\n    server: {server}\n    \
         certificate-authority-data: {}\ncontexts:\n- name: wharf\n  context:\n    cluster: wharf\n    user: node\n\
         current-context: wharf\nusers:\n- name: node\n  user:\n{user_fields}",
        STANDARD.encode(ca_pem)
    )
}

/// 16 random lowercase hex digits.
fn uuid_like() -> String {
    let mut bytes = [0u8; 8];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
    hex::encode(bytes)
}
