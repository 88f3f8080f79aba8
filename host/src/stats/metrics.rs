//! The node agent's Prometheus metrics (`/metrics` on its endpoint, text format 0.0.4): HTTP requests per pod and
//! per Service with their status codes and latency, instances started, container starts and restarts, Service
//! proxy connections per Service, and connections refused by NetworkPolicies. A Service's requests are those its endpoints on this node served; summed over
//! the nodes, they are all of its requests.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// Label pairs, in order.
type Labels = Vec<(&'static str, String)>;

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// Every metric of the node. Cheap to share; updates take a short lock.
#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, Labels), u64>>,
    histograms: Mutex<BTreeMap<(&'static str, Labels), Histogram>>,
}

/// What each metric is, for `# HELP` and `# TYPE`.
const FAMILIES: [(&str, &str, &str); 11] = [
    ("wharf_http_requests_total", "counter", "HTTP requests served by a pod, by status code."),
    (
        "wharf_http_request_duration_seconds",
        "histogram",
        "Time from a request's arrival to its response head, per pod.",
    ),
    (
        "wharf_service_http_requests_total",
        "counter",
        "HTTP requests served by a Service's endpoints on this node, by status code.",
    ),
    (
        "wharf_service_http_request_duration_seconds",
        "histogram",
        "Time from a request's arrival to its response head, per Service, at its endpoints on this node.",
    ),
    (
        "wharf_http_instances_started_total",
        "counter",
        "Guest instances started to handle HTTP requests, per pod.",
    ),
    ("wharf_container_starts_total", "counter", "Container runs started, per pod and container."),
    ("wharf_container_restarts_total", "counter", "Container restarts, per pod and container."),
    (
        "wharf_service_connections_total",
        "counter",
        "Connections the Service proxy took, per Service and outcome.",
    ),
    (
        "wharf_network_policy_denied_total",
        "counter",
        "Connections NetworkPolicies refused, per policy and direction (and the pod that opened them, for guests).",
    ),
    (
        "wharf_egress_denied_total",
        "counter",
        "Requests, connections, datagrams and lookups refused for naming a destination outside the cluster that \
         the pod's wharf.dev/allowed-hosts does not list.",
    ),
    (
        "wharf_egress_connections_total",
        "counter",
        "Connections this node opened from the namespaces' egress addresses it holds, per address.",
    ),
];

impl Metrics {
    /// Adds one to the counter `name` with `labels`.
    pub fn count(&self, name: &'static str, labels: Labels) {
        *self.counters.lock().unwrap_or_else(PoisonError::into_inner).entry((name, labels)).or_default() += 1;
    }

    /// Records `value` in the histogram `name` with `labels`.
    pub fn observe(&self, name: &'static str, labels: Labels, value: Duration) {
        let seconds = value.as_secs_f64();
        let mut histograms = self.histograms.lock().unwrap_or_else(PoisonError::into_inner);
        let histogram = histograms.entry((name, labels)).or_default();
        for (count, bound) in histogram.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *count += 1;
            }
        }
        histogram.sum += seconds;
        histogram.count += 1;
    }

    /// The metrics of one HTTP workload's pod, whose requests also count for the Services `services` names.
    pub fn for_pod(self: &Arc<Self>, namespace: &str, pod: &str, services: ServicesOf) -> PodMetrics {
        PodMetrics { metrics: self.clone(), namespace: namespace.to_owned(), pod: pod.to_owned(), services }
    }

    /// Prometheus' text format.
    pub fn render(&self) -> String {
        let counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let histograms = self.histograms.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let mut out = String::new();
        for (family, kind, help) in FAMILIES {
            let _ = writeln!(out, "# HELP {family} {help}\n# TYPE {family} {kind}");
            for ((name, labels), value) in counters.iter().filter(|((n, _), _)| *n == family) {
                let _ = writeln!(out, "{name}{} {value}", render_labels(labels, None));
            }
            for ((name, labels), h) in histograms.iter().filter(|((n, _), _)| *n == family) {
                for (count, bound) in h.counts.iter().zip(BUCKETS) {
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {count}",
                        render_labels(labels, Some(&bound.to_string()))
                    );
                }
                let _ = writeln!(out, "{name}_bucket{} {}", render_labels(labels, Some("+Inf")), h.count);
                let _ = writeln!(out, "{name}_sum{} {}", render_labels(labels, None), h.sum);
                let _ = writeln!(out, "{name}_count{} {}", render_labels(labels, None), h.count);
            }
        }
        out
    }
}

fn render_labels(labels: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() { String::new() } else { format!("{{{}}}", parts.join(",")) }
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The names of the Services (in the pod's namespace) whose endpoints include a pod, as they are now.
pub type ServicesOf = Arc<dyn Fn() -> Arc<[String]> + Send + Sync>;

/// The metrics of one pod's HTTP requests.
#[derive(Clone)]
pub struct PodMetrics {
    metrics: Arc<Metrics>,
    namespace: String,
    pod: String,
    services: ServicesOf,
}

impl PodMetrics {
    fn labels(&self) -> Labels {
        vec![("namespace", self.namespace.clone()), ("pod", self.pod.clone())]
    }

    /// One request answered with `code` after `took`.
    pub fn request(&self, code: u16, took: Duration) {
        let mut labels = self.labels();
        labels.push(("code", code.to_string()));
        self.metrics.count("wharf_http_requests_total", labels);
        self.metrics.observe("wharf_http_request_duration_seconds", self.labels(), took);
        for service in (self.services)().iter() {
            let labels = vec![("namespace", self.namespace.clone()), ("service", service.clone())];
            let mut with_code = labels.clone();
            with_code.push(("code", code.to_string()));
            self.metrics.count("wharf_service_http_requests_total", with_code);
            self.metrics.observe("wharf_service_http_request_duration_seconds", labels, took);
        }
    }

    /// One instance started.
    pub fn instance_started(&self) {
        self.metrics.count("wharf_http_instances_started_total", self.labels());
    }
}

/// The route, to merge into the node's endpoint.
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new().route("/metrics", get(serve)).with_state(metrics)
}

async fn serve(State(metrics): State<Arc<Metrics>>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics.render()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms_in_the_text_format() {
        let metrics = Arc::new(Metrics::default());
        let services: Arc<[String]> = Arc::from(vec!["web".to_owned(), "all".to_owned()]);
        let pod = metrics.for_pod("default", "web-\"1\"", Arc::new(move || services.clone()));
        pod.request(200, Duration::from_millis(2));
        pod.request(200, Duration::from_millis(30));
        pod.request(503, Duration::from_micros(100));
        let text = metrics.render();
        assert!(text.contains("# TYPE wharf_http_requests_total counter"), "{text}");
        assert!(
            text.contains(r#"wharf_http_requests_total{namespace="default",pod="web-\"1\"",code="200"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"wharf_http_request_duration_seconds_bucket{namespace="default",pod="web-\"1\"",le="0.0025"} 2"#), "{text}");
        assert!(text.contains(r#"wharf_http_request_duration_seconds_bucket{namespace="default",pod="web-\"1\"",le="+Inf"} 3"#), "{text}");
        assert!(
            text.contains(
                r#"wharf_http_request_duration_seconds_count{namespace="default",pod="web-\"1\""} 3"#
            ),
            "{text}"
        );
        for service in ["web", "all"] {
            let count = format!(
                r#"wharf_service_http_requests_total{{namespace="default",service="{service}",code="200"}} 2"#
            );
            assert!(text.contains(&count), "{text}");
            let sum = format!(
                r#"wharf_service_http_request_duration_seconds_count{{namespace="default",service="{service}"}} 3"#
            );
            assert!(text.contains(&sum), "{text}");
        }
    }
}
