//! The per-pod state machine, as pure decisions: whether and when a container restarts, the pod's phase and
//! conditions, and the status the agent reports. The pod task observes facts (a guest started, exited with a
//! code) and applies what these functions decide.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus,
    PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// `restartPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    /// Restart whatever the exit code.
    Always,
    /// Restart only after a failure.
    OnFailure,
    /// Never restart.
    Never,
}

impl RestartPolicy {
    /// From the spec field (Kubernetes defaults to Always).
    pub fn parse(policy: Option<&str>) -> Self {
        match policy {
            Some("OnFailure") => Self::OnFailure,
            Some("Never") => Self::Never,
            _ => Self::Always,
        }
    }
}

/// Crash-loop backoff settings of the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the second restart (the first is immediate), doubled after each further one.
    pub initial: Duration,
    /// The most it grows to.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { initial: Duration::from_secs(10), max: Duration::from_secs(300) }
    }
}

impl Backoff {
    /// How long to wait before restarting a container that has restarted `restarts` times and whose last run
    /// lasted `ran`. As the kubelet does: the first restart is immediate, the next waits `initial`, doubling to
    /// `max`; a run that lasted longer than twice `max` resets the backoff.
    pub fn delay(self, restarts: u32, ran: Duration) -> Duration {
        if restarts == 0 || ran > self.max.saturating_mul(2) {
            return Duration::ZERO;
        }
        let doublings = (restarts - 1).min(31);
        self.initial.saturating_mul(1u32 << doublings).min(self.max)
    }
}

/// Whether a container that exited with `code` runs again.
pub fn restarts(policy: RestartPolicy, init: bool, code: i32) -> bool {
    match policy {
        RestartPolicy::Never => false,
        // Init containers are retried until they succeed, for Always and OnFailure alike.
        RestartPolicy::Always if init => code != 0,
        RestartPolicy::Always => true,
        RestartPolicy::OnFailure => code != 0,
    }
}

/// The observed state of one container run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run {
    /// Not running: why.
    Waiting {
        /// Reason (ContainerCreating, CrashLoopBackOff, ErrImagePull, PodInitializing...).
        reason: String,
        /// Explanation.
        message: Option<String>,
    },
    /// Running since.
    Running {
        /// Start time.
        started: Timestamp,
    },
    /// Ended.
    Terminated {
        /// Exit code.
        code: i32,
        /// Completed, Error, OOMKilled...
        reason: String,
        /// Explanation.
        message: Option<String>,
        /// Start time.
        started: Timestamp,
        /// End time.
        finished: Timestamp,
    },
}

impl Run {
    /// A waiting state.
    pub fn waiting(reason: &str, message: Option<String>) -> Self {
        Self::Waiting { reason: reason.to_owned(), message }
    }

    fn to_k8s(&self) -> ContainerState {
        match self {
            Self::Waiting { reason, message } => ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some(reason.clone()),
                    message: message.clone(),
                }),
                ..ContainerState::default()
            },
            Self::Running { started } => ContainerState {
                running: Some(ContainerStateRunning { started_at: Some(time(*started)) }),
                ..ContainerState::default()
            },
            Self::Terminated { code, reason, message, started, finished } => ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: *code,
                    reason: Some(reason.clone()),
                    message: message.clone(),
                    started_at: Some(time(*started)),
                    finished_at: Some(time(*finished)),
                    ..ContainerStateTerminated::default()
                }),
                ..ContainerState::default()
            },
        }
    }
}

fn time(t: Timestamp) -> Time {
    Time(t)
}

/// One container as the agent tracks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// Its name.
    pub name: String,
    /// Its image.
    pub image: String,
    /// The current run.
    pub run: Run,
    /// The previous run, once it restarted.
    pub last: Option<Run>,
    /// How many times it restarted.
    pub restarts: u32,
    /// Digest of the image it runs, once pulled.
    pub image_id: Option<String>,
    /// Whether its startup probe succeeded (or it has none), in the current run.
    pub started: bool,
    /// Whether its readiness probe passes (or it has none), in the current run.
    pub ready: bool,
}

impl Container {
    /// A container not started yet.
    pub fn new(name: &str, image: &str, reason: &str) -> Self {
        Self {
            name: name.to_owned(),
            image: image.to_owned(),
            run: Run::waiting(reason, None),
            last: None,
            restarts: 0,
            image_id: None,
            started: false,
            ready: false,
        }
    }

    fn running(&self) -> bool {
        matches!(self.run, Run::Running { .. })
    }

    /// Running and passing its readiness probe.
    fn is_ready(&self) -> bool {
        self.running() && self.ready
    }

    fn exit_code(&self) -> Option<i32> {
        match &self.run {
            Run::Terminated { code, .. } => Some(*code),
            _ => None,
        }
    }

    fn status(&self) -> ContainerStatus {
        ContainerStatus {
            name: self.name.clone(),
            image: self.image.clone(),
            image_id: self.image_id.clone().map_or_else(String::new, |d| format!("sha256:{d}")),
            container_id: self.image_id.as_ref().map(|_| format!("wasm://{}/{}", self.name, self.restarts)),
            ready: self.is_ready(),
            started: Some(self.running() && self.started),
            restart_count: self.restarts as i32,
            state: Some(self.run.to_k8s()),
            last_state: Some(self.last.as_ref().map(Run::to_k8s).unwrap_or_default()),
            ..ContainerStatus::default()
        }
    }
}

/// The whole pod as the agent tracks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pod {
    /// Init containers, in order.
    pub init: Vec<Container>,
    /// App containers.
    pub app: Vec<Container>,
    /// `restartPolicy`.
    pub policy: RestartPolicy,
    /// The pod is being deleted: nothing restarts, and once every container ended the phase is terminal.
    pub terminating: bool,
    /// A failure of the whole pod (reason, message), e.g. a hostPath that is not allowed.
    pub failed: Option<(String, String)>,
    /// When the agent took the pod.
    pub start: Timestamp,
    /// The node's address.
    pub host_ip: String,
    /// The pod's address.
    pub pod_ip: String,
}

impl Pod {
    /// The restart policy in force: a pod being deleted restarts nothing, as with the kubelet, which moves a
    /// deleted pod to Succeeded or Failed once its containers stopped; nor does a pod that failed as a whole
    /// (evicted, say).
    pub fn restart_policy(&self) -> RestartPolicy {
        if self.terminating || self.failed.is_some() { RestartPolicy::Never } else { self.policy }
    }
}

/// `status.phase` and the pod's own reason.
pub fn phase(pod: &Pod) -> &'static str {
    if pod.failed.is_some() {
        return "Failed";
    }
    let init_done = pod.init.iter().all(|c| c.exit_code() == Some(0));
    if !init_done {
        let init_failed = pod
            .init
            .iter()
            .any(|c| c.exit_code().is_some_and(|code| !restarts(pod.restart_policy(), true, code)));
        return if init_failed { "Failed" } else { "Pending" };
    }
    if pod.app.iter().any(Container::running) {
        return "Running";
    }
    let codes: Option<Vec<i32>> = pod.app.iter().map(Container::exit_code).collect();
    match codes {
        // Terminated containers that will restart keep the pod Running.
        Some(codes) if codes.iter().all(|&c| !restarts(pod.restart_policy(), false, c)) => {
            if codes.iter().all(|&c| c == 0) { "Succeeded" } else { "Failed" }
        }
        _ if pod.app.iter().any(|c| c.restarts > 0 || c.exit_code().is_some()) => "Running",
        _ => "Pending",
    }
}

/// The status the agent reports for `pod`.
pub fn status(pod: &Pod) -> PodStatus {
    let phase = phase(pod);
    let init_done = pod.init.iter().all(|c| c.exit_code() == Some(0));
    let ready = phase == "Running" && pod.app.iter().all(Container::is_ready);
    let now = Time(Timestamp::now());
    let condition = |kind: &str, ok: bool, reason: Option<&str>| PodCondition {
        type_: kind.to_owned(),
        status: if ok { "True" } else { "False" }.to_owned(),
        reason: if ok { None } else { reason.map(str::to_owned) },
        last_transition_time: Some(now.clone()),
        ..PodCondition::default()
    };
    let not_ready =
        if phase == "Succeeded" || phase == "Failed" { "PodCompleted" } else { "ContainersNotReady" };
    PodStatus {
        phase: Some(phase.to_owned()),
        reason: pod.failed.as_ref().map(|(r, _)| r.clone()),
        message: pod.failed.as_ref().map(|(_, m)| m.clone()),
        host_ip: Some(pod.host_ip.clone()),
        host_ips: Some(vec![k8s_openapi::api::core::v1::HostIP { ip: pod.host_ip.clone() }]),
        pod_ip: Some(pod.pod_ip.clone()),
        pod_ips: Some(vec![PodIP { ip: pod.pod_ip.clone() }]),
        start_time: Some(Time(pod.start)),
        conditions: Some(vec![
            condition("PodScheduled", true, None),
            condition("Initialized", init_done, Some("ContainersNotInitialized")),
            condition("ContainersReady", ready, Some(not_ready)),
            condition("Ready", ready, Some(not_ready)),
        ]),
        init_container_statuses: (!pod.init.is_empty())
            .then(|| pod.init.iter().map(Container::status).collect()),
        container_statuses: Some(pod.app.iter().map(Container::status).collect()),
        qos_class: Some("BestEffort".to_owned()),
        ..PodStatus::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terminated(code: i32) -> Run {
        let t = Timestamp::UNIX_EPOCH;
        Run::Terminated { code, reason: "x".into(), message: None, started: t, finished: t }
    }

    fn pod(policy: RestartPolicy, init: Vec<Run>, app: Vec<Run>) -> Pod {
        let make = |runs: Vec<Run>| {
            runs.into_iter()
                .enumerate()
                .map(|(i, run)| Container {
                    run,
                    ready: true,
                    started: true,
                    ..Container::new(&format!("c{i}"), "/i.wasm", "x")
                })
                .collect()
        };
        Pod {
            init: make(init),
            app: make(app),
            policy,
            terminating: false,
            failed: None,
            start: Timestamp::UNIX_EPOCH,
            host_ip: "127.0.0.1".into(),
            pod_ip: "10.0.0.2".into(),
        }
    }

    #[test]
    fn backoff_table() {
        let b = Backoff::default();
        let short = Duration::from_secs(1);
        let cases = [(0, 0), (1, 10), (2, 20), (3, 40), (4, 80), (5, 160), (6, 300), (40, 300)];
        for (restarts, secs) in cases {
            assert_eq!(b.delay(restarts, short), Duration::from_secs(secs), "after {restarts} restarts");
        }
        assert_eq!(b.delay(5, Duration::from_secs(601)), Duration::ZERO, "a long run resets the backoff");
    }

    #[test]
    fn restart_table() {
        use RestartPolicy::{Always, Never, OnFailure};
        let cases = [
            (Always, false, 0, true),
            (Always, false, 1, true),
            (OnFailure, false, 0, false),
            (OnFailure, false, 2, true),
            (Never, false, 1, false),
            (Always, true, 0, false),
            (Always, true, 1, true),
            (Never, true, 1, false),
        ];
        for (policy, init, code, expected) in cases {
            assert_eq!(restarts(policy, init, code), expected, "{policy:?} init={init} code={code}");
        }
    }

    #[test]
    fn phase_table() {
        use RestartPolicy::{Always, Never, OnFailure};
        let running = Run::Running { started: Timestamp::UNIX_EPOCH };
        let creating = Run::waiting("ContainerCreating", None);
        let cases = [
            (Always, vec![], vec![creating.clone()], "Pending"),
            (Always, vec![], vec![running.clone()], "Running"),
            (Never, vec![], vec![terminated(0)], "Succeeded"),
            (Never, vec![], vec![terminated(0), terminated(3)], "Failed"),
            (Never, vec![], vec![terminated(0), running.clone()], "Running"),
            (OnFailure, vec![], vec![terminated(0)], "Succeeded"),
            (OnFailure, vec![], vec![terminated(1)], "Running"),
            (Always, vec![], vec![terminated(0)], "Running"),
            (Always, vec![running.clone()], vec![creating.clone()], "Pending"),
            (Never, vec![terminated(1)], vec![creating.clone()], "Failed"),
            (Always, vec![terminated(1)], vec![creating.clone()], "Pending"),
            (Always, vec![terminated(0)], vec![running.clone()], "Running"),
        ];
        for (policy, init, app, expected) in cases {
            let p = pod(policy, init.clone(), app.clone());
            assert_eq!(phase(&p), expected, "{policy:?} init={init:?} app={app:?}");
        }
    }

    #[test]
    fn deleted_pods_end_in_a_terminal_phase() {
        use RestartPolicy::{Always, OnFailure};
        let running = Run::Running { started: Timestamp::UNIX_EPOCH };
        let cases = [
            (Always, vec![terminated(0)], "Succeeded"),
            (Always, vec![terminated(137)], "Failed"),
            (OnFailure, vec![terminated(1), terminated(0)], "Failed"),
            (Always, vec![terminated(0), running], "Running"),
        ];
        for (policy, app, expected) in cases {
            let mut p = pod(policy, vec![], app.clone());
            p.terminating = true;
            assert_eq!(phase(&p), expected, "{policy:?} app={app:?}");
            assert_eq!(p.restart_policy(), RestartPolicy::Never);
        }
    }

    #[test]
    fn a_failed_pod_restarts_nothing_and_says_why() {
        let running = Run::Running { started: Timestamp::UNIX_EPOCH };
        let mut p = pod(RestartPolicy::Always, vec![], vec![running]);
        p.failed =
            Some(("Evicted".into(), "Usage of EmptyDir volume \"v\" exceeds the limit \"1Mi\". ".into()));
        assert_eq!(p.restart_policy(), RestartPolicy::Never);
        assert!(!restarts(p.restart_policy(), false, 137));
        p.app[0].run = terminated(137);
        let s = status(&p);
        assert_eq!((s.phase.as_deref(), s.reason.as_deref()), (Some("Failed"), Some("Evicted")));
        assert!(s.message.unwrap().starts_with("Usage of EmptyDir volume"));
        let ready = s.conditions.unwrap().into_iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!((ready.status.as_str(), ready.reason.as_deref()), ("False", Some("PodCompleted")));
    }

    #[test]
    fn status_reports_conditions_and_states() {
        let p = pod(
            RestartPolicy::Always,
            vec![terminated(0)],
            vec![Run::Running { started: Timestamp::UNIX_EPOCH }],
        );
        let s = status(&p);
        assert_eq!(s.phase.as_deref(), Some("Running"));
        let conditions = s.conditions.unwrap();
        assert!(conditions.iter().all(|c| c.status == "True"), "{conditions:?}");
        assert!(s.container_statuses.unwrap()[0].state.as_ref().unwrap().running.is_some());
        let mut failed = p.clone();
        failed.failed = Some(("HostPathNotAllowed".into(), "no".into()));
        assert_eq!(status(&failed).reason.as_deref(), Some("HostPathNotAllowed"));
    }
}
