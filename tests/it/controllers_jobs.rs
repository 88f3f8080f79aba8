//! Jobs end to end: the API server, the scheduler, the controllers and a real node agent running real wasm
//! guests (`hello` with `exit:0` / `exit:1`), watched with kube-rs and the real kubectl.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::Api;
use kube::api::ListParams;
use serde_json::{Value, json};

use tests::eventually;

use crate::node::{Cluster, TARGETS, guest};

/// One node, the scheduler and the controllers (failed pods replaced after 100 ms rather than 10 s).
struct JobCluster {
    cluster: Cluster,
    scheduler: scheduler::Service,
    controllers: controllers::Controllers,
}

impl JobCluster {
    async fn start() -> Self {
        let cluster = Cluster::start(1, |_| {}).await;
        let client = cluster.server.client();
        let scheduler = scheduler::Service::start(client.clone(), scheduler::Options::default());
        let mut options = controllers::Options::default();
        options.job_backoff.base = Duration::from_millis(100);
        let controllers = controllers::Controllers::start_with(client, options);
        Self { cluster, scheduler, controllers }
    }

    fn jobs(&self) -> Api<Job> {
        Api::namespaced(self.cluster.server.client(), "default")
    }

    async fn pods_of(&self, job: &str) -> Vec<Pod> {
        let selector = format!("batch.kubernetes.io/job-name={job}");
        self.cluster.pods().list(&ListParams::default().labels(&selector)).await.unwrap().items
    }

    async fn events_of(&self, job: &str) -> Vec<(String, String)> {
        let events: Api<Event> = Api::namespaced(self.cluster.server.client(), "default");
        let fields = format!("involvedObject.name={job},involvedObject.kind=Job");
        let list = events.list(&ListParams::default().fields(&fields)).await.unwrap();
        list.items
            .into_iter()
            .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
            .collect()
    }

    async fn shutdown(self) {
        self.controllers.shutdown().await;
        self.scheduler.shutdown().await;
        for (_, agent) in self.cluster.agents {
            agent.shutdown().await;
        }
    }
}

fn job(name: &str, spec: Value, args: &[&str]) -> Value {
    let mut spec = spec;
    spec["template"] = json!({"spec": {"restartPolicy": "Never", "containers": [{
        "name": "main", "image": guest(TARGETS[0], "hello"), "args": args}]}});
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "default"}, "spec": spec})
}

fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or_default()
}

fn condition_types(job: &Job) -> Vec<String> {
    let conditions = job.status.as_ref().and_then(|s| s.conditions.as_ref());
    conditions.iter().flat_map(|c| c.iter()).map(|c| format!("{}={}", c.type_, c.status)).collect()
}

#[tokio::test]
async fn controllers_run_a_job_to_completion_for_kubectl_wait() {
    let jc = JobCluster::start().await;
    let kubectl = jc.cluster.server.kubectl();
    let manifest = kubectl.write("job.yaml", &job("once", json!({}), &["exit:0"]).to_string());
    kubectl.ok(&["apply", "-f", &manifest]).await;
    let out = kubectl.ok(&["wait", "--for=condition=Complete", "job/once", "--timeout=60s"]).await;
    assert!(out.contains("condition met"), "{out}");

    let job = jc.jobs().get("once").await.unwrap();
    let status = job.status.clone().unwrap();
    assert_eq!((status.succeeded, status.failed, status.active), (Some(1), Some(0), Some(0)));
    assert!(status.start_time.is_some() && status.completion_time.is_some());
    assert_eq!(condition_types(&job), ["SuccessCriteriaMet=True", "Complete=True"]);
    let pods = jc.pods_of("once").await;
    assert_eq!(pods.len(), 1);
    assert_eq!(phase(&pods[0]), "Succeeded");
    let events = jc.events_of("once").await;
    for reason in ["SuccessfulCreate", "Completed"] {
        assert!(events.iter().any(|(r, _)| r == reason), "{reason} missing from {events:?}");
    }
    let described = kubectl.ok(&["get", "job/once"]).await;
    assert!(described.contains("once"), "{described}");
    jc.shutdown().await;
}

#[tokio::test]
async fn controllers_run_twenty_completions_four_at_a_time() {
    let jc = JobCluster::start().await;
    let jobs = jc.jobs();
    let body = job("many", json!({"completions": 20, "parallelism": 4}), &["sleep:50", "exit:0"]);
    jobs.create(&Default::default(), &serde_json::from_value(body).unwrap()).await.unwrap();
    let most_running = std::cell::Cell::new(0);
    eventually("the job to complete", Duration::from_secs(120), || async {
        let pods = jc.pods_of("many").await;
        let running = pods.iter().filter(|p| !matches!(phase(p), "Succeeded" | "Failed")).count();
        most_running.set(most_running.get().max(running));
        condition_types(&jobs.get("many").await.unwrap()).contains(&"Complete=True".to_owned())
    })
    .await;
    let most_running = most_running.get();
    assert!(most_running <= 4, "{most_running} pods ran at once with parallelism 4");
    let pods = jc.pods_of("many").await;
    assert_eq!(pods.iter().filter(|p| phase(p) == "Succeeded").count(), 20);
    assert_eq!(pods.len(), 20, "no pod beyond the completions");
    let status = jobs.get("many").await.unwrap().status.unwrap();
    assert_eq!((status.succeeded, status.active), (Some(20), Some(0)));
    jc.shutdown().await;
}

#[tokio::test]
async fn controllers_fail_a_job_at_its_backoff_limit() {
    let jc = JobCluster::start().await;
    let kubectl = jc.cluster.server.kubectl();
    let manifest =
        kubectl.write("job.yaml", &job("broken", json!({"backoffLimit": 2}), &["exit:1"]).to_string());
    kubectl.ok(&["apply", "-f", &manifest]).await;
    let out = kubectl.ok(&["wait", "--for=condition=Failed", "job/broken", "--timeout=60s"]).await;
    assert!(out.contains("condition met"), "{out}");

    let job = jc.jobs().get("broken").await.unwrap();
    assert_eq!(condition_types(&job), ["FailureTarget=True", "Failed=True"]);
    let status = job.status.clone().unwrap();
    let failed = status.conditions.unwrap().into_iter().find(|c| c.type_ == "Failed").unwrap();
    assert_eq!(failed.reason.as_deref(), Some("BackoffLimitExceeded"));
    assert_eq!((status.failed, status.succeeded, status.active), (Some(3), Some(0), Some(0)));
    assert!(status.completion_time.is_none());
    // The controller records the event after it made its last pods and wrote the final status.
    eventually("the BackoffLimitExceeded event", Duration::from_secs(30), || async {
        jc.events_of("broken").await.iter().any(|(reason, _)| reason == "BackoffLimitExceeded")
    })
    .await;
    // backoffLimit 2: the first run and two retries, then no more.
    let pods = jc.pods_of("broken").await;
    assert_eq!(pods.len(), 3);
    assert!(pods.iter().all(|p| phase(p) == "Failed"));
    jc.shutdown().await;
}

#[tokio::test]
async fn controllers_pass_completion_indexes_and_expire_finished_jobs() {
    let jc = JobCluster::start().await;
    let jobs = jc.jobs();
    let spec = json!({"completions": 3, "parallelism": 3, "completionMode": "Indexed", "ttlSecondsAfterFinished": 10});
    jobs.create(&Default::default(), &serde_json::from_value(job("indexed", spec, &["exit:0"])).unwrap())
        .await
        .unwrap();
    eventually("the indexed job to complete", Duration::from_secs(60), || async {
        jobs.get_opt("indexed")
            .await
            .unwrap()
            .is_some_and(|j| condition_types(&j).contains(&"Complete=True".to_owned()))
    })
    .await;
    let job = jobs.get("indexed").await.unwrap();
    assert_eq!(job.status.unwrap().completed_indexes.as_deref(), Some("0-2"));
    let mut seen = Vec::new();
    for pod in jc.pods_of("indexed").await {
        let name = pod.metadata.name.clone().unwrap();
        let index = pod.metadata.annotations.unwrap()["batch.kubernetes.io/job-completion-index"].clone();
        assert_eq!(pod.metadata.labels.unwrap()["batch.kubernetes.io/job-completion-index"], index);
        assert!(name.starts_with(&format!("indexed-{index}-")), "{name}");
        let logs = jc.cluster.logs(0, &name, "main", "").await;
        assert!(logs.contains(&format!("env JOB_COMPLETION_INDEX={index}")), "{logs}");
        seen.push(index);
    }
    seen.sort();
    assert_eq!(seen, ["0", "1", "2"]);

    // ttlSecondsAfterFinished: the Job and its pods go.
    eventually("the finished job to be deleted", Duration::from_secs(60), || async {
        jobs.get_opt("indexed").await.unwrap().is_none() && jc.pods_of("indexed").await.is_empty()
    })
    .await;
    jc.shutdown().await;
}
