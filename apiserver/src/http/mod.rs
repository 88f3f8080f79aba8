//! The HTTP edge: routes, content negotiation and response encoding. Handlers parse the request, call the
//! [`Registry`], and encode what it returns; they hold no Kubernetes semantics of their own.

pub mod agent;
pub mod audit;
pub mod discovery;
mod logs;
mod metrics;
pub mod openapi;
mod output;
pub mod path;
pub mod query;
mod resource;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use crate::auth::UserInfo;
use crate::auth::pipeline::{Caller, Security};
use crate::error::{ApiError, Result};
use crate::registry::Registry;
use path::Route;

/// The largest request body accepted, as in Kubernetes.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Tunables of the HTTP layer.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// How often a watch that allows bookmarks gets one.
    pub bookmark_interval: Duration,
    /// How long a watch lasts when the client sets no `timeoutSeconds`.
    pub default_watch_timeout: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self { bookmark_interval: Duration::from_secs(60), default_watch_timeout: Duration::from_secs(1800) }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The API's view of the store.
    pub registry: Registry,
    /// Tunables.
    pub options: Arc<HttpOptions>,
    /// Authentication, authorisation and the ServiceAccount token issuer.
    pub security: Arc<Security>,
    /// The client for node agents (logs, usage).
    pub agents: agent::Agents,
}

/// The whole API as an axum router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/version", get(|| async { json_response(200, &discovery::version()) }))
        .route("/healthz", get(health))
        .route("/livez", get(health))
        .route("/readyz", get(health))
        .route("/openapi/v3", get(|| async { json_response(200, &openapi::index()) }))
        .route("/.well-known/openid-configuration", get(openid_configuration))
        .route("/openid/v1/jwks", get(jwks))
        .route("/openapi/v3/{*path}", get(openapi))
        .route("/api", axum::routing::any(api))
        .route("/api/{*rest}", axum::routing::any(api))
        .route("/apis", axum::routing::any(api))
        .route("/apis/{*rest}", axum::routing::any(api))
        .fallback(|req: Request| async move { ApiError::no_route(req.uri().path()) })
        .with_state(state)
}

async fn openid_configuration(State(state): State<AppState>) -> Response {
    json_response(200, &state.security.tokens.openid_configuration())
}

async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = json_response(200, &state.security.tokens.jwks());
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/jwk-set+json"));
    response
}

async fn health() -> &'static str {
    "ok"
}

async fn openapi(axum::extract::Path(path): axum::extract::Path<String>) -> Response {
    let document = match path.split('/').collect::<Vec<_>>().as_slice() {
        ["api", version] => openapi::document("", version),
        ["apis", group, version] => openapi::document(group, version),
        _ => None,
    };
    match document {
        Some(doc) => json_response(200, doc),
        None => ApiError::no_route(&format!("/openapi/v3/{path}")).into_response(),
    }
}

async fn api(State(state): State<AppState>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = query::Query::parse(request.uri().query());
    let headers = request.headers().clone();
    // The pipeline authenticated the caller; a router used without it (unit tests) acts for nobody.
    let user = request
        .extensions()
        .get::<Caller>()
        .and_then(|c| c.user.clone())
        .unwrap_or_else(|| Arc::new(UserInfo::anonymous()));
    let metrics_prefix = format!("/apis/{}/{}/", metrics::GROUP, metrics::VERSION);
    if let Some(rest) = path.strip_prefix(&metrics_prefix) {
        let rest: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        return match method {
            Method::GET => match metrics::serve(&state.registry, &state.agents, &rest, &query).await {
                Ok(body) => json_response(200, &body),
                Err(e) => e.into_response(),
            },
            _ => ApiError::method_not_allowed(&format!("{method} {path}")).into_response(),
        };
    }
    let result = match path::parse(&path) {
        Ok(Route::Resource(target)) => {
            resource::handle(&state, &user, method, target, &query, &headers, request.into_body()).await
        }
        Ok(route) if method == Method::GET => Ok(discovery_response(route, &headers, &path)),
        Ok(_) => Err(ApiError::method_not_allowed(&format!("{method} {path}"))),
        Err(e) => Err(e),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

fn discovery_response(route: Route, headers: &HeaderMap, path: &str) -> Response {
    let accept = header_str(headers, header::ACCEPT);
    let aggregated = discovery::wants_aggregated(accept);
    let body = match route {
        Route::CoreVersions if aggregated => return aggregated_response(&discovery::aggregated(true)),
        Route::Groups if aggregated => return aggregated_response(&discovery::aggregated(false)),
        Route::CoreVersions => Some(discovery::core_versions()),
        Route::Groups => Some(discovery::groups()),
        Route::Group(group) => discovery::group(&group),
        Route::Resources { group, version } => discovery::resources(&group, &version),
        Route::Resource(_) => None,
    };
    match body {
        Some(body) => json_response(200, &body),
        None => ApiError::no_route(path).into_response(),
    }
}

fn aggregated_response(body: &Value) -> Response {
    ([(header::CONTENT_TYPE, discovery::AGGREGATED_CONTENT_TYPE)], body.to_string()).into_response()
}

/// A JSON body with a status code.
pub fn json_response(code: u16, body: &Value) -> Response {
    bytes_response(code, body.to_string().into_bytes())
}

/// Raw JSON bytes with a status code.
pub fn bytes_response(code: u16, body: impl Into<Body>) -> Response {
    let code = axum::http::StatusCode::from_u16(code).unwrap_or(axum::http::StatusCode::OK);
    (code, [(header::CONTENT_TYPE, "application/json")], body.into()).into_response()
}

/// A header's value as a string, empty when absent or not text.
pub fn header_str(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// Reads a request body, enforcing the size limit.
async fn read_body(body: Body) -> Result<bytes::Bytes> {
    axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|e| {
        if std::error::Error::source(&e).is_some_and(|s| s.to_string().contains("length limit"))
            || e.to_string().contains("length limit")
        {
            ApiError::too_large(MAX_BODY_BYTES)
        } else {
            ApiError::bad_request(format!("cannot read the request body: {e}"))
        }
    })
}
