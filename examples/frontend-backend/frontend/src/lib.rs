//! The frontend of the frontend/backend example: `GET /` asks the backend Service, by name, for a quote and
//! renders it as text. When the backend cannot be reached (no ready endpoint, or a NetworkPolicy that refuses
//! this pod) it answers 502 with the reason.

use guest_sdk::http::{self, Request, Response, Result, Router};
use guest_sdk::{config, log};

/// What the backend answers.
#[derive(serde::Deserialize)]
struct Quote {
    quote: String,
    served_by: String,
}

fn app() -> Router {
    Router::new().get("/", index).get("/healthz", |_| Ok(Response::text(200, "ok\n")))
}

fn index(_: &Request) -> Result<Response> {
    // The Service's name: the node resolves it in the pod's namespace and sends the request to a ready backend.
    let backend = config::var_or("BACKEND_URL", "http://backend")?;
    let reply = http::get(&format!("{backend}/api/quote"))?;
    if reply.status() != 200 {
        log::warn!("the backend failed", status = reply.status());
        return Err(http::Error::new(502, format!("the backend answered {}", reply.status())));
    }
    let quote: Quote = reply.parse_json()?;
    let me = config::var_or("HOSTNAME", "unknown")?;
    Ok(Response::text(200, format!("\"{}\"\n  (backend {}, frontend {me})\n", quote.quote, quote.served_by)))
}

guest_sdk::serve!(app);
