//! Starting and stopping a whole API server: store, background tasks, listener and kubeconfig.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::http::audit::{Audit, AuditConfig, audited};
use crate::http::{self, AppState, HttpOptions};
use crate::registry::{Registry, ServiceNetwork, WriteOptions, kinds};
use crate::store::encryption::Encryption;
use crate::store::{OpenError, Store, StoreOptions};

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
}

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
}

/// A running API server.
pub struct Server {
    addr: SocketAddr,
    kubeconfig: PathBuf,
    registry: Registry,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Opens the store, creates the system namespaces, starts listening and writes `DATA_DIR/kubeconfig`.
    pub async fn start(config: ServerConfig) -> Result<Self, StartError> {
        let dir = config.data_dir.clone();
        let mut options = config.store.clone();
        let encryption = config.encryption_config.clone();
        let store = tokio::task::spawn_blocking(move || {
            // The directory first: a data directory that cannot be one is the reason to give, not the key file.
            std::fs::create_dir_all(&dir).map_err(|e| {
                StartError::Store(OpenError::Io { dir: dir.display().to_string(), message: e.to_string() })
            })?;
            if options.encryption.is_none() {
                let (path, create) = match encryption {
                    Some(path) => (path, false),
                    None => (dir.join(ENCRYPTION_CONFIG_FILE), true),
                };
                options.encryption =
                    Some(Arc::new(Encryption::load(&path, create).map_err(StartError::Encryption)?));
            }
            Store::open(&dir, options).map_err(StartError::Store)
        })
        .await
        .map_err(|e| StartError::Bootstrap(e.to_string()))??;
        let registry = Registry::new(store, config.services.clone());
        bootstrap(&registry).await?;
        registry.repair_allocations().await.map_err(|e| StartError::Bootstrap(e.message))?;

        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| StartError::Listen { addr: config.listen, message: e.to_string() })?;
        let addr = listener
            .local_addr()
            .map_err(|e| StartError::Listen { addr: config.listen, message: e.to_string() })?;
        let kubeconfig = config.data_dir.join("kubeconfig");
        write_kubeconfig(&kubeconfig, addr)?;

        let stop = CancellationToken::new();
        let mut app = http::router(AppState { registry: registry.clone(), options: Arc::new(config.http) });
        if let Some(audit) = &config.audit {
            let audit = Audit::start(audit).map_err(StartError::Audit)?;
            app = app.layer(axum::middleware::from_fn_with_state(audit, audited));
        }
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        let serve_stop = stop.clone();
        let server = tokio::spawn(async move {
            let shutdown = async move { serve_stop.cancelled().await };
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::error!(error = %e, "API server stopped");
            }
        });
        let finalizer = tokio::spawn(crate::namespace::run_finalizer(registry.clone(), stop.clone()));
        tracing::info!(%addr, data_dir = %config.data_dir.display(), "API server listening");
        Ok(Self { addr, kubeconfig, registry, stop, tasks: vec![server, finalizer] })
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

/// Writes a kubeconfig that points kubectl and kube-rs at `addr`.
fn write_kubeconfig(path: &Path, addr: SocketAddr) -> Result<(), StartError> {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: wharf\n  cluster:\n    server: http://{addr}\n\
         contexts:\n- name: wharf\n  context:\n    cluster: wharf\n    user: wharf\n    namespace: default\n\
         current-context: wharf\nusers:\n- name: wharf\n  user: {{}}\n"
    );
    std::fs::write(path, text)
        .map_err(|e| StartError::Kubeconfig { path: path.display().to_string(), message: e.to_string() })
}
