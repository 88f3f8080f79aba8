//! The node's log endpoint, as the kubelet serves it: `GET /containerLogs/{namespace}/{pod}/{container}` with
//! `follow`, `tailLines`, `timestamps`, `sinceSeconds`, `previous` and `limitBytes`, answering text/plain. The
//! node's endpoint ([`crate::endpoint`]) serves it; the API server's `pods/{name}/log` proxies to it.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::read::{self, LogOptions};

/// How often a follower looks for new lines.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

/// The log routes, serving the logs under `root`.
pub fn router(root: PathBuf) -> Router {
    Router::new().route("/containerLogs/{namespace}/{pod}/{container}", get(logs)).with_state(Arc::new(root))
}

/// The newest log directory of a pod by that name (a pod re-created under the same name has a new uid).
fn find_pod_dir(root: &Path, namespace: &str, pod: &str) -> Option<PathBuf> {
    let prefix = format!("{namespace}_{pod}_");
    std::fs::read_dir(root)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path())
}

async fn logs(
    State(root): State<Arc<PathBuf>>,
    UrlPath((namespace, pod, container)): UrlPath<(String, String, String)>,
    Query(options): Query<LogOptions>,
) -> Response {
    let plain = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
    let Some(pod_dir) = find_pod_dir(&root, &namespace, &pod) else {
        return (StatusCode::NOT_FOUND, plain, format!("no logs for pod {namespace}/{pod}\n"))
            .into_response();
    };
    let Some(file) = read::pick(&pod_dir, &container, options.previous) else {
        let what = if options.previous { "previous terminated container" } else { "container" };
        return (StatusCode::NOT_FOUND, plain, format!("{what} {container:?} in pod {pod:?} has no logs\n"))
            .into_response();
    };
    let (text, offset) = read::read(&file, &options);
    if !options.follow || options.previous {
        return (StatusCode::OK, plain, text).into_response();
    }
    let budget = options.limit_bytes.map(|l| usize::try_from(l.max(0)).unwrap_or(usize::MAX));
    let stream = futures::stream::unfold(
        Follow { file, pod_dir, container, offset, first: Some(text), sent: 0, budget, options },
        |mut follow| async move {
            let chunk = follow.next().await?;
            Some((Ok::<_, std::io::Error>(chunk), follow))
        },
    );
    (StatusCode::OK, plain, Body::from_stream(stream)).into_response()
}

/// A follower of one run's file; it ends when the run is over (its end marker exists, a newer run exists or the
/// pod is gone).
struct Follow {
    file: PathBuf,
    pod_dir: PathBuf,
    container: String,
    offset: u64,
    first: Option<String>,
    sent: usize,
    budget: Option<usize>,
    options: LogOptions,
}

impl Follow {
    async fn next(&mut self) -> Option<String> {
        if let Some(first) = self.first.take()
            && !first.is_empty()
        {
            return self.limit(first);
        }
        loop {
            if self.budget.is_some_and(|b| self.sent >= b) {
                return None;
            }
            // Seen before the last read, the marker means that read had every line the run wrote.
            let ended = super::ended_marker(&self.file).exists();
            let chunk = self.read_new();
            if !chunk.is_empty() {
                return self.limit(chunk);
            }
            if ended {
                return None;
            }
            let newest = read::pick(&self.pod_dir, &self.container, false);
            if !self.pod_dir.exists() || newest.as_deref() != Some(self.file.as_path()) {
                return None;
            }
            tokio::time::sleep(FOLLOW_POLL).await;
        }
    }

    fn limit(&mut self, mut chunk: String) -> Option<String> {
        if let Some(budget) = self.budget {
            read::truncate(&mut chunk, budget.saturating_sub(self.sent));
        }
        self.sent += chunk.len();
        (!chunk.is_empty()).then_some(chunk)
    }

    /// Complete lines appended since the last read. A rotation starts the file over.
    fn read_new(&mut self) -> String {
        let Ok(mut file) = std::fs::File::open(&self.file) else { return String::new() };
        let len = file.metadata().map_or(0, |m| m.len());
        if len < self.offset {
            self.offset = 0;
        }
        let mut bytes = Vec::new();
        if file.seek(SeekFrom::Start(self.offset)).is_err()
            || file.take(1 << 20).read_to_end(&mut bytes).is_err()
        {
            return String::new();
        }
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        self.offset += complete as u64;
        let mut out = String::new();
        for record in String::from_utf8_lossy(&bytes[..complete]).lines() {
            read::format(&read::parse(record), self.options.timestamps, &mut out);
        }
        out
    }
}
