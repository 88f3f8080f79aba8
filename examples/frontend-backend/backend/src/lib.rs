//! The backend of the frontend/backend example: `GET /api/quote` answers a quote as JSON, with the pod that
//! served it. Only the frontend may call it: the example's NetworkPolicy admits no one else.

use guest_sdk::config;
use guest_sdk::http::{Request, Response, Result, Router};

const QUOTES: [&str; 4] = [
    "Simplicity is prerequisite for reliability.",
    "Make it work, make it right, make it fast.",
    "The cheapest, fastest and most reliable components are those that are not there.",
    "Programs must be written for people to read.",
];

fn app() -> Router {
    Router::new().get("/api/quote", quote).get("/healthz", |_| Ok(Response::text(200, "ok\n")))
}

fn quote(_: &Request) -> Result<Response> {
    // Every request is a fresh instance, so the clock picks the quote rather than a counter.
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let quote = QUOTES[nanos as usize / 1000 % QUOTES.len()];
    Ok(Response::json(
        200,
        &serde_json::json!({ "quote": quote, "served_by": config::var_or("HOSTNAME", "unknown")? }),
    ))
}

guest_sdk::serve!(app);
