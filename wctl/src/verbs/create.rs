//! `wctl create`: namespaces, ConfigMaps and Secrets from literals and files, Deployments and Jobs of a wasm image.

use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use kube::api::PostParams;
use serde_json::{Map, Value, json};

use crate::client::output::Format;
use crate::client::{Cluster, ConnectArgs};

/// `wctl create` and its subcommands.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  wctl create namespace ci
  wctl create configmap app --from-literal GREETING=hello --from-file settings.toml
  wctl create secret generic db --from-literal password=s3cret
  wctl create deployment web --image http_hello.wasm --replicas 2 --port 8080
  wctl create job checks --image tests.wasm -- --suite smoke")]
pub struct Args {
    #[command(subcommand)]
    what: What,
    /// `server`: validated and defaulted by the server, nothing stored; `client`: only printed.
    #[arg(long, global = true, value_name = "MODE", value_parser = ["none", "server", "client"])]
    dry_run: Option<String>,
    /// Print the created object in this format (yaml, json, name...).
    #[arg(short = 'o', long, global = true, value_name = "FORMAT")]
    output: Option<String>,
}

#[derive(clap::Subcommand)]
enum What {
    /// A namespace.
    #[command(alias = "ns", after_help = "Examples:\n  wctl create namespace ci")]
    Namespace {
        /// Its name.
        name: String,
    },
    /// A ConfigMap from literal values and files.
    #[command(
        alias = "cm",
        after_help = "Examples:
  wctl create configmap app --from-literal GREETING=hello --from-literal LEVEL=debug
  wctl create configmap conf --from-file settings.toml --from-file extra=other.toml
  wctl create configmap env --from-env-file app.env"
    )]
    Configmap {
        /// Its name.
        name: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// A Secret.
    #[command(subcommand)]
    Secret(SecretKind),
    /// A Deployment running a wasm image.
    #[command(
        alias = "deploy",
        after_help = "Examples:
  wctl create deployment web --image http_hello.wasm --replicas 3 --port 8080
  wctl create deployment worker --image ./worker.wasm -- --queue jobs"
    )]
    Deployment {
        /// Its name (and its pods' `app` label).
        name: String,
        #[command(flatten)]
        workload: WorkloadArgs,
        /// How many pods.
        #[arg(long, default_value_t = 1)]
        replicas: i32,
    },
    /// A Job running a wasm image to completion.
    #[command(after_help = "Examples:\n  wctl create job checks --image tests.wasm -- --suite smoke")]
    Job {
        /// Its name.
        name: String,
        #[command(flatten)]
        workload: WorkloadArgs,
    },
}

#[derive(clap::Subcommand)]
enum SecretKind {
    /// A Secret of literal values and files (type Opaque unless --type).
    #[command(
        after_help = "Examples:\n  wctl create secret generic db --from-literal password=s3cret\n  wctl create secret generic key --from-file id_ed25519"
    )]
    Generic {
        /// Its name.
        name: String,
        #[command(flatten)]
        data: DataArgs,
        /// The Secret's type.
        #[arg(long = "type", value_name = "TYPE", default_value = "Opaque")]
        kind: String,
    },
    /// A kubernetes.io/tls Secret from a certificate and its key.
    #[command(after_help = "Examples:\n  wctl create secret tls web-tls --cert tls.crt --key tls.key")]
    Tls {
        /// Its name.
        name: String,
        /// The PEM certificate (chain).
        #[arg(long, value_name = "FILE")]
        cert: String,
        /// The PEM private key.
        #[arg(long, value_name = "FILE")]
        key: String,
    },
}

/// Where a ConfigMap's or Secret's data comes from (the fields are kubectl's flags).
#[derive(clap::Args)]
#[allow(clippy::struct_field_names)]
struct DataArgs {
    /// KEY=VALUE (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    from_literal: Vec<String>,
    /// A file (its name is the key), KEY=FILE, or a directory (each file) (repeatable).
    #[arg(long, value_name = "[KEY=]PATH")]
    from_file: Vec<String>,
    /// A file of KEY=VALUE lines.
    #[arg(long, value_name = "FILE")]
    from_env_file: Vec<String>,
}

/// What a Deployment's or Job's pods run.
#[derive(clap::Args)]
struct WorkloadArgs {
    /// The wasm image: a name in the node's images directory, a URL, or a local file (pinned by digest).
    #[arg(long, value_name = "IMAGE")]
    image: String,
    /// The container port to declare.
    #[arg(long, value_name = "PORT")]
    port: Option<u16>,
    /// Arguments for the guest.
    #[arg(last = true, value_name = "ARGS")]
    args: Vec<String>,
}

pub async fn run(args: Args, connect: &ConnectArgs) -> anyhow::Result<()> {
    let format = args.output.as_deref().map(|o| Format::parse(Some(o))).transpose()?;
    let object = build(&args.what)?;
    let cluster = connect.connect().await?;
    let dry = args.dry_run.as_deref().unwrap_or("none");
    let created = if dry == "client" { object } else { create(&cluster, object, dry == "server").await? };
    if let Some(format) = format {
        out!("{}", format.objects(&[created], true)?);
    } else {
        let suffix = match dry {
            "client" => " (dry run)",
            "server" => " (server dry run)",
            _ => "",
        };
        outln!("{} created{suffix}", crate::client::output::name_of(&created));
    }
    Ok(())
}

/// Sends an object to the server; the namespace is the context's unless the type is cluster-scoped.
pub async fn create(cluster: &Cluster, object: Value, dry_run: bool) -> anyhow::Result<Value> {
    let catalog = cluster.catalog().await?;
    let text = |p: &str| object.pointer(p).and_then(Value::as_str).unwrap_or_default().to_owned();
    let rt = catalog
        .for_kind(&text("/apiVersion"), &text("/kind"))
        .with_context(|| format!("the server does not serve {}", text("/kind")))?;
    let api = cluster.api(rt, rt.namespaced.then_some(cluster.namespace.as_str()));
    let params = PostParams { dry_run, field_manager: Some("wctl-create".into()) };
    let object = serde_json::from_value(object)?;
    let created = api.create(&params, &object).await.map_err(|e| cluster.explain(e))?;
    let mut created = serde_json::to_value(created)?;
    created["apiVersion"] = rt.api_version().into();
    created["kind"] = rt.kind.clone().into();
    Ok(created)
}

fn build(what: &What) -> anyhow::Result<Value> {
    Ok(match what {
        What::Namespace { name } => {
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        }
        What::Configmap { name, data } => {
            let entries = data.entries()?;
            let mut text = Map::new();
            let mut binary = Map::new();
            for (key, bytes) in entries {
                match String::from_utf8(bytes) {
                    Ok(s) => text.insert(key, s.into()),
                    Err(e) => binary
                        .insert(key, base64::engine::general_purpose::STANDARD.encode(e.into_bytes()).into()),
                };
            }
            let mut cm =
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": text});
            if !binary.is_empty() {
                cm["binaryData"] = binary.into();
            }
            cm
        }
        What::Secret(SecretKind::Generic { name, data, kind }) => {
            let encoded: Map<String, Value> = data
                .entries()?
                .into_iter()
                .map(|(k, v)| (k, base64::engine::general_purpose::STANDARD.encode(v).into()))
                .collect();
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": kind, "data": encoded})
        }
        What::Secret(SecretKind::Tls { name, cert, key }) => {
            let read = |path: &str| std::fs::read(path).with_context(|| format!("cannot read {path}"));
            let encode = |bytes: Vec<u8>| base64::engine::general_purpose::STANDARD.encode(bytes);
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "kubernetes.io/tls",
                   "data": {"tls.crt": encode(read(cert)?), "tls.key": encode(read(key)?)}})
        }
        What::Deployment { name, workload, replicas } => json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [workload.container(name)?]}}},
        }),
        What::Job { name, workload } => json!({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [workload.container(name)?]}}},
        }),
    })
}

impl WorkloadArgs {
    fn container(&self, name: &str) -> anyhow::Result<Value> {
        let mut container = json!({"name": name, "image": super::run::image_reference(&self.image)?});
        if !self.args.is_empty() {
            container["args"] = json!(self.args);
        }
        if let Some(port) = self.port {
            container["ports"] = json!([{"containerPort": port}]);
        }
        Ok(container)
    }
}

impl DataArgs {
    /// Every key and its bytes, in the order given; a key given twice is an error.
    fn entries(&self) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
        let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
        for literal in &self.from_literal {
            let (key, value) = literal
                .split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .with_context(|| format!("--from-literal {literal:?} is not KEY=VALUE"))?;
            entries.push((key.to_owned(), value.as_bytes().to_vec()));
        }
        for spec in &self.from_file {
            let (key, path) = match spec.split_once('=') {
                Some((key, path)) => (Some(key.to_owned()), path),
                None => (None, spec.as_str()),
            };
            let path = Path::new(path);
            if path.is_dir() {
                if key.is_some() {
                    bail!("--from-file {spec:?}: a directory cannot have a key");
                }
                let mut files: Vec<_> = std::fs::read_dir(path)
                    .with_context(|| format!("cannot read {}", path.display()))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file())
                    .collect();
                files.sort();
                for file in files {
                    entries.push((file_key(&file)?, read(&file)?));
                }
            } else {
                let key = match key {
                    Some(key) => key,
                    None => file_key(path)?,
                };
                entries.push((key, read(path)?));
            }
        }
        for file in &self.from_env_file {
            let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?;
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
                let (key, value) =
                    line.split_once('=').with_context(|| format!("{file}: {line:?} is not KEY=VALUE"))?;
                entries.push((key.trim_start().to_owned(), value.as_bytes().to_vec()));
            }
        }
        for (i, (key, _)) in entries.iter().enumerate() {
            if !key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
                bail!("{key:?} is not a valid key: use letters, digits, '-', '_' and '.'");
            }
            if entries[..i].iter().any(|(k, _)| k == key) {
                bail!("key {key:?} is given twice");
            }
        }
        Ok(entries)
    }
}

fn file_key(path: &Path) -> anyhow::Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .with_context(|| format!("{} has no file name", path.display()))
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_comes_from_literals_files_and_env_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.toml"), "x = 1").unwrap();
        std::fs::write(dir.path().join("app.env"), "# comment\nA=1\nB=two words\n").unwrap();
        let data = DataArgs {
            from_literal: vec!["GREETING=hello=world".into()],
            from_file: vec![
                dir.path().join("app.toml").display().to_string(),
                format!("renamed={}", dir.path().join("app.toml").display()),
            ],
            from_env_file: vec![dir.path().join("app.env").display().to_string()],
        };
        let entries = data.entries().unwrap();
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["GREETING", "app.toml", "renamed", "A", "B"]);
        assert_eq!(entries[0].1, b"hello=world");
        assert_eq!(entries[4].1, b"two words");
    }

    #[test]
    fn bad_data_is_refused_before_anything_is_sent() {
        let data = |literal: &str| DataArgs {
            from_literal: vec![literal.into()],
            from_file: vec![],
            from_env_file: vec![],
        };
        assert!(data("novalue").entries().is_err());
        assert!(data("bad key=1").entries().is_err());
        let twice = DataArgs {
            from_literal: vec!["a=1".into(), "a=2".into()],
            from_file: vec![],
            from_env_file: vec![],
        };
        assert_eq!(twice.entries().unwrap_err().to_string(), "key \"a\" is given twice");
    }
}
