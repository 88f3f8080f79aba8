//! The cluster's certificates, kept in `DATA_DIR/pki` with owner-only permissions: the cluster CA (which signs
//! the serving certificate and every client certificate the cluster hands out), the API server's serving
//! certificate, and the ServiceAccount token signing key. Made on first start, reused afterwards, and the serving
//! certificate is made again when a third of its life is left or when the names it must cover change.
//!
//! User-supplied files (kube-apiserver's `--tls-cert-file`, `--tls-private-key-file`, `--client-ca-file`) take
//! the place of the generated serving certificate and add to the CAs trusted for client certificates; the
//! cluster CA stays, because in-process components and joining nodes get their identities from it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pki::{Ca, Issued, ReloadableCert, San};

/// How long a generated serving or client certificate is valid.
pub const LEAF_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);

/// Where the API server gets its TLS material.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// A serving certificate chain (PEM) to use instead of the generated one.
    pub cert_file: Option<PathBuf>,
    /// Its private key (PEM).
    pub key_file: Option<PathBuf>,
    /// CA certificates (PEM) whose client certificates are accepted, besides the cluster CA's.
    pub client_ca_file: Option<PathBuf>,
    /// Names and addresses the generated serving certificate covers besides the listen address, loopback,
    /// `localhost` and the host's name (a node's `--node-ip`, a load balancer's name).
    pub extra_sans: Vec<San>,
}

/// The loaded certificates of a running server.
pub struct Credentials {
    ca: Ca,
    dir: PathBuf,
    serving: Arc<ReloadableCert>,
    /// The SANs the generated serving certificate must cover; `None` when it is user-supplied.
    sans: Option<Vec<San>>,
    client_ca_pem: String,
    sa_key_pem: String,
    /// The supplied serving chain, when there is one.
    serving_chain_pem: String,
}

const CA_CERT: &str = "ca.crt";
const CA_KEY: &str = "ca.key";
const SERVING_CERT: &str = "apiserver.crt";
const SERVING_KEY: &str = "apiserver.key";
const SERVING_SANS: &str = "apiserver.sans";
const SA_KEY: &str = "sa.key";

impl Credentials {
    /// Loads `data_dir/pki`, making what is missing. Blocking. Errors are one line naming the file.
    pub fn load_or_create(data_dir: &Path, options: &TlsOptions, listen: SocketAddr) -> Result<Self, String> {
        let dir = data_dir.join("pki");
        create_private_dir(&dir)?;
        let ca = if let (Some(cert), Some(key)) =
            (read_optional(&dir.join(CA_CERT))?, read_optional(&dir.join(CA_KEY))?)
        {
            Ca::from_pem(&cert, &key).map_err(|e| format!("{}: {e}", dir.join(CA_CERT).display()))?
        } else {
            let ca = Ca::generate("wharf-ca").map_err(|e| format!("cannot make the cluster CA: {e}"))?;
            write(&dir.join(CA_KEY), &ca.key_pem())?;
            write(&dir.join(CA_CERT), ca.cert_pem())?;
            ca
        };
        let sa_key_pem = if let Some(pem) = read_optional(&dir.join(SA_KEY))? {
            pem
        } else {
            let (_, pem) = crate::auth::jwt::Signer::generate()
                .map_err(|e| format!("cannot make the ServiceAccount signing key: {e}"))?;
            write(&dir.join(SA_KEY), &pem)?;
            pem
        };
        let mut client_ca_pem = ca.cert_pem().to_owned();
        if let Some(file) = &options.client_ca_file {
            let extra = std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read --client-ca-file {}: {e}", file.display()))?;
            client_ca_pem.push('\n');
            client_ca_pem.push_str(&extra);
        }
        let mut serving_chain_pem = String::new();
        let (serving, sans) = match (&options.cert_file, &options.key_file) {
            (Some(cert), Some(key)) => {
                let read = |path: &PathBuf, flag: &str| {
                    std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read {flag} {}: {e}", path.display()))
                };
                let (cert_pem, key_pem) =
                    (read(cert, "--tls-cert-file")?, read(key, "--tls-private-key-file")?);
                let resolver = ReloadableCert::new(&cert_pem, &key_pem)
                    .map_err(|e| format!("--tls-cert-file {}: {e}", cert.display()))?;
                serving_chain_pem = cert_pem;
                (resolver, None)
            }
            (None, None) => {
                let sans = serving_sans(listen, &options.extra_sans);
                let (cert_pem, key_pem) = current_serving(&dir, &ca, &sans)?;
                let resolver = ReloadableCert::new(&cert_pem, &key_pem)
                    .map_err(|e| format!("{}: {e}", dir.join(SERVING_CERT).display()))?;
                (resolver, Some(sans))
            }
            _ => return Err("--tls-cert-file and --tls-private-key-file go together".into()),
        };
        Ok(Self { ca, dir, serving, sans, client_ca_pem, sa_key_pem, serving_chain_pem })
    }

    /// The rustls configuration: the serving certificate, and client certificates verified when presented.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, String> {
        pki::server_config_with_resolver(self.serving.clone(), Some(&self.client_ca_pem))
            .map(Arc::new)
            .map_err(|e| format!("TLS configuration: {e}"))
    }

    /// The cluster CA certificate, which signs client certificates (and the generated serving certificate).
    pub fn ca_pem(&self) -> &str {
        self.ca.cert_pem()
    }

    /// What clients trust for the serving certificate: the cluster CA for the generated one; for a supplied
    /// chain, the certificates after its leaf (its CA); `None` when the chain is a lone leaf, which clients then
    /// check against their system roots.
    pub fn serving_trust_pem(&self) -> Option<String> {
        if self.sans.is_some() {
            return Some(self.ca.cert_pem().to_owned());
        }
        let chain = &self.serving_chain_pem;
        let second = chain.match_indices("-----BEGIN CERTIFICATE-----").nth(1)?.0;
        Some(chain[second..].to_owned())
    }

    /// The PKCS#8 PEM of the ServiceAccount token signing key.
    pub fn service_account_key_pem(&self) -> &str {
        &self.sa_key_pem
    }

    /// A client certificate for `user` in `groups`, signed by the cluster CA.
    pub fn issue_client(&self, user: &str, groups: &[&str]) -> Result<Issued, String> {
        self.ca
            .issue_client(user, groups, LEAF_VALIDITY)
            .map_err(|e| format!("cannot issue a certificate: {e}"))
    }

    /// The cluster CA, for signing nodes' certificate requests.
    pub fn ca(&self) -> &Ca {
        &self.ca
    }

    /// Makes a new serving certificate when the current one is due; new connections get it at once.
    pub fn renew_if_due(&self) -> Result<bool, String> {
        let Some(sans) = &self.sans else { return Ok(false) };
        let cert = read_optional(&self.dir.join(SERVING_CERT))?.unwrap_or_default();
        if !pki::needs_renewal(&cert, jiff::Timestamp::now()) {
            return Ok(false);
        }
        let issued = issue_serving(&self.dir, &self.ca, sans)?;
        self.serving.replace(&issued.cert_pem, &issued.key_pem).map_err(|e| e.to_string())?;
        Ok(true)
    }
}

/// The generated serving certificate, made again when it is due or covers other names than it must.
fn current_serving(dir: &Path, ca: &Ca, sans: &[San]) -> Result<(String, String), String> {
    let wanted = describe(sans);
    let existing = (
        read_optional(&dir.join(SERVING_CERT))?,
        read_optional(&dir.join(SERVING_KEY))?,
        read_optional(&dir.join(SERVING_SANS))?,
    );
    if let (Some(cert), Some(key), Some(covered)) = existing
        && covered == wanted
        && !pki::needs_renewal(&cert, jiff::Timestamp::now())
    {
        return Ok((cert, key));
    }
    let issued = issue_serving(dir, ca, sans)?;
    Ok((issued.cert_pem, issued.key_pem))
}

fn issue_serving(dir: &Path, ca: &Ca, sans: &[San]) -> Result<Issued, String> {
    let issued = ca
        .issue_serving("wharf-apiserver", sans, LEAF_VALIDITY)
        .map_err(|e| format!("cannot make the serving certificate: {e}"))?;
    write(&dir.join(SERVING_KEY), &issued.key_pem)?;
    write(&dir.join(SERVING_CERT), &issued.cert_pem)?;
    write(&dir.join(SERVING_SANS), &describe(sans))?;
    Ok(issued)
}

fn describe(sans: &[San]) -> String {
    sans.iter()
        .map(|s| match s {
            San::Dns(name) => format!("DNS:{name}\n"),
            San::Ip(ip) => format!("IP:{ip}\n"),
        })
        .collect::<String>()
}

/// Loopback, `localhost`, the host's name, the listen address (every local address when it is unspecified is
/// not knowable; the host name and loopback then stand in), and the extra names.
fn serving_sans(listen: SocketAddr, extra: &[San]) -> Vec<San> {
    let mut sans = vec![
        San::Dns("localhost".into()),
        San::Dns("kubernetes".into()),
        San::Dns("kubernetes.default".into()),
        San::Dns("kubernetes.default.svc".into()),
        San::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        San::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)),
    ];
    if let Some(host) = host_name() {
        sans.push(San::Dns(host));
    }
    if !listen.ip().is_unspecified() {
        sans.push(San::Ip(listen.ip()));
    }
    sans.extend(extra.iter().cloned());
    let mut unique = Vec::new();
    for san in sans {
        if !unique.contains(&san) {
            unique.push(san);
        }
    }
    unique
}

fn host_name() -> Option<String> {
    #[cfg(target_os = "linux")]
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    #[cfg(not(target_os = "linux"))]
    let name = host_name_without_proc()?;
    let name = name.trim().to_ascii_lowercase();
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'))
        .then_some(name)
}

/// Without /proc: Windows names the machine in `COMPUTERNAME`, macOS answers `hostname`. Without either the
/// serving certificate names only localhost and addresses, which is worth a warning rather than a failure.
#[cfg(not(target_os = "linux"))]
fn host_name_without_proc() -> Option<String> {
    let name = std::env::var("COMPUTERNAME").ok().or_else(|| {
        let out = std::process::Command::new("hostname").output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    });
    if name.is_none() {
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            tracing::warn!(
                "the machine's host name is not known: the serving certificate names only localhost and addresses"
            );
        });
    }
    name
}

fn create_private_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot restrict {}: {e}", dir.display()))?;
    }
    #[cfg(not(unix))]
    pki::warn_not_owner_only();
    Ok(())
}

fn read_optional(path: &Path) -> Result<Option<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn write(path: &Path, contents: &str) -> Result<(), String> {
    pki::write_private(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
