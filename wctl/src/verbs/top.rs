//! `wctl top`: CPU and memory use of pods and nodes, from the `metrics.k8s.io` API the server aggregates from its
//! node agents, printed as `kubectl top` prints it.

use anyhow::Context;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use serde_json::Value;

use crate::client::output::align;
use crate::client::{Cluster, ConnectArgs};

/// `wctl top` and its subcommands.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  wctl top pods -n demo\n  wctl top pods -A --containers\n  wctl top nodes"
)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Pods' use.
    #[command(
        alias = "pod",
        alias = "po",
        after_help = "Examples:\n  wctl top pods\n  wctl top pods -A --containers"
    )]
    Pods {
        /// Every namespace.
        #[arg(short = 'A', long)]
        all_namespaces: bool,
        /// Pods whose labels match.
        #[arg(short = 'l', long, value_name = "SELECTOR")]
        selector: Option<String>,
        /// A line per container.
        #[arg(long)]
        containers: bool,
    },
    /// Nodes' use, and its share of what they can give pods.
    #[command(alias = "node", alias = "no", after_help = "Examples:\n  wctl top nodes")]
    Nodes,
}

pub async fn run(args: Args, connect: &ConnectArgs) -> anyhow::Result<()> {
    let cluster = connect.connect().await?;
    match args.what {
        What::Pods { all_namespaces, selector, containers } => {
            pods(&cluster, all_namespaces, selector.as_deref(), containers).await
        }
        What::Nodes => nodes(&cluster).await,
    }
}

async fn metrics(cluster: &Cluster, path: &str, selector: Option<&str>) -> anyhow::Result<Vec<Value>> {
    let url = format!("/apis/metrics.k8s.io/v1beta1/{path}");
    let request = kube::core::Request::new(url).list(&super::list_params(selector, None))?;
    let list = cluster.request_json(request).await.context("the metrics API is not available")?;
    Ok(list["items"].as_array().cloned().unwrap_or_default())
}

async fn pods(
    cluster: &Cluster,
    all: bool,
    selector: Option<&str>,
    per_container: bool,
) -> anyhow::Result<()> {
    let path = if all { "pods".to_owned() } else { format!("namespaces/{}/pods", cluster.namespace) };
    let mut items = metrics(cluster, &path, selector).await?;
    items.sort_by_key(|m| {
        (m.pointer("/metadata/namespace").and_then(Value::as_str).map(str::to_owned), name(m))
    });
    let mut header: Vec<String> = Vec::new();
    if all {
        header.push("NAMESPACE".into());
    }
    header.push("NAME".into());
    if per_container {
        header.push("CONTAINER".into());
    }
    header.extend(["CPU(cores)".into(), "MEMORY(bytes)".into()]);
    let mut rows = Vec::new();
    for item in &items {
        let containers = item["containers"].as_array().cloned().unwrap_or_default();
        let mut lines: Vec<(Option<String>, f64, f64)> = Vec::new();
        if per_container {
            for c in &containers {
                lines.push((
                    Some(c["name"].as_str().unwrap_or_default().to_owned()),
                    cpu(&c["usage"]),
                    memory(&c["usage"]),
                ));
            }
        } else {
            let total_cpu = containers.iter().map(|c| cpu(&c["usage"])).sum();
            let total_memory = containers.iter().map(|c| memory(&c["usage"])).sum();
            lines.push((None, total_cpu, total_memory));
        }
        for (container, cores, bytes) in lines {
            let mut row = Vec::new();
            if all {
                row.push(
                    item.pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
            row.push(name(item));
            row.extend(container);
            row.extend([millicores(cores), mebibytes(bytes)]);
            rows.push(row);
        }
    }
    if rows.is_empty() {
        eprintln!("{}", super::nothing_found((!all).then_some(cluster.namespace.as_str())));
        return Ok(());
    }
    out!("{}", align(&header, &rows));
    Ok(())
}

async fn nodes(cluster: &Cluster) -> anyhow::Result<()> {
    let mut items = metrics(cluster, "nodes", None).await?;
    items.sort_by_key(name);
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    let known = nodes.list(&ListParams::default()).await.map_err(|e| cluster.explain(e))?.items;
    let header: Vec<String> =
        ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"].map(String::from).to_vec();
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            let node_name = name(item);
            let allocatable = known
                .iter()
                .find(|n| n.metadata.name.as_deref() == Some(node_name.as_str()))
                .and_then(|n| n.status.as_ref()?.allocatable.clone())
                .map(|a| serde_json::to_value(a).unwrap_or_default())
                .unwrap_or_default();
            let (cores, bytes) = (cpu(&item["usage"]), memory(&item["usage"]));
            let share = |used: f64, of: f64| {
                if of > 0.0 { format!("{:.0}%", used / of * 100.0) } else { "<unknown>".into() }
            };
            vec![
                node_name,
                millicores(cores),
                share(cores, cpu(&allocatable)),
                mebibytes(bytes),
                share(bytes, memory(&allocatable)),
            ]
        })
        .collect();
    out!("{}", align(&header, &rows));
    Ok(())
}

fn name(item: &Value) -> String {
    item.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn cpu(resources: &Value) -> f64 {
    resources["cpu"].as_str().map_or(0.0, quantity)
}

fn memory(resources: &Value) -> f64 {
    resources["memory"].as_str().map_or(0.0, quantity)
}

/// A Kubernetes quantity (`250m`, `1234567n`, `64Mi`, `1G`, `2`) as a number.
pub fn quantity(text: &str) -> f64 {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let value: f64 = number.parse().unwrap_or(0.0);
    let scale = match suffix {
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0_f64.powi(4),
        _ => 1.0,
    };
    value * scale
}

fn millicores(cores: f64) -> String {
    format!("{:.0}m", cores * 1000.0)
}

fn mebibytes(bytes: f64) -> String {
    format!("{:.0}Mi", bytes / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_print_as_kubectl_top_prints_them() {
        assert_eq!(millicores(quantity("12345678n")), "12m");
        assert_eq!(millicores(quantity("250m")), "250m");
        assert_eq!(millicores(quantity("2")), "2000m");
        assert_eq!(mebibytes(quantity("65536Ki")), "64Mi");
        assert_eq!(mebibytes(quantity("1Gi")), "1024Mi");
    }
}
