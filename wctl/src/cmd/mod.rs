//! One module per verb.

pub mod controllers;
pub mod join;
pub mod node;
pub mod scheduler;
pub mod security;
pub mod token;
pub mod trust;
pub mod up;

use std::path::Path;

use anyhow::Context;

/// An API client from a kubeconfig's text (its current context).
pub async fn client_from_kubeconfig_text(text: &str) -> anyhow::Result<kube::Client> {
    let kubeconfig = kube::config::Kubeconfig::from_yaml(text).context("not a kubeconfig")?;
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
            .await
            .context("not a usable kubeconfig")?;
    kube::Client::try_from(config).context("cannot build an API client")
}

/// An API client for the cluster a kubeconfig file points at (its current context).
pub async fn client_from_kubeconfig(path: &Path) -> anyhow::Result<kube::Client> {
    let kubeconfig = kube::config::Kubeconfig::read_from(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let options = kube::config::KubeConfigOptions::default();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .with_context(|| format!("{} is not a usable kubeconfig", path.display()))?;
    kube::Client::try_from(config).context("cannot build an API client")
}
