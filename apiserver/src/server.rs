//! Starting and stopping a whole API server: store, background tasks, listener and kubeconfig.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::auth::authn::Authenticator;
use crate::auth::authz::{self, Authorizer};
use crate::auth::jwt::Signer;
use crate::auth::pipeline::{self, Fairness, FairnessOptions, Security};
use crate::auth::tokens::ServiceAccountTokens;
use crate::auth::{MASTERS, UserInfo};
use crate::http::audit::{Audit, AuditConfig, audited};
use crate::http::{self, AppState, HttpOptions};
use crate::registry::{Registry, ServiceNetwork, WriteOptions, kinds};
use crate::store::encryption::Encryption;
use crate::store::{OpenError, Store, StoreOptions};
use crate::tls::credentials::{Credentials, TlsOptions};

/// The namespaces every cluster has.
const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// How to run a server.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Where the store and the kubeconfig live.
    pub data_dir: PathBuf,
    /// Store tunables.
    pub store: StoreOptions,
    /// HTTP tunables.
    pub http: HttpOptions,
    /// Where Services get their cluster IPs and node ports.
    pub services: ServiceNetwork,
    /// The `EncryptionConfiguration` for resources at rest (kube-apiserver's `--encryption-provider-config`);
    /// `None` uses `DATA_DIR/encryption-config.yaml`, made with a fresh key for Secrets on first start.
    pub encryption_config: Option<PathBuf>,
    /// The audit log, when requests are audited.
    pub audit: Option<AuditConfig>,
    /// Certificates: generated in `DATA_DIR/pki` unless given.
    pub tls: TlsOptions,
    /// Serve plain HTTP instead of HTTPS (only on a loopback address).
    pub plain_http: bool,
    /// Who may connect.
    pub authentication: AuthenticationOptions,
    /// Which authorisers run.
    pub authorization: authz::Mode,
    /// Per-user limits.
    pub fairness: FairnessOptions,
}

/// How clients authenticate (kube-apiserver's flags of the same names).
#[derive(Clone, Debug, Default)]
pub struct AuthenticationOptions {
    /// `--token-auth-file`: static bearer tokens, `token,user,uid,"group1,group2"` per line.
    pub token_auth_file: Option<PathBuf>,
    /// `--anonymous-auth`: serve requests without credentials as `system:anonymous` (refused with 401 otherwise).
    pub anonymous: bool,
    /// `--service-account-issuer`: the `iss` of ServiceAccount tokens.
    pub service_account_issuer: Option<String>,
}

/// A node's certificates, from [`Server::node_certificates`].
pub struct NodeCertificates {
    /// The cluster CA.
    pub ca_pem: String,
    /// The endpoint's serving certificate.
    pub serving: pki::Issued,
    /// The node's client certificate.
    pub client: pki::Issued,
}

/// The issuer of ServiceAccount tokens when none is configured, as kubeadm sets it.
pub const DEFAULT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
/// The admin identity the generated kubeconfig uses.
pub const ADMIN_USER: &str = "wharf-admin";

impl ServerConfig {
    /// Defaults for a data directory and address.
    pub fn new(listen: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen,
            data_dir: data_dir.into(),
            store: StoreOptions::default(),
            http: HttpOptions::default(),
            services: ServiceNetwork::default(),
            encryption_config: None,
            audit: None,
            tls: TlsOptions::default(),
            plain_http: false,
            authentication: AuthenticationOptions::default(),
            authorization: authz::Mode::default(),
            fairness: FairnessOptions::default(),
        }
    }
}

/// Where a data directory's own encryption configuration is.
pub const ENCRYPTION_CONFIG_FILE: &str = "encryption-config.yaml";

/// Why a server could not start. Each message is one line that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] OpenError),
    /// The address is taken or not local.
    #[error("cannot listen on {addr}: {message}; choose another --listen address")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        message: String,
    },
    /// Writing the kubeconfig failed.
    #[error("cannot write {path}: {message}")]
    Kubeconfig {
        /// Its path.
        path: String,
        /// What the OS said.
        message: String,
    },
    /// Creating the system namespaces failed.
    #[error("cannot create the system namespaces: {0}")]
    Bootstrap(String),
    /// The encryption configuration is missing or wrong.
    #[error("encryption configuration: {0}")]
    Encryption(String),
    /// The audit log or policy cannot be used.
    #[error("audit: {0}")]
    Audit(String),
    /// Certificates, keys or the token file cannot be used.
    #[error("{0}")]
    Security(String),
}

/// A running API server.
pub struct Server {
    addr: SocketAddr,
    kubeconfig: PathBuf,
    credentials: Arc<Credentials>,
    security: Arc<Security>,
    plain_http: bool,
    registry: Registry,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Opens the store, creates what every cluster has, starts listening and writes `DATA_DIR/kubeconfig` (with
    /// an admin client certificate, or an admin token over plain HTTP).
    pub async fn start(config: ServerConfig) -> Result<Self, StartError> {
        if config.plain_http && !config.listen.ip().is_loopback() {
            return Err(StartError::Security(format!(
                "plain HTTP is refused on {}: it would expose the cluster unencrypted; listen on a loopback \
                 address or serve HTTPS",
                config.listen
            )));
        }
        let dir = config.data_dir.clone();
        let mut options = config.store.clone();
        let encryption = config.encryption_config.clone();
        let (tls, listen) = (config.tls.clone(), config.listen);
        let (store, credentials) = tokio::task::spawn_blocking(move || {
            // The directory first: a data directory that cannot be one is the reason to give, not the key file.
            std::fs::create_dir_all(&dir).map_err(|e| {
                StartError::Store(OpenError::Io { dir: dir.display().to_string(), message: e.to_string() })
            })?;
            let credentials =
                Credentials::load_or_create(&dir, &tls, listen).map_err(StartError::Security)?;
            if options.encryption.is_none() {
                let (path, create) = match encryption {
                    Some(path) => (path, false),
                    None => (dir.join(ENCRYPTION_CONFIG_FILE), true),
                };
                options.encryption =
                    Some(Arc::new(Encryption::load(&path, create).map_err(StartError::Encryption)?));
            }
            Ok::<_, StartError>((Store::open(&dir, options).map_err(StartError::Store)?, credentials))
        })
        .await
        .map_err(|e| StartError::Bootstrap(e.to_string()))??;
        let credentials = Arc::new(credentials);
        let registry = Registry::new(store, config.services.clone());
        bootstrap(&registry).await?;
        crate::auth::rbac::bootstrap::ensure_defaults(&registry)
            .await
            .map_err(|e| StartError::Bootstrap(e.message))?;
        registry.repair_allocations().await.map_err(|e| StartError::Bootstrap(e.message))?;
        let security = Arc::new(security(&config, &credentials, &registry)?);

        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| StartError::Listen { addr: config.listen, message: e.to_string() })?;
        let addr = listener
            .local_addr()
            .map_err(|e| StartError::Listen { addr: config.listen, message: e.to_string() })?;
        let mut server = Self {
            addr,
            kubeconfig: config.data_dir.join("kubeconfig"),
            credentials: credentials.clone(),
            security: security.clone(),
            plain_http: config.plain_http,
            registry: registry.clone(),
            stop: CancellationToken::new(),
            tasks: Vec::new(),
        };
        let admin = server.kubeconfig_for(ADMIN_USER, &[MASTERS]).map_err(StartError::Security)?;
        pki::write_private(&server.kubeconfig, &admin).map_err(|e| StartError::Kubeconfig {
            path: server.kubeconfig.display().to_string(),
            message: e.to_string(),
        })?;

        let stop = server.stop.clone();
        let agents = server.agent_client().map_err(StartError::Security)?;
        let state = AppState {
            registry: registry.clone(),
            options: Arc::new(config.http),
            security: security.clone(),
            agents: Arc::new(agents),
        };
        let mut app = http::router(state)
            .layer(axum::middleware::from_fn_with_state(security.clone(), pipeline::admit));
        if let Some(audit) = &config.audit {
            let audit = Audit::start(audit).map_err(StartError::Audit)?;
            app = app.layer(axum::middleware::from_fn_with_state(audit, audited));
        }
        let app = app.layer(axum::middleware::from_fn_with_state(security, pipeline::identify));
        let tls = if config.plain_http {
            None
        } else {
            Some(credentials.server_config().map_err(StartError::Security)?)
        };
        server.tasks.push(tokio::spawn(crate::tls::serve(listener, tls, app, stop.clone())));
        server.tasks.push(tokio::spawn(crate::namespace::run_finalizer(registry.clone(), stop.clone())));
        server.tasks.push(tokio::spawn(crate::auth::rbac::bootstrap::run_aggregation(
            registry.clone(),
            stop.clone(),
        )));
        server.tasks.push(tokio::spawn(crate::auth::csr::run(
            registry.clone(),
            server.security.clone(),
            credentials.clone(),
            stop.clone(),
        )));
        server.tasks.push(tokio::spawn(renew_certificates(credentials, stop)));
        let scheme = if config.plain_http { "http" } else { "https" };
        tracing::info!(url = %format!("{scheme}://{addr}"), data_dir = %config.data_dir.display(), "API server listening");
        Ok(server)
    }

    /// A kubeconfig that acts as `user` in `groups`: a client certificate from the cluster CA, or over plain HTTP a
    /// bearer token valid until the server stops. For in-process components and tests.
    pub fn kubeconfig_for(&self, user: &str, groups: &[&str]) -> Result<String, String> {
        let host = if self.addr.ip().is_unspecified() {
            SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), self.addr.port())
        } else {
            self.addr
        };
        if self.plain_http {
            let token = random_token();
            self.security
                .authn
                .add_token(token.clone(), UserInfo::new(user, groups.iter().map(|g| (*g).to_owned())));
            return Ok(kubeconfig_yaml(&format!("http://{host}"), None, &format!("    token: {token}\n")));
        }
        let issued = self.credentials.issue_client(user, groups)?;
        let b64 = |pem: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pem);
        let user_fields = format!(
            "    client-certificate-data: {}\n    client-key-data: {}\n",
            b64(&issued.cert_pem),
            b64(&issued.key_pem)
        );
        let trust = self.credentials.serving_trust_pem().map(|pem| b64(&pem));
        Ok(kubeconfig_yaml(&format!("https://{host}"), trust.as_deref(), &user_fields))
    }

    /// The client certificate the API server presents to node agents (`system:masters`, as kubeadm's
    /// apiserver-kubelet-client) and the client that uses it.
    fn agent_client(&self) -> Result<http::agent::AgentClient, String> {
        let issued = self.credentials.issue_client("wharf-apiserver", &[MASTERS])?;
        http::agent::AgentClient::new(self.credentials.ca_pem(), (&issued.cert_pem, &issued.key_pem))
    }

    /// The certificates of a node whose agent runs beside this server: a serving certificate for `node_ip` and a
    /// client certificate for `system:node:<name>`, both from the cluster CA, with the CA (PEM each).
    pub fn node_certificates(
        &self,
        node_name: &str,
        node_ip: std::net::IpAddr,
    ) -> Result<NodeCertificates, String> {
        let ca = self.credentials.ca();
        let user = format!("system:node:{node_name}");
        let serving = ca
            .issue_serving(&user, &[pki::San::Ip(node_ip)], crate::tls::credentials::LEAF_VALIDITY)
            .map_err(|e| e.to_string())?;
        let client = self.credentials.issue_client(&user, &[crate::auth::NODES])?;
        Ok(NodeCertificates { ca_pem: ca.cert_pem().to_owned(), serving, client })
    }

    /// The server's URL.
    pub fn url(&self) -> String {
        format!("{}://{}", if self.plain_http { "http" } else { "https" }, self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The kubeconfig written for it.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The registry, for in-process clients and tests.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Resolves when the server stops (a shutdown, or a fatal error).
    pub async fn wait(&mut self) {
        if let Some(server) = self.tasks.first_mut() {
            let _ = server.await;
        }
    }

    /// Stops accepting requests, ends watches and waits for the tasks.
    pub async fn shutdown(self) {
        self.stop.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// The priority classes every cluster has, with Kubernetes' values.
const SYSTEM_PRIORITY_CLASSES: &[(&str, i64, &str)] = &[
    (
        "system-cluster-critical",
        2_000_000_000,
        "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
    ),
    (
        "system-node-critical",
        2_000_001_000,
        "Used for system critical pods that must not be moved from their current node.",
    ),
];

/// Creates what every cluster starts with, unless it is already there.
async fn bootstrap(registry: &Registry) -> Result<(), StartError> {
    let kind = |group, plural| {
        kinds::by_plural(group, "v1", plural)
            .ok_or_else(|| StartError::Bootstrap(format!("no {plural} kind")))
    };
    let namespaces = kind("", "namespaces")?;
    let classes = kind("scheduling.k8s.io", "priorityclasses")?;
    let mut objects = Vec::new();
    for name in SYSTEM_NAMESPACES {
        objects.push((
            namespaces,
            *name,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
        ));
    }
    for (name, value, description) in SYSTEM_PRIORITY_CLASSES {
        let class = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
                           "value": value, "description": description});
        objects.push((classes, *name, class));
    }
    for (rt, name, object) in objects {
        if registry.stored(rt, None, name).is_some() {
            continue;
        }
        match registry.create(rt, None, object, &WriteOptions::default()).await {
            Ok(_) => {}
            Err(e) if e.code == 409 => {}
            Err(e) => return Err(StartError::Bootstrap(e.message)),
        }
    }
    Ok(())
}

/// A kubeconfig for one server and user.
fn kubeconfig_yaml(server: &str, ca_data: Option<&str>, user_fields: &str) -> String {
    let ca = ca_data.map(|ca| format!("    certificate-authority-data: {ca}\n")).unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: wharf\n  cluster:\n    server: {server}\n{ca}\
         contexts:\n- name: wharf\n  context:\n    cluster: wharf\n    user: wharf\n    namespace: default\n\
         current-context: wharf\nusers:\n- name: wharf\n  user:\n{user_fields}"
    )
}

/// 32 random bytes as hex: a bearer token.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
    hex::encode(bytes)
}

/// Authentication, authorisation and fair sharing, from the configuration.
fn security(
    config: &ServerConfig,
    credentials: &Credentials,
    registry: &Registry,
) -> Result<Security, StartError> {
    let signer = Signer::from_pkcs8_pem(credentials.service_account_key_pem())
        .map_err(|e| StartError::Security(format!("the ServiceAccount signing key: {e}")))?;
    let issuer =
        config.authentication.service_account_issuer.clone().unwrap_or_else(|| DEFAULT_ISSUER.to_owned());
    let tokens = Arc::new(ServiceAccountTokens::new(signer, issuer));
    let authn = Authenticator::new(
        config.authentication.token_auth_file.as_deref(),
        config.authentication.anonymous,
        tokens.clone(),
        registry.clone(),
    )
    .map_err(StartError::Security)?;
    Ok(Security {
        authn,
        authz: Authorizer::new(config.authorization, registry.clone()),
        tokens,
        fairness: Fairness::new(config.fairness),
    })
}

/// Checks the serving certificate hourly and replaces it when it is due.
async fn renew_certificates(credentials: Arc<Credentials>, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
        }
        let credentials = credentials.clone();
        match tokio::task::spawn_blocking(move || credentials.renew_if_due()).await {
            Ok(Ok(true)) => tracing::info!("serving certificate renewed"),
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot renew the serving certificate"),
            Err(e) => tracing::warn!(error = %e, "certificate renewal failed"),
        }
    }
}
