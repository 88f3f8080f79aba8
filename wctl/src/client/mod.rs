//! What every client verb shares: the connection to a cluster (kubeconfig, context, namespace), discovery of the
//! resource types it serves, manifests, and printing objects as kubectl does.

pub mod jsonpath;
pub mod kubeconfig;
pub mod manifests;
pub mod output;
pub mod progress;
pub mod resources;
pub mod workloads;

use std::path::PathBuf;

use anyhow::Context;
use kube::api::{Api, DynamicObject};
use serde_json::Value;

pub use resources::{Catalog, ResourceType};

/// The flags that say which cluster, as whom and in which namespace (kubectl's).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ConnectArgs {
    /// The kubeconfig file [default: the files in $KUBECONFIG, else ~/.kube/config].
    #[arg(long, value_name = "FILE", global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use [default: its current context].
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,
    /// The namespace [default: the context's namespace, else `default`].
    #[arg(short = 'n', long, value_name = "NAMESPACE", global = true)]
    pub namespace: Option<String>,
}

/// A connection to one cluster: the API client, where it points and the namespace verbs act in.
#[derive(Clone)]
pub struct Cluster {
    /// The API client, with the context's credentials.
    pub client: kube::Client,
    /// The API server's URL, for error messages.
    pub url: String,
    /// The namespace from `-n`, else the context's.
    pub namespace: String,
    /// Whether `-n` was given (an explicit namespace must match the one a manifest names).
    pub namespace_given: bool,
}

impl ConnectArgs {
    /// Connects with the kubeconfig and context these flags choose.
    pub async fn connect(&self) -> anyhow::Result<Cluster> {
        let kubeconfig = kubeconfig::load(self.kubeconfig.as_deref())?;
        let options = kube::config::KubeConfigOptions { context: self.context.clone(), ..Default::default() };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| anyhow::anyhow!("the kubeconfig is not usable: {}", one_line(&e.to_string())))?;
        let url = config.cluster_url.to_string().trim_end_matches('/').to_owned();
        let namespace = self.namespace.clone().unwrap_or_else(|| config.default_namespace.clone());
        let client = kube::Client::try_from(config).context("cannot build an API client")?;
        Ok(Cluster { client, url, namespace, namespace_given: self.namespace.is_some() })
    }
}

impl Cluster {
    /// Reads the resource types the server serves.
    pub async fn catalog(&self) -> anyhow::Result<Catalog> {
        Catalog::discover(self).await
    }

    /// The API for one resource type: in `namespace` when the type is namespaced (`None`: every namespace).
    pub fn api(&self, rt: &ResourceType, namespace: Option<&str>) -> Api<DynamicObject> {
        let resource = rt.api_resource();
        match (rt.namespaced, namespace) {
            (true, Some(namespace)) => Api::namespaced_with(self.client.clone(), namespace, &resource),
            _ => Api::all_with(self.client.clone(), &resource),
        }
    }

    /// A failed request as one line: what the API server said, or why it could not be reached.
    pub fn explain(&self, error: kube::Error) -> anyhow::Error {
        match error {
            kube::Error::Api(status) => anyhow::anyhow!("{}", one_line(&status.message)),
            other => anyhow::anyhow!("cannot reach the API server at {}: {}", self.url, root_cause(&other)),
        }
    }

    /// Sends a request and returns its body as JSON (for what kube-rs has no typed call for, such as Tables).
    pub async fn request_json(&self, request: http::Request<Vec<u8>>) -> anyhow::Result<Value> {
        let text = self.client.request_text(request).await.map_err(|e| self.explain(e))?;
        serde_json::from_str(&text).context("the API server answered with something that is not JSON")
    }
}

/// The innermost error of a chain: "connection refused" rather than the layers of client wrapping.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    one_line(&cause.to_string())
}

/// Keeps an error message on one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An exit status other than success or plain failure: `wctl run` exits with its guest's exit code.
#[derive(Debug)]
pub struct ExitStatus(pub u8);

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for ExitStatus {}

/// Writes to standard output; when the reader has gone (a closed pipe) the process exits with the status a
/// shell reports for SIGPIPE.
pub fn write_stdout(text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if std::io::stdout().lock().write_fmt(text).is_err() {
        std::process::exit(141);
    }
}

/// Whether standard output is a terminal (colours and live progress only then).
pub fn stdout_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}
