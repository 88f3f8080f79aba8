//! Hello, HTTP: a `wasi:http` component behind a Deployment and a Service. Every request gets a fresh instance;
//! the answer names the pod that served it, so requests through the Service show the replicas taking turns.
//!
//! - `GET /` answers `GREETING from POD` as text.
//! - `GET /hello/:name` answers `{"greeting": "GREETING, NAME", "pod": POD}` as JSON.
//! - `GET /healthz` answers `ok`, for the readiness probe.

use guest_sdk::http::{Request, Response, Result, Router};
use guest_sdk::{config, log};

fn app() -> Router {
    Router::new()
        .get("/", index)
        .get("/hello/:name", hello)
        .get("/healthz", |_| Ok(Response::text(200, "ok\n")))
}

fn index(_: &Request) -> Result<Response> {
    Ok(Response::text(200, format!("{} from {}\n", greeting()?, pod()?)))
}

fn hello(request: &Request) -> Result<Response> {
    let name = request.param("name").unwrap_or("world");
    log::info!("greeted", name = name);
    let body = serde_json::json!({ "greeting": format!("{}, {name}", greeting()?), "pod": pod()? });
    Ok(Response::json(200, &body))
}

/// `GREETING` from the Deployment's `env`.
fn greeting() -> Result<String> {
    Ok(config::var_or("GREETING", "hello")?)
}

/// The pod's name: the node sets `HOSTNAME` to it, as a container runtime does.
fn pod() -> Result<String> {
    Ok(config::var_or("HOSTNAME", "unknown")?)
}

guest_sdk::serve!(app);

#[cfg(test)]
mod tests {
    use guest_sdk::http::{Method, Request};

    #[test]
    fn greets_by_name_in_json() {
        let response = super::app().handle(Request::new(Method::Get, "/hello/wasm"));
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["greeting"], "hello, wasm");
    }
}
