//! `wctl up`: run a whole cluster in one process: API server, scheduler, controllers and a local node agent.

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use apiserver::{Server, ServerConfig, ServiceNetwork};

/// Arguments of `wctl up`.
#[derive(clap::Args)]
pub struct UpArgs {
    /// Address the API server listens on.
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Directory for the store and the kubeconfig [default: the per-user data directory, e.g.
    /// ~/.local/share/wharf on Linux].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The EncryptionConfiguration for Secrets at rest (kube-apiserver's flag) [default: DATA_DIR/
    /// encryption-config.yaml, made with a fresh key on first start].
    #[arg(long, value_name = "FILE")]
    encryption_provider_config: Option<PathBuf>,
    /// Write an audit.k8s.io/v1 Event JSON line per request to this file (kube-apiserver's flag).
    #[arg(long, value_name = "FILE")]
    audit_log_path: Option<PathBuf>,
    /// An audit.k8s.io/v1 Policy: the level of each request [default: Metadata for every request].
    #[arg(long, value_name = "FILE", requires = "audit_log_path")]
    audit_policy_file: Option<PathBuf>,
    /// Megabytes the audit log may reach before it is rotated.
    #[arg(long, value_name = "MB", default_value_t = 100)]
    audit_log_maxsize: u64,
    /// How many rotated audit logs are kept.
    #[arg(long, value_name = "N", default_value_t = 10)]
    audit_log_maxbackup: usize,
    #[command(flatten)]
    security: super::security::SecurityFlags,
    /// Manifests to create or update once the cluster is up: files or directories (read recursively).
    #[arg(long = "apply", short = 'f', value_name = "FILE|DIR")]
    apply: Vec<PathBuf>,
    /// Merge this cluster's context ("wharf") into a kubeconfig file and make it current, as k3s does
    /// [default file: ~/.kube/config].
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "")]
    write_kubeconfig: Option<PathBuf>,
    /// Name of the local node that runs pods.
    #[arg(long, default_value = "local")]
    node_name: String,
    /// The local node's address (its InternalIP, where its endpoint listens).
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    node_ip: IpAddr,
    /// Where node ports and LoadBalancer Services listen [default: the node's address]; `0.0.0.0` exposes them on
    /// every address of the machine.
    #[arg(long, value_name = "IP")]
    node_port_address: Option<IpAddr>,
    /// Where Services get their cluster IPs (kube-apiserver's --service-cluster-ip-range).
    #[arg(long, value_name = "CIDR", default_value = "10.96.0.0/12")]
    service_cluster_ip_range: ipnet::Ipv4Net,
    /// Where NodePort and LoadBalancer Services get their node ports, `FIRST-LAST`.
    #[arg(long, value_name = "RANGE", default_value = "30000-32767", value_parser = parse_port_range)]
    service_node_port_range: RangeInclusive<u16>,
    /// How many pods the local node accepts (Kubernetes' default is 110).
    #[arg(long, default_value_t = 110)]
    max_pods: u32,
    /// PEM file of CA certificates to trust for https:// images besides the public roots (repeatable).
    #[arg(long = "image-ca", value_name = "FILE")]
    image_ca: Vec<PathBuf>,
    /// Directory where the local node looks up images given by a relative name (`image: hello.wasm`)
    /// [default: DATA_DIR/node/images].
    #[arg(long, value_name = "DIR")]
    images_dir: Option<PathBuf>,
    /// Directory under which the local node allows hostPath volumes (repeatable); none by default.
    #[arg(long = "allow-host-path", value_name = "DIR")]
    allow_host_path: Vec<PathBuf>,
    #[command(flatten)]
    trust: super::trust::TrustFlags,
    /// Run no local node agent: pods run on nodes joined with `wctl node` (k3s' --disable-agent).
    #[arg(long)]
    disable_agent: bool,
    /// Run no scheduler: pods stay pending unless something else binds them.
    #[arg(long)]
    disable_scheduler: bool,
    /// Run no controllers (ReplicaSet, Deployment, Job, DaemonSet, EndpointSlice, ServiceLB, node lifecycle, node IPAM,
    /// garbage collection).
    #[arg(long)]
    disable_controllers: bool,
    #[command(flatten)]
    controllers: super::controllers::ControllerFlags,
}

pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => dirs::data_local_dir()
            .map(|d| d.join("wharf"))
            .context("cannot find a per-user data directory; pass --data-dir")?,
    };
    let controller_options = args.controllers.options()?;
    let node_ipam = args.controllers.node_ipam()?;
    let mut config = ServerConfig::new(args.listen, &data_dir);
    config.encryption_config = args.encryption_provider_config;
    config.audit = args.audit_log_path.map(|path| apiserver::AuditConfig {
        path,
        policy: args.audit_policy_file,
        max_size_bytes: args.audit_log_maxsize << 20,
        max_backups: args.audit_log_maxbackup,
    });
    args.security.apply(&mut config, args.node_ip);
    config.services = ServiceNetwork {
        cluster_ip_range: args.service_cluster_ip_range.trunc(),
        node_ports: args.service_node_port_range.clone(),
    };
    if config.services.cluster_ip_range.prefix_len() > 28 {
        bail!(
            "--service-cluster-ip-range {} is too small: use a /28 or larger",
            config.services.cluster_ip_range
        );
    }
    let mut server = Server::start(config).await?;
    // Each component acts with its own least-privilege identity, through the same checks as any client.
    let client_as = async |user: &str, groups: &[&str]| -> anyhow::Result<kube::Client> {
        let kubeconfig = server.kubeconfig_for(user, groups).map_err(anyhow::Error::msg)?;
        super::client_from_kubeconfig_text(&kubeconfig).await
    };
    let scheduler = if args.disable_scheduler {
        None
    } else {
        let client = client_as("system:kube-scheduler", &[]).await?;
        Some(scheduler::Service::start(client, scheduler::Options::default()))
    };
    let controllers = if args.disable_controllers {
        None
    } else {
        let client = client_as("system:kube-controller-manager", &[]).await?;
        Some(controllers::Controllers::start_with(client, controller_options))
    };
    let agent = if args.disable_agent {
        None
    } else {
        let mut node = host::NodeConfig::new(&args.node_name, data_dir.join("node"));
        node.max_pods = args.max_pods;
        // The first share of the cluster CIDR, so that the local node runs pods even with no controllers.
        node.pod_cidr = Some(node_ipam.first());
        node.node_ip = args.node_ip;
        node.node_port_address = args.node_port_address;
        node.log_listen = SocketAddr::new(args.node_ip, 0);
        node.image_ca_files = args.image_ca;
        node.host_path_roots = args.allow_host_path;
        if let Some(dir) = args.images_dir {
            node.images_dir = dir;
        }
        node.trust = args.trust.trust()?;
        let certificates =
            server.node_certificates(&args.node_name, args.node_ip).map_err(anyhow::Error::msg)?;
        node.tls = Some(host::NodeTls {
            ca_pem: certificates.ca_pem,
            serving: (certificates.serving.cert_pem, certificates.serving.key_pem),
            client: (certificates.client.cert_pem, certificates.client.key_pem),
        });
        let client = client_as(&format!("system:node:{}", args.node_name), &["system:nodes"]).await?;
        Some(host::Agent::start(client, node).await.context("cannot start the local node agent")?)
    };
    let admin = crate::client::ConnectArgs {
        kubeconfig: Some(server.kubeconfig().to_path_buf()),
        ..Default::default()
    };
    if !args.apply.is_empty() {
        let cluster = admin.connect().await?;
        let catalog = cluster.catalog().await?;
        let sources: Vec<String> = args.apply.iter().map(|p| p.display().to_string()).collect();
        let mut params = kube::api::PatchParams::apply(crate::verbs::apply::FIELD_MANAGER);
        params.force = true;
        crate::verbs::apply::apply_all(&cluster, &catalog, &sources, true, &params, true).await?;
    }
    let merged = match &args.write_kubeconfig {
        Some(target) => Some(merge_kubeconfig(server.kubeconfig(), target)?),
        None => None,
    };
    println!("Wharf is up: API at {}", server.url());
    if let Some(written) = merged {
        println!("  its context \"wharf\" is merged into {} and current", written.display());
    } else {
        println!("  export KUBECONFIG={}", server.kubeconfig().display());
    }
    println!("  wctl get all -A");
    tokio::select! {
        () = shutdown_signal() => {}
        () = server.wait() => bail!("the API server stopped unexpectedly; see the log above"),
    }
    eprintln!("shutting down");
    if let Some(agent) = agent {
        agent.shutdown().await;
    }
    if let Some(scheduler) = scheduler {
        scheduler.shutdown().await;
    }
    if let Some(controllers) = controllers {
        controllers.shutdown().await;
    }
    server.shutdown().await;
    Ok(())
}

/// Merges the cluster's generated kubeconfig into `target` (`~/.kube/config` when empty) as k3s'
/// `--write-kubeconfig` does, making its context current; returns the file written.
fn merge_kubeconfig(generated: &Path, target: &Path) -> anyhow::Result<PathBuf> {
    use crate::client::kubeconfig;
    let file = if target.as_os_str().is_empty() { kubeconfig::default_path()? } else { target.to_path_buf() };
    let text =
        std::fs::read_to_string(generated).with_context(|| format!("cannot read {}", generated.display()))?;
    let incoming =
        kube::config::Kubeconfig::from_yaml(&text).context("the generated kubeconfig is not valid")?;
    let mut config = kubeconfig::read_for_update(&file)?;
    kubeconfig::merge_into(&mut config, incoming);
    kubeconfig::write(&file, &config)?;
    Ok(file)
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    // Windows has no SIGTERM: its stop requests are Ctrl-Break, closing the console and, for a service, logoff
    // and shutdown (after which it waits only a few seconds, so the drain may be cut short).
    #[cfg(windows)]
    let terminate = async {
        use tokio::signal::windows;
        let events =
            (windows::ctrl_break(), windows::ctrl_close(), windows::ctrl_logoff(), windows::ctrl_shutdown());
        if let (Ok(mut brk), Ok(mut close), Ok(mut logoff), Ok(mut shutdown)) = events {
            tokio::select! {
                _ = brk.recv() => {}
                _ = close.recv() => {}
                _ = logoff.recv() => {}
                _ = shutdown.recv() => {}
            }
        } else {
            tracing::warn!("cannot watch for console stop events: only Ctrl-C stops the process cleanly");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(not(any(unix, windows)))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// A port range as kube-apiserver takes it: `30000-32767`.
fn parse_port_range(text: &str) -> Result<RangeInclusive<u16>, String> {
    let parse = |part: &str| part.trim().parse::<u16>().map_err(|e| format!("{part:?} is not a port: {e}"));
    let (first, last) =
        text.split_once('-').ok_or_else(|| format!("{text:?} is not a range like 30000-32767"))?;
    let (first, last) = (parse(first)?, parse(last)?);
    if first == 0 || first > last {
        return Err(format!("{text:?} is empty or starts at port 0"));
    }
    Ok(first..=last)
}

#[cfg(test)]
mod tests {
    use super::parse_port_range;

    #[test]
    fn port_ranges_parse_as_kube_apiserver_takes_them() {
        assert_eq!(parse_port_range("30000-32767"), Ok(30000..=32767));
        assert_eq!(parse_port_range("8000-8000"), Ok(8000..=8000));
        for bad in ["30000", "0-10", "20-10", "a-b", "1-70000"] {
            assert!(parse_port_range(bad).is_err(), "{bad}");
        }
    }
}
