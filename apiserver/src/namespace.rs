//! The namespace finalizer: empties a terminating namespace, then lets it go.
//!
//! Deleting a namespace only marks it `Terminating` (so that `kubectl delete -f` of a manifest that holds the
//! namespace and its contents sees every later document still there, as with Kubernetes). This task deletes
//! the contents asynchronously and removes the namespace once nothing is left.

use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::registry::{ListOptions, Registry, kinds, object};

/// How often terminating namespaces are checked even when nothing wakes the task.
const RESCAN: Duration = Duration::from_millis(500);

/// How long a namespace stays Terminating before its contents are deleted. A client deleting a manifest that
/// holds the namespace and its contents (`kubectl delete -f`) sends the namespace first and the contents right
/// after; Kubernetes' namespace controller is slow enough that those deletes find their objects, and kubectl
/// reports NotFound errors otherwise.
const CONTENT_DELETION_DELAY: jiff::SignedDuration = jiff::SignedDuration::from_secs(2);

/// Runs until `stop` is cancelled.
pub async fn run_finalizer(registry: Registry, stop: CancellationToken) {
    let Some(namespaces) = kinds::by_plural("", "v1", "namespaces") else { return };
    let mut events = registry.store().read(|s| s.history.subscribe());
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = events.recv() => {}
            () = tokio::time::sleep(RESCAN) => {}
        }
        let Ok(page) = registry.list(namespaces, None, &ListOptions::default()) else { continue };
        for ns in page.items {
            let ns: Value = ns.value();
            let since = ns
                .pointer("/metadata/deletionTimestamp")
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<jiff::Timestamp>().ok());
            let Some(since) = since else { continue };
            if jiff::Timestamp::now().duration_since(since) < CONTENT_DELETION_DELAY {
                continue;
            }
            if let Err(e) = registry.finish_namespace(object::name(&ns)).await {
                tracing::warn!(namespace = object::name(&ns), error = %e, "cannot finish deleting namespace yet");
            }
        }
    }
}
