//! The API server's security flags, named as kube-apiserver names them.

use std::net::IpAddr;
use std::path::PathBuf;

use apiserver::ServerConfig;
use apiserver::auth::authz::Mode;

/// How the API server authenticates and authorises.
#[derive(clap::Args)]
pub struct SecurityFlags {
    /// The serving certificate (PEM chain) instead of the generated one (kube-apiserver's flag).
    #[arg(long, value_name = "FILE", requires = "tls_private_key_file")]
    tls_cert_file: Option<PathBuf>,
    /// The serving certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert_file")]
    tls_private_key_file: Option<PathBuf>,
    /// CA certificates whose client certificates are accepted besides the cluster CA's (CN = user, O = groups).
    #[arg(long, value_name = "FILE")]
    client_ca_file: Option<PathBuf>,
    /// Static bearer tokens: `token,user,uid,"group1,group2"` per line (kube-apiserver's flag).
    #[arg(long, value_name = "FILE")]
    token_auth_file: Option<PathBuf>,
    /// Serve requests without credentials as system:anonymous instead of refusing them with 401.
    #[arg(long)]
    anonymous_auth: bool,
    /// `Node,RBAC` (the default) or `AlwaysAllow` (every authenticated request is allowed).
    #[arg(long, value_name = "MODES", default_value = "Node,RBAC", value_parser = parse_authorization_mode)]
    authorization_mode: Mode,
    /// The `iss` of ServiceAccount tokens [default: https://kubernetes.default.svc.cluster.local].
    #[arg(long, value_name = "URL")]
    service_account_issuer: Option<String>,
    /// Serve plain HTTP instead of HTTPS; refused unless --listen is a loopback address.
    #[arg(long)]
    insecure_plain_http: bool,
}

impl SecurityFlags {
    /// Sets the server's TLS, authentication and authorisation; `node_ip` joins the serving certificate's names.
    pub fn apply(self, config: &mut ServerConfig, node_ip: IpAddr) {
        config.tls = apiserver::tls::credentials::TlsOptions {
            cert_file: self.tls_cert_file,
            key_file: self.tls_private_key_file,
            client_ca_file: self.client_ca_file,
            extra_sans: vec![pki::San::Ip(node_ip)],
        };
        config.plain_http = self.insecure_plain_http;
        config.authentication = apiserver::AuthenticationOptions {
            token_auth_file: self.token_auth_file,
            anonymous: self.anonymous_auth,
            service_account_issuer: self.service_account_issuer,
        };
        config.authorization = self.authorization_mode;
    }
}

/// `--authorization-mode`: `Node,RBAC` (or `RBAC,Node`, `RBAC`) or `AlwaysAllow`.
fn parse_authorization_mode(text: &str) -> Result<Mode, String> {
    let modes: Vec<&str> = text.split(',').map(str::trim).collect();
    match modes.as_slice() {
        ["AlwaysAllow"] => Ok(Mode::AlwaysAllow),
        m if !m.is_empty() && m.iter().all(|x| matches!(*x, "Node" | "RBAC")) => Ok(Mode::NodeRbac),
        _ => Err(format!("{text:?}: use Node,RBAC or AlwaysAllow")),
    }
}
