//! `wctl config`: read the kubeconfig and switch contexts, as `kubectl config` does.

use anyhow::{Context, bail};
use serde_json::Value;

use crate::client::ConnectArgs;
use crate::client::kubeconfig;
use crate::client::output::align;

/// `wctl config` and its subcommands.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  wctl config get-contexts
  wctl config use-context wharf
  wctl config set-context --current --namespace demo
  wctl config view --minify")]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Print the kubeconfig (merged from $KUBECONFIG), credentials hidden unless --raw.
    #[command(after_help = "Examples:\n  wctl config view\n  wctl config view --minify --raw")]
    View {
        /// Show credentials and certificates.
        #[arg(long)]
        raw: bool,
        /// Only what the current context uses.
        #[arg(long)]
        minify: bool,
    },
    /// List the contexts; `*` marks the current one.
    GetContexts,
    /// Print the current context's name.
    CurrentContext,
    /// Make a context the current one.
    #[command(after_help = "Examples:\n  wctl config use-context wharf")]
    UseContext {
        /// The context.
        name: String,
    },
    /// Change a context's default namespace.
    #[command(after_help = "Examples:\n  wctl config set-context --current --namespace demo")]
    SetContext {
        /// The context [default: the current one with --current].
        name: Option<String>,
        /// Change the current context.
        #[arg(long)]
        current: bool,
    },
}

pub fn run(args: Args, connect: &ConnectArgs) -> anyhow::Result<()> {
    let path = connect.kubeconfig.as_deref();
    match args.command {
        Command::View { raw, minify } => {
            let mut config = kubeconfig::load(path)?;
            if minify {
                let current = connect
                    .context
                    .clone()
                    .or(config.current_context.clone())
                    .context("no current context")?;
                let context = config
                    .contexts
                    .iter()
                    .find(|c| c.name == current)
                    .cloned()
                    .with_context(|| format!("no context {current:?}"))?;
                let inner = context.context.clone().unwrap_or_default();
                config.clusters.retain(|c| c.name == inner.cluster);
                config.auth_infos.retain(|u| Some(&u.name) == inner.user.as_ref());
                config.contexts = vec![context];
                config.current_context = Some(current);
            }
            let mut value = serde_json::to_value(&config)?;
            if !raw {
                redact(&mut value);
            }
            out!("{}", serde_yaml::to_string(&value)?);
        }
        Command::GetContexts => {
            let config = kubeconfig::load(path)?;
            let header: Vec<String> =
                ["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"].map(String::from).to_vec();
            let rows: Vec<Vec<String>> = config
                .contexts
                .iter()
                .map(|c| {
                    let inner = c.context.clone().unwrap_or_default();
                    let current = if config.current_context.as_ref() == Some(&c.name) { "*" } else { "" };
                    vec![
                        current.into(),
                        c.name.clone(),
                        inner.cluster,
                        inner.user.unwrap_or_default(),
                        inner.namespace.unwrap_or_default(),
                    ]
                })
                .collect();
            out!("{}", align(&header, &rows));
        }
        Command::CurrentContext => {
            let config = kubeconfig::load(path)?;
            outln!("{}", config.current_context.context("current-context is not set")?);
        }
        Command::UseContext { name } => {
            if !kubeconfig::load(path)?.contexts.iter().any(|c| c.name == name) {
                bail!("no context exists with the name: {name:?}");
            }
            let file = kubeconfig::writable_path(path)?;
            let mut config = kubeconfig::read_for_update(&file)?;
            config.current_context = Some(name.clone());
            kubeconfig::write(&file, &config)?;
            outln!("Switched to context {name:?}.");
        }
        Command::SetContext { name, current } => {
            // `--namespace` is the global flag: the namespace this context defaults to.
            let namespace = connect.namespace.clone();
            let file = kubeconfig::writable_path(path)?;
            let mut config = kubeconfig::read_for_update(&file)?;
            let name = match (name, current) {
                (Some(name), false) => name,
                (None, true) => config.current_context.clone().context("current-context is not set")?,
                _ => bail!("name a context or pass --current"),
            };
            let context = config
                .contexts
                .iter_mut()
                .find(|c| c.name == name)
                .with_context(|| format!("no context {name:?} in {}", file.display()))?;
            if let Some(namespace) = namespace {
                context.context.get_or_insert_with(Default::default).namespace = Some(namespace);
            }
            kubeconfig::write(&file, &config)?;
            outln!("Context {name:?} modified.");
        }
    }
    Ok(())
}

/// Hides credentials as kubectl's `config view` does.
fn redact(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (key, child) in fields.iter_mut() {
                match key.as_str() {
                    "client-certificate-data" | "client-key-data" | "certificate-authority-data"
                        if child.is_string() =>
                    {
                        *child = "DATA+OMITTED".into();
                    }
                    "token" | "password" if child.is_string() => *child = "REDACTED".into(),
                    _ => redact(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::redact;
    use serde_json::json;

    #[test]
    fn credentials_are_hidden() {
        let mut config = json!({"users": [{"name": "a", "user": {"token": "t", "client-key-data": "k"}}],
            "clusters": [{"name": "a", "cluster": {"server": "https://x", "certificate-authority-data": "c"}}]});
        redact(&mut config);
        assert_eq!(
            config["users"][0]["user"],
            json!({"token": "REDACTED", "client-key-data": "DATA+OMITTED"})
        );
        assert_eq!(config["clusters"][0]["cluster"]["server"], "https://x");
    }
}
