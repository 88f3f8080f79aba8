//! Container probes, as the kubelet runs them: `httpGet` (success is a status from 200 to 399) and `tcpSocket`
//! (success is an accepted connection) against the pod's address, with Kubernetes' timing fields and defaults.
//! A startup probe holds the others back until it succeeds; readiness decides the container's `ready`; a
//! liveness or startup failure restarts the container. `exec` and `grpc` probes always fail with a reason that
//! says so: a guest has no shell to run a command in, and gRPC health checks are not implemented.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, ContainerPort, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Which probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `startupProbe`.
    Startup,
    /// `readinessProbe`.
    Readiness,
    /// `livenessProbe`.
    Liveness,
}

impl Kind {
    /// How Kubernetes names it in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Startup => "Startup",
            Self::Readiness => "Readiness",
            Self::Liveness => "Liveness",
        }
    }
}

/// What a container's probes found, sent to its pod's task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The startup probe succeeded (or there is none): the other probes run now.
    Started,
    /// Readiness changed.
    Ready(bool),
    /// A probe failed (each failure, as the kubelet's `Unhealthy` events report them).
    Failed(Kind, String),
    /// Liveness or startup failed `failureThreshold` times in a row: the container is restarted.
    Restart(Kind),
}

/// One probe with Kubernetes' defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Schedule {
    initial_delay: Duration,
    period: Duration,
    timeout: Duration,
    success_threshold: u32,
    failure_threshold: u32,
}

fn schedule(probe: &Probe) -> Schedule {
    let seconds =
        |v: Option<i32>, default: i32| Duration::from_secs(u64::try_from(v.unwrap_or(default)).unwrap_or(0));
    let count = |v: Option<i32>, default: i32| u32::try_from(v.unwrap_or(default)).unwrap_or(1).max(1);
    Schedule {
        initial_delay: seconds(probe.initial_delay_seconds, 0),
        period: seconds(probe.period_seconds, 10).max(Duration::from_secs(1)),
        timeout: seconds(probe.timeout_seconds, 1).max(Duration::from_secs(1)),
        success_threshold: count(probe.success_threshold, 1),
        failure_threshold: count(probe.failure_threshold, 3),
    }
}

/// Runs the container's probes for as long as the returned future is polled (the caller drops it when the run
/// ends), passing what they find to `report`.
pub async fn run(container: Container, pod_ip: IpAddr, report: impl Fn(Finding) + Sync) {
    let findings = &report;
    if let Some(startup) = &container.startup_probe {
        let schedule = schedule(startup);
        tokio::time::sleep(schedule.initial_delay).await;
        let mut failures = 0;
        loop {
            match check(startup, &container, pod_ip, schedule.timeout).await {
                Ok(()) => break,
                Err(why) => {
                    failures += 1;
                    findings(Finding::Failed(Kind::Startup, why));
                    if failures >= schedule.failure_threshold {
                        findings(Finding::Restart(Kind::Startup));
                        return std::future::pending().await;
                    }
                }
            }
            tokio::time::sleep(schedule.period).await;
        }
    }
    findings(Finding::Started);
    let readiness = async {
        match &container.readiness_probe {
            None => {
                findings(Finding::Ready(true));
            }
            Some(probe) => watch_readiness(probe, &container, pod_ip, findings).await,
        }
        std::future::pending::<()>().await;
    };
    let liveness = async {
        if let Some(probe) = &container.liveness_probe {
            watch_liveness(probe, &container, pod_ip, findings).await;
        }
        std::future::pending::<()>().await;
    };
    tokio::join!(readiness, liveness);
}

async fn watch_readiness(
    probe: &Probe,
    container: &Container,
    pod_ip: IpAddr,
    findings: &(impl Fn(Finding) + Sync),
) {
    let schedule = schedule(probe);
    tokio::time::sleep(schedule.initial_delay).await;
    let (mut ready, mut successes, mut failures) = (false, 0, 0);
    loop {
        match check(probe, container, pod_ip, schedule.timeout).await {
            Ok(()) => {
                failures = 0;
                successes += 1;
                if !ready && successes >= schedule.success_threshold {
                    ready = true;
                    findings(Finding::Ready(true));
                }
            }
            Err(why) => {
                successes = 0;
                failures += 1;
                findings(Finding::Failed(Kind::Readiness, why));
                if ready && failures >= schedule.failure_threshold {
                    ready = false;
                    findings(Finding::Ready(false));
                }
            }
        }
        tokio::time::sleep(schedule.period).await;
    }
}

async fn watch_liveness(
    probe: &Probe,
    container: &Container,
    pod_ip: IpAddr,
    findings: &(impl Fn(Finding) + Sync),
) {
    let schedule = schedule(probe);
    tokio::time::sleep(schedule.initial_delay).await;
    let mut failures = 0;
    loop {
        match check(probe, container, pod_ip, schedule.timeout).await {
            Ok(()) => failures = 0,
            Err(why) => {
                failures += 1;
                findings(Finding::Failed(Kind::Liveness, why));
                if failures >= schedule.failure_threshold {
                    findings(Finding::Restart(Kind::Liveness));
                    return;
                }
            }
        }
        tokio::time::sleep(schedule.period).await;
    }
}

/// Runs the probe once; `Err` says why it failed, as the kubelet words it.
async fn check(
    probe: &Probe,
    container: &Container,
    pod_ip: IpAddr,
    timeout: Duration,
) -> Result<(), String> {
    if probe.exec.is_some() {
        return Err(
            "exec probes cannot run: a wasm guest has no shell to run a command in; use httpGet or tcpSocket"
                .into(),
        );
    }
    if probe.grpc.is_some() {
        return Err("grpc probes are not supported; use httpGet or tcpSocket".into());
    }
    let ports = container.ports.as_deref().unwrap_or_default();
    if let Some(get) = &probe.http_get {
        let port = resolve_port(&get.port, ports)?;
        let host = get.host.as_deref().and_then(|h| h.parse().ok()).unwrap_or(pod_ip);
        if get.scheme.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("HTTPS")) {
            return Err("HTTPS probes are not supported; use HTTP".into());
        }
        let path = get.path.as_deref().filter(|p| !p.is_empty()).unwrap_or("/");
        let headers: Vec<(String, String)> =
            get.http_headers.iter().flatten().map(|h| (h.name.clone(), h.value.clone())).collect();
        return match tokio::time::timeout(timeout, http_get(SocketAddr::new(host, port), path, &headers))
            .await
        {
            Err(_) => Err(format!("Get \"http://{host}:{port}{path}\": context deadline exceeded")),
            Ok(Err(e)) => Err(format!("Get \"http://{host}:{port}{path}\": {e}")),
            Ok(Ok(status)) if (200..400).contains(&status) => Ok(()),
            Ok(Ok(status)) => Err(format!("HTTP probe failed with statuscode: {status}")),
        };
    }
    if let Some(tcp) = &probe.tcp_socket {
        let port = resolve_port(&tcp.port, ports)?;
        let host = tcp.host.as_deref().and_then(|h| h.parse().ok()).unwrap_or(pod_ip);
        let addr = SocketAddr::new(host, port);
        return match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("dial tcp {addr}: {e}")),
            Err(_) => Err(format!("dial tcp {addr}: i/o timeout")),
        };
    }
    Err("the probe has no handler".into())
}

/// A probe's port: a number, or the name of one of the container's ports.
fn resolve_port(port: &IntOrString, ports: &[ContainerPort]) -> Result<u16, String> {
    let number = match port {
        IntOrString::Int(n) => *n,
        IntOrString::String(name) => ports
            .iter()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .map(|p| p.container_port)
            .ok_or_else(|| format!("the container has no port named {name:?}"))?,
    };
    u16::try_from(number).ok().filter(|p| *p > 0).ok_or_else(|| format!("invalid port {number}"))
}

/// A minimal HTTP/1.1 GET; returns the status code.
async fn http_get(addr: SocketAddr, path: &str, headers: &[(String, String)]) -> std::io::Result<u16> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: kube-probe/1.37\r\nConnection: close\r\n"
    );
    for (name, value) in headers {
        let _ = write!(request, "{name}: {value}\r\n");
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = [0u8; 64];
    let mut read = 0;
    while read < 12 {
        let n = stream.read(&mut head[read..]).await?;
        if n == 0 {
            break;
        }
        read += n;
    }
    let line = String::from_utf8_lossy(&head[..read]).into_owned();
    line.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, format!("malformed HTTP response {line:?}"))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schedules_take_kubernetes_defaults() {
        let probe: Probe = serde_json::from_value(json!({"httpGet": {"port": 80}})).unwrap();
        let s = schedule(&probe);
        assert_eq!(
            (s.period, s.timeout, s.success_threshold, s.failure_threshold),
            (Duration::from_secs(10), Duration::from_secs(1), 1, 3)
        );
        let probe: Probe = serde_json::from_value(json!({"httpGet": {"port": 80}, "periodSeconds": 2, "failureThreshold": 1, "initialDelaySeconds": 5})).unwrap();
        let s = schedule(&probe);
        assert_eq!(
            (s.initial_delay, s.period, s.failure_threshold),
            (Duration::from_secs(5), Duration::from_secs(2), 1)
        );
    }

    #[test]
    fn ports_resolve_by_number_or_name() {
        let ports: Vec<ContainerPort> =
            serde_json::from_value(json!([{"name": "http", "containerPort": 8080}])).unwrap();
        assert_eq!(resolve_port(&IntOrString::Int(9090), &ports), Ok(9090));
        assert_eq!(resolve_port(&IntOrString::String("http".into()), &ports), Ok(8080));
        assert!(resolve_port(&IntOrString::String("admin".into()), &ports).is_err());
        assert!(resolve_port(&IntOrString::Int(0), &ports).is_err());
    }

    #[tokio::test]
    async fn exec_probes_fail_with_the_reason() {
        let probe: Probe =
            serde_json::from_value(json!({"exec": {"command": ["cat", "/tmp/healthy"]}})).unwrap();
        let why =
            check(&probe, &Container::default(), IpAddr::from([127, 0, 0, 1]), Duration::from_secs(1)).await;
        assert!(why.unwrap_err().contains("no shell"));
    }
}
