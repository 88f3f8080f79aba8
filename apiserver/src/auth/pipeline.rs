//! The security half of the request pipeline, as two middlewares around audit:
//!
//! 1. [`identify`] (outermost): parses the [`RequestInfo`] and authenticates, recording both as a [`Caller`]
//!    extension. It refuses nothing yet, so that audit records failed authentications too.
//! 2. audit ([`crate::http::audit`]) records the request with the caller's identity.
//! 3. [`admit`]: 401 for a failed authentication, then fair sharing (a user's concurrent requests are capped, and
//!    the excess waits in a short queue or gets 429 with `Retry-After`), then authorisation (403).
//!
//! Long-running requests (watches, followed logs) do not hold a concurrency slot; each user may hold a bounded
//! number of them instead.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::UserInfo;
use super::authn::{Authenticator, unauthorized};
use super::authz::Authorizer;
use super::impersonation::impersonate;
use super::request::RequestInfo;
use super::tokens::ServiceAccountTokens;
use crate::error::ApiError;
use crate::tls::PeerIdentity;

/// Everything the pipeline needs.
pub struct Security {
    /// Who is asking.
    pub authn: Authenticator,
    /// Whether they may.
    pub authz: Authorizer,
    /// The ServiceAccount token issuer.
    pub tokens: Arc<ServiceAccountTokens>,
    /// Per-user limits.
    pub fairness: Fairness,
}

/// Paths anyone may read, even with anonymous requests disabled: load balancers and probes check them.
const PUBLIC_PATHS: &[&str] = &["/healthz", "/livez", "/readyz", "/version"];

/// Who made a request and what it asks, for audit, authorisation and the handlers.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The user the request acts as; `None` when authentication failed.
    pub user: Option<Arc<UserInfo>>,
    /// The authenticated user, when it impersonates `user`.
    pub impersonator: Option<Arc<UserInfo>>,
    /// Why the request is refused before authorisation (an impersonation it may not make).
    pub refusal: Option<ApiError>,
    /// The request's attributes.
    pub info: Arc<RequestInfo>,
}

/// Middleware 1: authentication (see the module docs).
pub async fn identify(State(security): State<Arc<Security>>, mut request: Request, next: Next) -> Response {
    let info = RequestInfo::parse(request.method(), request.uri().path(), request.uri().query());
    let certificate = request.extensions().get::<PeerIdentity>();
    let user = match security.authn.authenticate(request.headers(), certificate) {
        Ok(user) => Some(user),
        Err(_) if PUBLIC_PATHS.contains(&info.path.as_str()) => Some(Arc::new(UserInfo::anonymous())),
        Err(_) => None,
    };
    let mut caller = Caller { user, impersonator: None, refusal: None, info: Arc::new(info) };
    if let Some(requester) = caller.user.clone() {
        match impersonate(&security.authz, &requester, request.headers()) {
            Ok(None) => {}
            Ok(Some(target)) => (caller.user, caller.impersonator) = (Some(target), Some(requester)),
            Err(refusal) => caller.refusal = Some(refusal),
        }
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// Middleware 3: 401, fair sharing, 403 (see the module docs).
pub async fn admit(State(security): State<Arc<Security>>, request: Request, next: Next) -> Response {
    let Some(caller) = request.extensions().get::<Caller>().cloned() else {
        return ApiError::internal("the request was not authenticated").into_response();
    };
    let Some(user) = caller.user else { return unauthorized().into_response() };
    if let Some(refusal) = caller.refusal {
        return refusal.into_response();
    }
    if !PUBLIC_PATHS.contains(&caller.info.path.as_str())
        && let Err(e) = security.authz.authorize(&user, &caller.info)
    {
        return e.into_response();
    }
    let long_running = caller.info.verb == "watch"
        || (caller.info.subresource == "log"
            && request.uri().query().is_some_and(|q| q.contains("follow=true")));
    if long_running {
        let slot = match security.fairness.watch(&user.name) {
            Ok(slot) => slot,
            Err(e) => return too_many(e),
        };
        // The slot is held for as long as the stream is open, not just until its headers are sent.
        let (parts, body) = next.run(request).await.into_parts();
        let stream = body.into_data_stream().map(move |chunk| {
            let _held = &slot;
            chunk
        });
        return Response::from_parts(parts, Body::from_stream(stream));
    }
    match security.fairness.admit(&user.name).await {
        Ok(slot) => {
            let response = next.run(request).await;
            drop(slot);
            response
        }
        Err(e) => too_many(e),
    }
}

fn too_many(error: ApiError) -> Response {
    let mut response = error.into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// Per-user limits on what one client may hold of the server.
#[derive(Clone, Copy, Debug)]
pub struct FairnessOptions {
    /// Requests of one user served at once.
    pub max_in_flight_per_user: usize,
    /// Requests of one user waiting for a slot; past this, 429.
    pub max_queued_per_user: usize,
    /// How long a queued request waits before it gets 429.
    pub queue_timeout: Duration,
    /// Watches (and followed logs) one user may have open.
    pub max_watches_per_user: usize,
}

impl Default for FairnessOptions {
    fn default() -> Self {
        Self {
            max_in_flight_per_user: 64,
            max_queued_per_user: 256,
            queue_timeout: Duration::from_secs(5),
            max_watches_per_user: 1000,
        }
    }
}

/// The per-user state of fair sharing.
pub struct Fairness {
    options: FairnessOptions,
    users: Mutex<HashMap<String, Arc<UserShare>>>,
}

struct UserShare {
    in_flight: Arc<Semaphore>,
    queued: AtomicUsize,
    watches: Arc<Semaphore>,
}

/// A held share: released when the response is done.
pub struct Slot {
    _permit: OwnedSemaphorePermit,
}

impl Fairness {
    /// Fair sharing with `options`.
    pub fn new(options: FairnessOptions) -> Self {
        Self { options, users: Mutex::new(HashMap::new()) }
    }

    fn share(&self, user: &str) -> Arc<UserShare> {
        let mut users = self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        users
            .entry(user.to_owned())
            .or_insert_with(|| {
                Arc::new(UserShare {
                    in_flight: Arc::new(Semaphore::new(self.options.max_in_flight_per_user.max(1))),
                    queued: AtomicUsize::new(0),
                    watches: Arc::new(Semaphore::new(self.options.max_watches_per_user.max(1))),
                })
            })
            .clone()
    }

    /// A slot for one short request of `user`, after waiting in its queue if need be.
    pub async fn admit(&self, user: &str) -> Result<Slot, ApiError> {
        let share = self.share(user);
        if let Ok(permit) = share.in_flight.clone().try_acquire_owned() {
            return Ok(Slot { _permit: permit });
        }
        if share.queued.fetch_add(1, Ordering::AcqRel) >= self.options.max_queued_per_user {
            share.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(overloaded());
        }
        let waited =
            tokio::time::timeout(self.options.queue_timeout, share.in_flight.clone().acquire_owned()).await;
        share.queued.fetch_sub(1, Ordering::AcqRel);
        match waited {
            Ok(Ok(permit)) => Ok(Slot { _permit: permit }),
            _ => Err(overloaded()),
        }
    }

    /// A slot for one watch of `user`, or 429 when it has too many open.
    pub fn watch(&self, user: &str) -> Result<Slot, ApiError> {
        let share = self.share(user);
        share
            .watches
            .clone()
            .try_acquire_owned()
            .map(|permit| Slot { _permit: permit })
            .map_err(|_| overloaded())
    }
}

fn overloaded() -> ApiError {
    ApiError {
        code: 429,
        reason: "TooManyRequests",
        message: "Too many requests, please try again later.".into(),
        details: Some(serde_json::json!({"retryAfterSeconds": 1})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fairness(in_flight: usize, queued: usize, queue_timeout: Duration) -> Fairness {
        Fairness::new(FairnessOptions {
            max_in_flight_per_user: in_flight,
            max_queued_per_user: queued,
            queue_timeout,
            max_watches_per_user: 1,
        })
    }

    #[tokio::test]
    async fn a_user_past_its_share_waits_then_gets_429_and_others_are_untouched() {
        let fair = fairness(1, 1, Duration::from_secs(30));
        let held = fair.admit("flood").await.unwrap();
        // The second waits in the queue; the third finds the queue full.
        let fair = Arc::new(fair);
        let waiting = tokio::spawn({
            let fair = fair.clone();
            async move { fair.admit("flood").await.map(drop) }
        });
        tokio::task::yield_now().await;
        while fair.share("flood").queued.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        let refused = fair.admit("flood").await.err().map(|e| (e.code, e.reason));
        assert_eq!(refused, Some((429, "TooManyRequests")));
        assert!(fair.admit("calm").await.is_ok(), "another user has its own share");
        drop(held);
        assert!(waiting.await.unwrap().is_ok(), "the queued request is served once a slot frees");
    }

    #[tokio::test]
    async fn a_queued_request_gives_up_after_the_queue_timeout() {
        let fair = fairness(1, 4, Duration::from_millis(50));
        let _held = fair.admit("flood").await.unwrap();
        let waited = fair.admit("flood").await.err().map(|e| e.code);
        assert_eq!(waited, Some(429));
    }

    #[test]
    fn watches_are_counted_apart() {
        let fair = fairness(1, 0, Duration::from_secs(1));
        let open = fair.watch("flood").unwrap();
        assert!(fair.watch("flood").is_err());
        drop(open);
        assert!(fair.watch("flood").is_ok());
    }
}
