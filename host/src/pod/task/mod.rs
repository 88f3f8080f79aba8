//! The task that runs one pod: prepares its volumes, pulls its images, runs its init containers in order and then
//! its app containers, restarts them as [`state`](super::state) decides, keeps the configMap/secret volumes fresh,
//! and reports every change through the `pods/{name}/status` subresource and Events. When the pod is deleted it
//! stops the guests as [`terminate`] describes.

mod terminate;

pub use terminate::SLACK;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Container as Spec, Pod as K8sPod};
use kube::Api;
use kube::api::{Patch, PatchParams};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::eviction;
use super::probe::{self, Finding};
use super::state::{self, Container, Pod, RestartPolicy, Run};
use crate::agent::Shared;
use crate::limits::CpuQuota;
use crate::logs::{self, LogSink};
use crate::runtime::{
    ContextFactory, Control, Exit, ExitReason, GuestSpec, HttpLimits, HttpServe, OnRefused, PodNetwork,
    Program, ProgramKind,
};
use crate::sandbox::{self, Sandbox};
use crate::volumes::{self, VolumeDir};

/// How often configMap and secret volumes are compared with their source objects.
const VOLUME_REFRESH: Duration = Duration::from_secs(2);

/// What the agent asks of a pod task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Run the pod.
    Run,
    /// The pod is being deleted: give the guests their termination notice, then kill what still runs after
    /// `grace`, and report how they ended.
    Terminate {
        /// The grace period, counted from the notice.
        grace: Duration,
    },
    /// Kill at once without reporting: the pod is gone, or the agent is stopping (a new one takes the pod back).
    Kill,
}

/// The agent's side of a pod task's [`Signal`]. Cheap to clone.
#[derive(Clone)]
pub struct Stop {
    signal: Arc<watch::Sender<Signal>>,
}

impl Default for Stop {
    fn default() -> Self {
        Self { signal: Arc::new(watch::Sender::new(Signal::Run)) }
    }
}

impl Stop {
    /// Starts graceful termination, or shortens its grace period (a longer one never extends it, as in
    /// Kubernetes, where a repeated delete may only shorten the period).
    pub fn terminate(&self, grace: Duration) {
        self.signal.send_if_modified(|signal| match *signal {
            Signal::Kill => false,
            Signal::Terminate { grace: current } if current <= grace => false,
            _ => {
                *signal = Signal::Terminate { grace };
                true
            }
        });
    }

    /// Kills the guests at once.
    pub fn kill(&self) {
        self.signal.send_replace(Signal::Kill);
    }
}

/// Facts about one pod the task needs beside its spec.
pub struct Placement {
    /// The pod's address.
    pub pod_ip: String,
    /// Its directory (volumes) on the node.
    pub root: PathBuf,
    /// Its log directory.
    pub logs: PathBuf,
}

/// A running container of the pod.
struct Live {
    control: Arc<Control>,
    started: Instant,
}

/// Runs the pod until `stop` signals, or until an emptyDir outgrows its limit (the pod is then evicted and waits
/// for the signal); then stops its guests.
pub async fn run(shared: Arc<Shared>, pod: K8sPod, placement: Placement, stop: Stop) {
    let mut signal = stop.signal.subscribe();
    let pod_uid = uid(&pod);
    let mut task = Task::new(shared.clone(), pod, placement);
    let limits =
        if task.finished() { Vec::new() } else { eviction::size_limits(&task.pod, &task.placement.root) };
    let evicted = tokio::select! {
        () = task.drive() => None,
        _ = signal.wait_for(|s| *s != Signal::Run) => None,
        message = eviction::watch(limits, shared.config.eviction_interval) => Some(message),
    };
    if let Some(message) = evicted {
        task.evict(&message).await;
        let _ = signal.wait_for(|s| *s != Signal::Run).await;
    }
    task.terminate(signal).await;
    shared.usage.remove(&pod_uid);
}

/// Where the pod's guests may listen: its address and the ports any of its containers declares.
fn listening(spec: &k8s_openapi::api::core::v1::PodSpec, pod_ip: &str) -> sandbox::Listening {
    let mut rules = sandbox::Listening { pod_ip: pod_ip.parse().ok(), ..Default::default() };
    let ports =
        spec.init_containers.iter().flatten().chain(&spec.containers).flat_map(|c| c.ports.iter().flatten());
    for port in ports {
        let Ok(number) = u16::try_from(port.container_port) else { continue };
        match port.protocol.as_deref().unwrap_or("TCP") {
            "UDP" => rules.udp.push(number),
            _ => rules.tcp.push(number),
        }
    }
    rules
}

fn uid(pod: &K8sPod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

struct Task {
    shared: Arc<Shared>,
    pod: K8sPod,
    name: String,
    namespace: String,
    placement: Placement,
    model: Pod,
    reported: Option<k8s_openapi::api::core::v1::PodStatus>,
    live: BTreeMap<usize, Live>,
    /// The runs in progress, by container index; kept here, not in `drive`, so that termination can collect
    /// their exits after `drive` is dropped.
    running: JoinSet<(usize, Exit)>,
    programs: Vec<Option<Program>>,
    volumes: BTreeMap<String, VolumeDir>,
    /// Where its guests may listen.
    listening: Arc<sandbox::Listening>,
    /// What the running containers' probes found, by container index.
    findings: mpsc::UnboundedReceiver<(usize, Finding)>,
    report_finding: mpsc::UnboundedSender<(usize, Finding)>,
}

impl Task {
    fn new(shared: Arc<Shared>, mut pod: K8sPod, placement: Placement) -> Self {
        let spec = pod.spec.clone().unwrap_or_default();
        // The addresses are known before the first status write: `status.podIP` and `status.hostIP` in
        // `fieldRef`s resolve to them.
        let status = pod.status.get_or_insert_default();
        status.pod_ip = Some(placement.pod_ip.clone());
        status.host_ip = Some(shared.node_ip.clone());
        let previous = pod.status.clone().unwrap_or_default();
        // Taken back after an agent restart: keep restart counts, and count the run that was lost.
        let carry = |c: &Spec, statuses: &Option<Vec<k8s_openapi::api::core::v1::ContainerStatus>>| {
            let mut container =
                Container::new(&c.name, c.image.as_deref().unwrap_or_default(), "ContainerCreating");
            if let Some(old) = statuses.iter().flatten().find(|s| s.name == c.name) {
                container.restarts = u32::try_from(old.restart_count).unwrap_or(0);
                if old.state.as_ref().is_some_and(|s| s.running.is_some()) {
                    container.restarts += 1;
                    container.last = Some(Run::Terminated {
                        code: 137,
                        reason: "ContainerStatusUnknown".into(),
                        message: Some("the node agent restarted while the container ran".into()),
                        started: Timestamp::now(),
                        finished: Timestamp::now(),
                    });
                }
            }
            container
        };
        let model = Pod {
            init: spec
                .init_containers
                .iter()
                .flatten()
                .map(|c| carry(c, &previous.init_container_statuses))
                .collect(),
            app: spec.containers.iter().map(|c| carry(c, &previous.container_statuses)).collect(),
            policy: RestartPolicy::parse(spec.restart_policy.as_deref()),
            terminating: false,
            failed: None,
            start: previous.start_time.map_or_else(Timestamp::now, |t| t.0),
            host_ip: shared.node_ip.clone(),
            pod_ip: placement.pod_ip.clone(),
        };
        let containers = model.init.len() + model.app.len();
        let (report_finding, findings) = mpsc::unbounded_channel();
        let listening = Arc::new(listening(&spec, &placement.pod_ip));
        Self {
            name: pod.metadata.name.clone().unwrap_or_default(),
            namespace: pod.metadata.namespace.clone().unwrap_or_else(|| "default".into()),
            shared,
            pod,
            placement,
            model,
            reported: None,
            live: BTreeMap::new(),
            running: JoinSet::new(),
            programs: vec![None; containers],
            volumes: BTreeMap::new(),
            listening,
            findings,
            report_finding,
        }
    }

    fn specs(&self) -> Vec<(bool, Spec)> {
        let spec = self.pod.spec.clone().unwrap_or_default();
        let init = spec.init_containers.unwrap_or_default().into_iter().map(|c| (true, c));
        init.chain(spec.containers.into_iter().map(|c| (false, c))).collect()
    }

    fn container_mut(&mut self, index: usize) -> &mut Container {
        let init = self.model.init.len();
        if index < init { &mut self.model.init[index] } else { &mut self.model.app[index - init] }
    }

    /// Whether the pod reached Succeeded or Failed, now or before the agent took it: nothing runs again.
    fn finished(&self) -> bool {
        let terminal = |phase: &str| phase == "Succeeded" || phase == "Failed";
        terminal(state::phase(&self.model))
            || self.pod.status.as_ref().and_then(|s| s.phase.as_deref()).is_some_and(terminal)
    }

    async fn drive(&mut self) {
        if self.finished() {
            std::future::pending::<()>().await;
        }
        // No status is reported before the first start unless something takes time (compiling) or fails: a pod
        // whose code is cached goes from the API server's Pending straight to Running, one write instead of two.
        if !self.prepare_volumes().await {
            std::future::pending::<()>().await;
        }
        self.pull_images().await;
        let specs = self.specs();
        let init_count = self.model.init.len();
        for (index, (_, spec)) in specs.iter().enumerate().take(init_count) {
            loop {
                let Some(wait) = self.start(index, spec).await else { return self.park().await };
                self.running.spawn(async move { (index, wait.await) });
                self.report().await;
                let Some(Ok((_, exit))) = self.running.join_next().await else { return self.park().await };
                let code = exit.code;
                self.finish(index, exit).await;
                if code == 0 {
                    break;
                }
                if !state::restarts(self.model.restart_policy(), true, code) {
                    return self.park().await;
                }
                self.back_off(index).await;
            }
        }
        self.run_apps(&specs[init_count..], init_count).await;
    }

    /// Waits forever while keeping volumes fresh: the pod is finished or cannot progress.
    async fn park(&mut self) {
        self.report().await;
        std::future::pending::<()>().await;
    }

    async fn run_apps(&mut self, specs: &[(bool, Spec)], offset: usize) {
        let mut due: BTreeMap<usize, tokio::time::Instant> =
            (0..specs.len()).map(|i| (i + offset, tokio::time::Instant::now())).collect();
        let mut refresh = tokio::time::interval(VOLUME_REFRESH);
        loop {
            let now = tokio::time::Instant::now();
            let ready: Vec<usize> = due.iter().filter(|(_, at)| **at <= now).map(|(i, _)| *i).collect();
            for index in ready {
                due.remove(&index);
                if let Some(wait) = self.start(index, &specs[index - offset].1).await {
                    self.running.spawn(async move { (index, wait.await) });
                }
            }
            self.report().await;
            if self.running.is_empty() && due.is_empty() {
                return self.park().await;
            }
            let next = due.values().min().copied();
            tokio::select! {
                Some(joined) = self.running.join_next() => {
                    let Ok((index, exit)) = joined else { continue };
                    let code = exit.code;
                    let ran = self.finish(index, exit).await;
                    if state::restarts(self.model.restart_policy(), false, code) {
                        let backoff = self.shared.config.backoff;
                        let container = self.container_mut(index);
                        let delay = backoff.delay(container.restarts, ran);
                        if !delay.is_zero() {
                            let name = container.name.clone();
                            container.run = Run::waiting(
                                "CrashLoopBackOff",
                                Some(format!("back-off {}s restarting failed container={name}", delay.as_secs())),
                            );
                            self.event(events::Kind::Warning, "BackOff", &format!("Back-off restarting failed container {name}"));
                        }
                        due.insert(index, tokio::time::Instant::now() + delay);
                    }
                }
                Some((index, finding)) = self.findings.recv() => self.found(index, finding).await,
                () = sleep_until(next) => {}
                _ = refresh.tick() => self.refresh_volumes().await,
            }
        }
    }

    async fn back_off(&mut self, index: usize) {
        let backoff = self.shared.config.backoff;
        let container = self.container_mut(index);
        let delay = backoff.delay(container.restarts, Duration::ZERO);
        let name = container.name.clone();
        if !delay.is_zero() {
            container.run = Run::waiting(
                "CrashLoopBackOff",
                Some(format!("back-off {}s restarting failed container={name}", delay.as_secs())),
            );
            self.event(
                events::Kind::Warning,
                "BackOff",
                &format!("Back-off restarting failed init container {name}"),
            );
            self.report().await;
            tokio::time::sleep(delay).await;
        }
    }

    /// Starts container `index`; returns the future of its exit, or `None` (with the status set) when it cannot.
    async fn start(&mut self, index: usize, spec: &Spec) -> Option<impl Future<Output = Exit> + use<>> {
        let program = self.programs[index].clone()?;
        let restart = self.container_mut(index).restarts;
        let prepared = self.sandbox(spec, restart).await;
        let (sandbox, cpu, memory) = match prepared {
            Ok(prepared) => prepared,
            Err((reason, message)) => {
                self.container_mut(index).run = Run::waiting(reason, Some(message.clone()));
                self.event(events::Kind::Warning, "Failed", &format!("Error: {message}"));
                return None;
            }
        };
        let wasi = match sandbox.builder() {
            Ok(wasi) => wasi,
            Err(e) => {
                self.container_mut(index).run = Run::waiting("CreateContainerError", Some(e.to_string()));
                return None;
            }
        };
        let (stdout, stderr) = (sandbox.stdout.clone(), sandbox.stderr.clone());
        let network = sandbox.network.clone();
        let http = match program.kind() {
            ProgramKind::HttpHandler => match self.http_serve(spec, sandbox) {
                Ok(http) => Some(http),
                Err(message) => {
                    self.container_mut(index).run =
                        Run::waiting("CreateContainerConfigError", Some(message.clone()));
                    self.event(events::Kind::Warning, "Failed", &format!("Error: {message}"));
                    return None;
                }
            },
            _ => None,
        };
        let control = Arc::new(Control::new());
        self.live.insert(index, Live { control: control.clone(), started: Instant::now() });
        let name = spec.name.clone();
        let has_probes =
            spec.startup_probe.is_some() || spec.readiness_probe.is_some() || spec.liveness_probe.is_some();
        let container = self.container_mut(index);
        container.run = Run::Running { started: Timestamp::now() };
        // Without probes a running container is started and ready at once: one status write, not two.
        container.started = spec.startup_probe.is_none();
        container.ready = spec.startup_probe.is_none() && spec.readiness_probe.is_none();
        let probes = match self.placement.pod_ip.parse::<std::net::IpAddr>() {
            Ok(ip) if has_probes => {
                let report = self.report_finding.clone();
                Some(probe::run(spec.clone(), ip, move |finding| {
                    let _ = report.send((index, finding));
                }))
            }
            _ => None,
        };
        let labels = vec![
            ("namespace", self.namespace.clone()),
            ("pod", self.name.clone()),
            ("container", name.clone()),
        ];
        self.shared.metrics.count("wharf_container_starts_total", labels);
        self.event(events::Kind::Normal, "Created", &format!("Created container {name}"));
        self.event(events::Kind::Normal, "Started", &format!("Started container {name}"));
        let runtime = self.shared.runtime.clone();
        let usage = self.shared.usage.container(&uid(&self.pod), &self.namespace, &self.name, &name);
        Some(async move {
            let run = runtime.run(
                program,
                GuestSpec { wasi, memory_limit: memory, cpu, usage, http, network },
                control,
            );
            // The probes live exactly as long as the run.
            let exit = match probes {
                Some(probes) => tokio::select! {
                    exit = run => exit,
                    () = probes => unreachable!("probes run until dropped"),
                },
                None => run.await,
            };
            stdout.finish();
            stderr.finish();
            stdout.mark_ended();
            exit
        })
    }

    /// Where and how an HTTP handler container serves: the pod's address, its port named `http` or else its first
    /// (8080 without any), and the limits its pod's annotations set.
    fn http_serve(&self, spec: &Spec, sandbox: Sandbox) -> Result<HttpServe, String> {
        let ports = spec.ports.as_deref().unwrap_or_default();
        let port = ports.iter().find(|p| p.name.as_deref() == Some("http")).or_else(|| ports.first());
        let port = port
            .map_or(Ok(8080), |p| u16::try_from(p.container_port))
            .map_err(|_| format!("container {} has an invalid containerPort", spec.name))?;
        let ip: std::net::IpAddr = self
            .placement
            .pod_ip
            .parse()
            .map_err(|_| format!("the pod has no usable address ({:?})", self.placement.pod_ip))?;
        let limits = http_limits(self.pod.metadata.annotations.as_ref())?;
        let errors = sandbox.stderr.clone();
        let sandbox = Arc::new(sandbox);
        let contexts: ContextFactory = Arc::new(move || sandbox.builder().map_err(|e| e.to_string()));
        Ok(HttpServe {
            addr: std::net::SocketAddr::new(ip, port),
            contexts,
            limits,
            errors,
            metrics: self.shared.metrics.for_pod(&self.namespace, &self.name, {
                let (resolver, namespace, pod) =
                    (self.shared.services.clone(), self.namespace.clone(), self.name.clone());
                Arc::new(move || resolver.services_of(&namespace, &pod))
            }),
        })
    }

    /// Applies what a running container's probes found: readiness and startup in its status, failures as
    /// `Unhealthy` events, and a restart for a failed liveness or startup probe.
    async fn found(&mut self, index: usize, finding: Finding) {
        let Some(control) = self.live.get(&index).map(|l| l.control.clone()) else { return };
        let container = self.container_mut(index);
        let name = container.name.clone();
        match finding {
            Finding::Started => container.started = true,
            Finding::Ready(ready) => container.ready = ready,
            Finding::Failed(kind, why) => {
                self.event(
                    events::Kind::Warning,
                    "Unhealthy",
                    &format!("{} probe failed: {why}", kind.as_str()),
                );
                return;
            }
            Finding::Restart(kind) => {
                let probe = kind.as_str().to_lowercase();
                self.event(
                    events::Kind::Normal,
                    "Killing",
                    &format!("Container {name} failed {probe} probe, will be restarted"),
                );
                control.kill();
                return;
            }
        }
        self.report().await;
    }

    /// Records the end of a run; returns how long it lasted.
    async fn finish(&mut self, index: usize, exit: Exit) -> Duration {
        let live = self.live.remove(&index);
        let ran = live.map_or(Duration::ZERO, |l| l.started.elapsed());
        let policy = self.model.restart_policy();
        let init = index < self.model.init.len();
        let container = self.container_mut(index);
        container.ready = false;
        container.started = false;
        let started = match &container.run {
            Run::Running { started } => *started,
            _ => Timestamp::now(),
        };
        let name = container.name.clone();
        let terminated = Run::Terminated {
            code: exit.code,
            reason: exit.reason.as_str().to_owned(),
            message: exit.message.clone(),
            started,
            finished: Timestamp::now(),
        };
        if state::restarts(policy, init, exit.code) {
            let labels = vec![
                ("namespace", self.namespace.clone()),
                ("pod", self.name.clone()),
                ("container", name.clone()),
            ];
            self.shared.metrics.count("wharf_container_restarts_total", labels);
            let container = self.container_mut(index);
            container.last = Some(terminated);
            container.restarts += 1;
            container.run = Run::waiting("ContainerCreating", None);
        } else {
            container.run = terminated;
        }
        match exit.reason {
            ExitReason::OomKilled => self.event(
                events::Kind::Warning,
                "OOMKilling",
                &format!("Container {name} exceeded its memory limit and was killed"),
            ),
            ExitReason::Error => self.event(
                events::Kind::Warning,
                "Failed",
                &format!(
                    "Container {name} failed with exit code {}: {}",
                    exit.code,
                    exit.message.as_deref().unwrap_or("non-zero exit")
                ),
            ),
            _ => {}
        }
        self.report().await;
        ran
    }

    async fn sandbox(
        &self,
        spec: &Spec,
        restart: u32,
    ) -> Result<(Sandbox, Option<CpuQuota>, Option<u64>), (&'static str, String)> {
        let config_error = |e: String| ("CreateContainerConfigError", e);
        let sources = self.shared.sources.in_namespace(&self.namespace);
        let env = crate::env::resolve(&self.pod, spec, &sources, self.shared.services.links(&self.namespace))
            .await
            .map_err(|e| config_error(e.to_string()))?;
        let mounts = volumes::mounts(spec, &self.volumes).map_err(|e| config_error(e.to_string()))?;
        let path = logs::run_file(&self.placement.logs, &spec.name, restart);
        prune_old_runs(&self.placement.logs, &spec.name, restart);
        let (stdout, stderr) = LogSink::pair(&path, self.shared.config.log_limits)
            .map_err(|e| ("CreateContainerError", format!("cannot open the log file: {e}")))?;
        let allowed =
            api::egress::AllowedHosts::of(self.pod.metadata.annotations.as_ref()).map_err(config_error)?;
        let directory = self.shared.services.directory(&self.pod, self.on_denied());
        let network = Arc::new(PodNetwork::new(directory, allowed, self.on_refused()));
        let image = spec.image.clone().unwrap_or_default();
        let sandbox = Sandbox {
            argv: sandbox::argv(
                &image,
                &expand_all(spec.command.as_ref(), &env),
                &expand_all(spec.args.as_ref(), &env),
            ),
            env,
            working_dir: spec.working_dir.clone(),
            mounts,
            network: Some(network),
            listening: self.listening.clone(),
            stdout,
            stderr,
        };
        let limits = spec.resources.as_ref().and_then(|r| r.limits.as_ref());
        let memory = limits
            .and_then(|l| l.get("memory"))
            .and_then(|q| api::quantity::memory_bytes(q).ok())
            .map(|b| b.max(0) as u64);
        let cpu = limits
            .and_then(|l| l.get("cpu"))
            .and_then(|q| api::quantity::cpu_millis(q).ok())
            .and_then(|m| CpuQuota::new(m.max(0) as u64));
        Ok((sandbox, cpu, memory))
    }

    /// Prepares the volumes; false when the pod failed for good (the status says why).
    async fn prepare_volumes(&mut self) -> bool {
        let mut delay = Duration::from_secs(1);
        // The pod's directory is made by the first volume that needs one: a directory per pod would cost every
        // pod start a mkdir, which is not cheap on a busy ext4.
        loop {
            let sources = self.shared.sources.in_namespace(&self.namespace);
            match volumes::prepare(
                &self.pod,
                &self.placement.root,
                &self.shared.config.host_path_roots,
                &sources,
            )
            .await
            {
                Ok(volumes) => {
                    self.volumes = volumes;
                    return true;
                }
                Err(e @ volumes::Error::HostPathNotAllowed(_)) => {
                    self.model.failed = Some((e.reason().to_owned(), e.to_string()));
                    self.event(events::Kind::Warning, "Failed", &e.to_string());
                    self.report().await;
                    return false;
                }
                Err(e) => {
                    for c in self.model.init.iter_mut().chain(self.model.app.iter_mut()) {
                        c.run = Run::waiting(e.reason(), Some(e.to_string()));
                    }
                    self.event(events::Kind::Warning, "FailedMount", &e.to_string());
                    self.report().await;
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    async fn refresh_volumes(&mut self) {
        let sources = self.shared.sources.in_namespace(&self.namespace);
        if let Ok(volumes) =
            volumes::prepare(&self.pod, &self.placement.root, &self.shared.config.host_path_roots, &sources)
                .await
        {
            self.volumes = volumes;
        }
    }

    /// Pulls and compiles every container's image, retrying with backoff; the waiting reasons tell why.
    async fn pull_images(&mut self) {
        let specs = self.specs();
        for (index, (_, spec)) in specs.iter().enumerate() {
            let reference = spec.image.clone().unwrap_or_default();
            let mut delay = self.shared.config.backoff.initial.min(Duration::from_secs(10));
            loop {
                match self.pull(&spec.name, &reference).await {
                    Ok((digest, program)) => {
                        self.programs[index] = Some(program);
                        let container = self.container_mut(index);
                        container.image_id = Some(digest);
                        self.event(
                            events::Kind::Normal,
                            "Pulled",
                            &format!("Container image {reference:?} already present on machine and compiled"),
                        );
                        break;
                    }
                    Err((reason, message)) => {
                        self.container_mut(index).run = Run::waiting(reason, Some(message.clone()));
                        self.event(
                            events::Kind::Warning,
                            "Failed",
                            &format!("Failed to pull image {reference:?}: {message}"),
                        );
                        self.report().await;
                        if reason == "ErrImagePull" {
                            // ErrImagePull shows for a moment, then ImagePullBackOff for the rest of the wait.
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            self.container_mut(index).run = Run::waiting(
                                "ImagePullBackOff",
                                Some(format!("Back-off pulling image {reference:?}: {message}")),
                            );
                            self.event(
                                events::Kind::Normal,
                                "BackOff",
                                &format!("Back-off pulling image {reference:?}"),
                            );
                            self.report().await;
                        }
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(self.shared.config.backoff.max);
                    }
                }
            }
        }
    }

    async fn pull(
        &mut self,
        container: &str,
        reference: &str,
    ) -> Result<(String, Program), (&'static str, String)> {
        let image = self.shared.images.pull(reference).await.map_err(|e| (e.reason(), e.to_string()))?;
        self.trusted(container, reference, &image.digest).await?;
        if !self.shared.runtime.loaded(&image.digest) && self.reported.is_none() {
            // Compiling takes a while: show ContainerCreating meanwhile.
            self.report().await;
        }
        let program = self.shared.runtime.load(&image.digest, image.bytes).await.map_err(|e| match e {
            crate::runtime::Error::NotWasm => {
                ("InvalidImage", format!("{reference} is not a WebAssembly module or component"))
            }
            other => ("InvalidImage", other.to_string()),
        })?;
        Ok((image.digest, program))
    }

    /// Whether the module `digest` of `container` may run here (see [`crate::trust`]): refused before it is
    /// compiled, with the reason CRI runtimes give a module that fails signature policy.
    async fn trusted(
        &self,
        container: &str,
        reference: &str,
        digest: &str,
    ) -> Result<(), (&'static str, String)> {
        let trust = &self.shared.config.trust;
        let cached = self.shared.services.namespace_labels(&self.namespace);
        let labels = if let Some(labels) = cached {
            labels
        } else {
            // A namespace the cache has not seen yet is read, never assumed not to require trust.
            let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(self.shared.client.clone());
            let namespace = namespaces.get(&self.namespace).await.map_err(|e| {
                ("SignatureValidationFailed", format!("cannot read namespace {}: {e}", self.namespace))
            })?;
            namespace.metadata.labels.unwrap_or_default()
        };
        let label = labels.get(crate::trust::REQUIRE_LABEL);
        let required = label.map(String::as_str) == Some("required");
        let pinned = reference.contains("@sha256:");
        let annotation = self
            .pod
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(&format!("{}{container}", crate::trust::SIGNATURE_ANNOTATION)))
            .cloned();
        let signature = match annotation {
            Some(signature) => Some(signature),
            None => self.shared.images.signature(reference).await,
        };
        trust
            .judge(required, pinned, digest, signature.as_deref())
            .map_err(|why| ("SignatureValidationFailed", why))
    }

    /// What a connection the pod's NetworkPolicies refuse leaves behind: a count per policy in the node's metrics
    /// and a Warning event on the pod (repeats folded into counts by the event correlator).
    fn on_denied(&self) -> crate::services::OnDenied {
        let (events, pod, metrics) =
            (self.shared.events.clone(), self.pod.clone(), self.shared.metrics.clone());
        let (namespace, name) = (self.namespace.clone(), self.name.clone());
        Arc::new(move |refusal, why| {
            for policy in &refusal.policies {
                let labels = vec![
                    ("namespace", namespace.clone()),
                    ("pod", name.clone()),
                    ("policy", policy.clone()),
                    ("direction", format!("{:?}", refusal.direction)),
                ];
                metrics.count("wharf_network_policy_denied_total", labels);
            }
            events.warning(&pod, "NetworkPolicyDenied", why.to_owned());
        })
    }

    /// What a destination outside the cluster that the pod's allow-list does not name leaves behind: a count in
    /// the node's metrics and a Warning event on the pod.
    fn on_refused(&self) -> OnRefused {
        let (events, pod, metrics) =
            (self.shared.events.clone(), self.pod.clone(), self.shared.metrics.clone());
        let labels = vec![("namespace", self.namespace.clone()), ("pod", self.name.clone())];
        Arc::new(move |why| {
            metrics.count("wharf_egress_denied_total", labels.clone());
            events.warning(&pod, "EgressDenied", why.to_owned());
        })
    }

    fn event(&self, kind: events::Kind, reason: &str, message: &str) {
        self.shared.events.event(&self.pod, kind, reason, reason, message.to_owned());
    }

    /// Patches the status when it changed.
    async fn report(&mut self) {
        let status = state::status(&self.model);
        if self.reported.as_ref().is_some_and(|old| same_ignoring_times(old, &status)) {
            return;
        }
        let api: Api<K8sPod> = Api::namespaced(self.shared.client.clone(), &self.namespace);
        let patch = serde_json::json!({ "status": status });
        match api.patch_status(&self.name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => self.reported = Some(status),
            Err(e) => tracing::debug!(pod = %self.name, error = %e, "status patch failed"),
        }
    }
}

/// `command` and `args` with `$(VAR)` references expanded, as Kubernetes does.
fn expand_all(values: Option<&Vec<String>>, env: &[(String, String)]) -> Vec<String> {
    values.into_iter().flatten().map(|v| crate::env::expand(v, env)).collect()
}

/// Keeps the current and previous runs' logs only, so restarts cannot fill the disk.
fn prune_old_runs(pod_logs: &std::path::Path, container: &str, restart: u32) {
    for (n, path) in logs::read::runs(pod_logs, container) {
        if n + 1 < restart {
            let _ = std::fs::remove_file(&path);
            let mut rotated = path.into_os_string();
            rotated.push(".1");
            let _ = std::fs::remove_file(rotated);
        }
    }
}

/// Two statuses equal but for condition transition times, which are stamped anew on every computation.
fn same_ignoring_times(
    a: &k8s_openapi::api::core::v1::PodStatus,
    b: &k8s_openapi::api::core::v1::PodStatus,
) -> bool {
    let strip = |s: &k8s_openapi::api::core::v1::PodStatus| {
        let mut s = s.clone();
        for c in s.conditions.iter_mut().flatten() {
            c.last_transition_time = None;
        }
        s
    };
    strip(a) == strip(b)
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The pod annotations that tune an HTTP workload.
pub const HTTP_CONCURRENCY_ANNOTATION: &str = "wharf.dev/http-concurrency";
/// See [`HttpLimits::queue`].
pub const HTTP_QUEUE_ANNOTATION: &str = "wharf.dev/http-queue";
/// See [`HttpLimits::timeout`].
pub const HTTP_TIMEOUT_ANNOTATION: &str = "wharf.dev/http-timeout-seconds";

/// An HTTP workload's limits: the defaults, overridden by the pod's annotations.
fn http_limits(annotations: Option<&BTreeMap<String, String>>) -> Result<HttpLimits, String> {
    let mut limits = HttpLimits::default();
    let number = |key: &str, min: u64| -> Result<Option<u64>, String> {
        let Some(text) = annotations.and_then(|a| a.get(key)) else { return Ok(None) };
        match text.trim().parse::<u64>() {
            Ok(n) if n >= min => Ok(Some(n)),
            _ => Err(format!("annotation {key}: {text:?} is not a whole number of at least {min}")),
        }
    };
    if let Some(n) = number(HTTP_CONCURRENCY_ANNOTATION, 1)? {
        limits.concurrency = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(n) = number(HTTP_QUEUE_ANNOTATION, 0)? {
        limits.queue = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(n) = number(HTTP_TIMEOUT_ANNOTATION, 1)? {
        limits.timeout = Duration::from_secs(n);
    }
    Ok(limits)
}
