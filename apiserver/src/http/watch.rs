//! Watch streams: newline-delimited JSON events over a chunked response.
//!
//! A watch starts from a consistent point taken under the store's read lock: either a snapshot of the current
//! objects (synthetic ADDED events, for `resourceVersion` empty or `0`, or WatchList's `sendInitialEvents`) or
//! the history after the requested resource version. It subscribes to live events under the same lock, so no
//! event is missed or repeated. A watcher that cannot keep up is disconnected rather than slowing writers.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::AppState;
use super::output::{Format, partial_metadata_json, table_of};
use super::query::Query;
use crate::error::{ApiError, Result};
use crate::registry::{ListOptions, ResourceType, matches};
use crate::store::{EventType, Key, StoredObject, WatchEvent};

/// The annotation on the bookmark that ends WatchList's initial events.
const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// How a watch begins.
enum Start {
    /// Send these objects as ADDED first (and, for WatchList, the initial-events-end bookmark).
    Snapshot { objects: Vec<Arc<StoredObject>>, end_bookmark: bool },
    /// Send these past events first.
    Backlog(Vec<Arc<WatchEvent>>),
    /// The requested resource version is no longer in the history.
    Expired(String),
}

/// What one watch filters on and how it encodes.
struct Watcher {
    rt: &'static ResourceType,
    prefix: String,
    options: ListOptions,
    format: Format,
}

pub fn serve(
    state: &AppState,
    rt: &'static ResourceType,
    namespace: Option<&str>,
    query: &Query,
    format: Format,
) -> Result<Response> {
    if format == Format::Protobuf {
        return Err(ApiError::not_acceptable(
            "application/vnd.kubernetes.protobuf (watches are served as application/json)",
        ));
    }
    let options = query.list_options(rt)?;
    let bookmarks = query.flag("allowWatchBookmarks");
    let send_initial = query.get("sendInitialEvents").map(|v| v == "true");
    if send_initial == Some(true) {
        if query.get("resourceVersionMatch") != Some("NotOlderThan") {
            return Err(invalid_watch(
                rt,
                "resourceVersionMatch",
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if !bookmarks {
            return Err(invalid_watch(
                rt,
                "allowWatchBookmarks",
                "sendInitialEvents requires setting allowWatchBookmarks to true",
            ));
        }
    }
    let requested = match query.get("resourceVersion").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(v.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!(
                "invalid resourceVersion {v:?}: it must be a value read from this server"
            ))
        })?),
    };
    let timeout = match query.number("timeoutSeconds")? {
        Some(seconds) => Duration::from_secs(seconds),
        None => state.options.default_watch_timeout,
    };
    let namespace = if rt.namespaced { namespace } else { None };
    let watcher = Watcher { rt, prefix: Key::prefix(rt.storage, namespace), options, format };

    let (start, start_rv, live) = state.registry.store().read(|s| {
        let live = s.history.subscribe();
        let snapshot = send_initial.unwrap_or(matches!(requested, None | Some(0)));
        let start = if snapshot {
            let objects = s
                .range(&watcher.prefix, None)
                .filter(|(_, o)| matches(o, watcher.options.labels.as_ref(), watcher.options.fields.as_ref()))
                .map(|(_, o)| o.clone())
                .collect();
            Start::Snapshot { objects, end_bookmark: send_initial == Some(true) }
        } else {
            let from = requested.unwrap_or(s.rv);
            match s.history.since(from) {
                Ok(events) => Start::Backlog(events),
                Err(expired) => Start::Expired(expired.to_string()),
            }
        };
        (start, requested.filter(|_| !snapshot).unwrap_or(s.rv), live)
    });

    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let bookmark_every = state.options.bookmark_interval;
    tokio::spawn(async move {
        let _ =
            stream(watcher, start, start_rv, live, tx, timeout, bookmarks.then_some(bookmark_every)).await;
    });
    let body =
        futures::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx)) },
        );
    Ok(Response::builder()
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(body))
        .unwrap_or_else(|e| ApiError::internal(e).into_response_body()))
}

fn invalid_watch(rt: &ResourceType, field: &str, message: &str) -> ApiError {
    let error = api::validation::FieldError {
        kind: api::validation::FieldErrorKind::Forbidden,
        field: field.to_owned(),
        value: None,
        detail: message.to_owned(),
    };
    let mut e = ApiError::invalid(rt, "", &[error]);
    e.message = format!("ListOptions.meta.k8s.io \"\" is invalid: {field}: Forbidden: {message}");
    e
}

impl ApiError {
    fn into_response_body(self) -> Response {
        axum::response::IntoResponse::into_response(self)
    }
}

/// The client went away; stop.
struct Gone;

async fn send(tx: &mpsc::Sender<Bytes>, line: Vec<u8>) -> Result<(), Gone> {
    tx.send(Bytes::from(line)).await.map_err(|_| Gone)
}

async fn stream(
    watcher: Watcher,
    start: Start,
    mut progress: u64,
    mut live: broadcast::Receiver<Arc<WatchEvent>>,
    tx: mpsc::Sender<Bytes>,
    timeout: Duration,
    bookmark_every: Option<Duration>,
) -> Result<(), Gone> {
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    match start {
        Start::Snapshot { objects, end_bookmark } => {
            for object in objects {
                send(&tx, watcher.encode(EventType::Added, &object)).await?;
            }
            if end_bookmark {
                send(&tx, watcher.bookmark(progress, true)).await?;
            }
        }
        Start::Backlog(events) => {
            for event in events {
                progress = event.rv;
                if let Some((kind, object)) = watcher.filter(&event) {
                    send(&tx, watcher.encode(kind, object)).await?;
                }
            }
        }
        Start::Expired(message) => {
            let status = ApiError::expired(message).status();
            send(&tx, event_line("ERROR", status.to_string().as_bytes())).await?;
            return Ok(());
        }
    }
    let mut ticker = tokio::time::interval(bookmark_every.unwrap_or(Duration::from_secs(3600)));
    ticker.tick().await;
    loop {
        tokio::select! {
            () = &mut deadline => return Ok(()),
            _ = ticker.tick(), if bookmark_every.is_some() => {
                send(&tx, watcher.bookmark(progress, false)).await?;
            }
            event = live.recv() => match event {
                Ok(event) if event.rv <= progress => {}
                Ok(event) => {
                    progress = event.rv;
                    if let Some((kind, object)) = watcher.filter(&event) {
                        send(&tx, watcher.encode(kind, object)).await?;
                    }
                }
                // Fell behind the live buffer, or the server is stopping: the client re-watches from the last
                // resource version it saw (or relists, if that is gone from the history).
                Err(_) => return Ok(()),
            },
        }
    }
}

impl Watcher {
    /// How an event looks to this watcher: an object that starts or stops matching its selectors is reported as
    /// ADDED or DELETED, as Kubernetes does.
    fn filter<'e>(&self, event: &'e WatchEvent) -> Option<(EventType, &'e StoredObject)> {
        if !event.key.as_str().starts_with(&self.prefix) {
            return None;
        }
        let selects =
            |o: &StoredObject| matches(o, self.options.labels.as_ref(), self.options.fields.as_ref());
        let now = selects(&event.object);
        let before = event.previous.as_deref().is_some_and(selects);
        let kind = match (event.kind, before, now) {
            (EventType::Added, _, true) | (EventType::Modified, false, true) => EventType::Added,
            (EventType::Modified, true, true) => EventType::Modified,
            (EventType::Modified, true, false) | (EventType::Deleted, _, true) => EventType::Deleted,
            _ => return None,
        };
        Some((kind, &event.object))
    }

    fn encode(&self, kind: EventType, object: &StoredObject) -> Vec<u8> {
        match self.format {
            // Refused before the watch starts.
            Format::Json | Format::Protobuf => event_line(kind.as_str(), &object.json),
            Format::Table(include) => {
                let table = table_of(self.rt, &[object.value()], include, object.rv, None);
                event_line(kind.as_str(), table.to_string().as_bytes())
            }
            Format::Metadata => event_line(kind.as_str(), &partial_metadata_json(object)),
        }
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Vec<u8> {
        let (kind, api_version) = match self.format {
            Format::Metadata => ("PartialObjectMetadata", "meta.k8s.io/v1".to_owned()),
            _ => (self.rt.kind, self.rt.api_version()),
        };
        let mut object = json!({"kind": kind, "apiVersion": api_version,
                                "metadata": {"resourceVersion": rv.to_string()}});
        if initial_end {
            object["metadata"]["annotations"] = json!({INITIAL_EVENTS_END: "true"});
        }
        event_line("BOOKMARK", Value::to_string(&object).as_bytes())
    }
}

fn event_line(kind: &str, object: &[u8]) -> Vec<u8> {
    let mut line = Vec::with_capacity(object.len() + 32);
    line.extend_from_slice(b"{\"type\":\"");
    line.extend_from_slice(kind.as_bytes());
    line.extend_from_slice(b"\",\"object\":");
    line.extend_from_slice(object);
    line.extend_from_slice(b"}\n");
    line
}
