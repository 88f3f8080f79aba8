//! The loop every reconciling controller runs: a kube-runtime [`Controller`] whose reconciles each run in a
//! span naming the controller and the object, whose failures are logged once at `warn` with the object's key,
//! and whose failed objects are retried with exponential backoff per object (client-go's
//! `ItemExponentialFailureRateLimiter`), reset by the object's next successful reconcile.

use std::collections::HashMap;
use std::fmt::{self, Debug, Display};
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use kube::runtime::controller::{self, Action, Controller};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::error::{self, Error, Result};

/// The delay before retrying an object after its first failure; it doubles with every further failure.
const FIRST_RETRY: Duration = Duration::from_millis(100);
/// The longest delay between retries of an object that keeps failing.
const LONGEST_RETRY: Duration = Duration::from_secs(300);

/// Runs `controller` until `stop`, calling `reconcile` for each object it is woken for. `name` (the
/// component's name, as in its Events: `replicaset-controller`) labels its spans and logs.
pub async fn run<K, Ctx, F, Fut>(
    name: impl Into<Arc<str>>,
    controller: Controller<K>,
    stop: CancellationToken,
    reconcile: F,
    context: Arc<Ctx>,
) where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Clone + Debug + Eq + Hash + Unpin + Send + Sync,
    F: Fn(Arc<K>, Arc<Ctx>) -> Fut,
    Fut: Future<Output = Result<Action>> + Send + 'static,
    Ctx: Send + Sync + 'static,
{
    let harness = Arc::new(Harness { name: name.into(), failures: Failures::default(), context });
    controller
        .graceful_shutdown_on(async move { stop.cancelled().await })
        .run(
            |object: Arc<K>, harness: Arc<Harness<Ctx>>| {
                let key = Key::of(&*object);
                let span = tracing::info_span!("reconcile", controller = %harness.name, object = %key);
                let reconciled = reconcile(object, harness.context.clone());
                async move {
                    let result = reconciled.await;
                    if result.is_ok() {
                        harness.failures.forget(&key);
                    }
                    result
                }
                .instrument(span)
            },
            |object: Arc<K>, error: &Error, harness: Arc<Harness<Ctx>>| {
                harness.failed(&Key::of(&*object), error)
            },
            harness.clone(),
        )
        .for_each(|result| {
            let harness = harness.clone();
            async move {
                match result {
                    Ok(_) | Err(controller::Error::ReconcilerFailed(..)) => {}
                    // The object went away before its turn: nothing to retry, nothing to remember.
                    Err(controller::Error::ObjectNotFound(object)) => {
                        harness.failures.forget(&Key { namespace: object.namespace, name: object.name });
                    }
                    Err(error) => tracing::debug!(controller = %harness.name, %error, "controller queue"),
                }
            }
        })
        .await;
}

/// What the reconciles of one controller share besides their own context.
struct Harness<Ctx> {
    name: Arc<str>,
    failures: Failures,
    context: Arc<Ctx>,
}

impl<Ctx> Harness<Ctx> {
    /// Logs a failed reconcile once and says when to try the object again.
    fn failed(&self, key: &Key, error: &Error) -> Action {
        let attempts = self.failures.record(key);
        let retry = retry_delay(attempts);
        let cause = error::chain(error);
        if error.is_conflict() {
            // A write lost an optimistic-concurrency race: expected, and the retry decides from fresh state.
            tracing::debug!(controller = %self.name, object = %key, error = %cause, ?retry, "reconcile conflict");
        } else {
            tracing::warn!(controller = %self.name, object = %key, error = %cause, attempts, ?retry, "reconcile failed");
        }
        Action::requeue(retry)
    }
}

/// How long to wait before the next reconcile of an object that failed `attempts` times in a row.
fn retry_delay(attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1));
    FIRST_RETRY.saturating_mul(factor).min(LONGEST_RETRY)
}

/// An object's namespace and name, as logs show it (`namespace/name`, or `name` for cluster-scoped kinds).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    namespace: Option<String>,
    name: String,
}

impl Key {
    fn of<K: Resource>(object: &K) -> Self {
        Self { namespace: object.namespace(), name: object.name_any() }
    }
}

impl Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(namespace) => write!(f, "{namespace}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Consecutive failures per object, so each object backs off on its own.
#[derive(Default)]
struct Failures(Mutex<HashMap<Key, u32>>);

impl Failures {
    /// Counts one more failure of `key`; returns how many in a row.
    fn record(&self, key: &Key) -> u32 {
        let mut failures = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let count = failures.entry(key.clone()).or_default();
        *count = count.saturating_add(1);
        *count
    }

    /// Forgets `key`'s failures: it reconciled, or it is gone.
    fn forget(&self, key: &Key) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_a_ceiling() {
        let cases = [
            (1, Duration::from_millis(100)),
            (2, Duration::from_millis(200)),
            (3, Duration::from_millis(400)),
            (8, Duration::from_millis(12_800)),
            (12, Duration::from_secs(204) + Duration::from_millis(800)),
            (13, LONGEST_RETRY),
            (u32::MAX, LONGEST_RETRY),
        ];
        for (attempts, delay) in cases {
            assert_eq!(retry_delay(attempts), delay, "after {attempts} failures");
        }
    }

    #[test]
    fn each_object_backs_off_on_its_own_until_it_succeeds() {
        let failures = Failures::default();
        let a = Key { namespace: Some("demo".into()), name: "a".into() };
        let b = Key { namespace: Some("demo".into()), name: "b".into() };
        assert_eq!((failures.record(&a), failures.record(&a), failures.record(&a)), (1, 2, 3));
        assert_eq!(failures.record(&b), 1, "another object starts from the first delay");
        failures.forget(&a);
        assert_eq!(failures.record(&a), 1, "a success resets the object's backoff");
    }

    #[test]
    fn keys_read_as_kubectl_names_objects() {
        assert_eq!(Key { namespace: Some("demo".into()), name: "web".into() }.to_string(), "demo/web");
        assert_eq!(Key { namespace: None, name: "node-1".into() }.to_string(), "node-1");
    }

    #[test]
    fn a_failure_is_logged_with_its_causes() {
        let api = kube::Error::Api(
            kube::core::Status::failure("replicasets \"web\" not found", "NotFound").with_code(404).boxed(),
        );
        let line = error::chain(&Error::Api(api)).to_string();
        assert!(line.starts_with("api request failed: "), "{line}");
        assert!(line.contains("replicasets \"web\" not found"), "{line}");
    }
}
