//! The Rust SDK for Wharf's guests: wasm programs that run as pods.
//!
//! A guest is an ordinary WASI program, and this crate uses only standard WASI imports, so everything built with
//! it also runs under plain `wasmtime run` (commands) and `wasmtime serve` (HTTP components). It gives:
//!
//! - [`http`] (wasm32-wasip2): `wasi:http/incoming-handler` components with a [`Router`](http::Router), JSON
//!   bodies, and outgoing requests to Services by name (`http://backend/api`), which the node routes to a
//!   ready endpoint and checks against the pod's NetworkPolicies.
//! - [`config`] (both targets): settings from environment variables (`env`, `envFrom` of ConfigMaps and Secrets)
//!   and from files of mounted volumes (`configMap`, `secret`), with errors that name the setting but never
//!   print its value, and a [`Secret`](config::Secret) type that cannot be logged by accident.
//! - [`log`] (both targets): structured logs, one JSON object per line on stderr, which `kubectl logs` shows.
//! - [`shutdown`] (both targets): the termination notice. A wasm guest cannot receive SIGTERM; Wharf closes its
//!   stdin instead when its pod is deleted, and [`shutdown::sleep`] and [`shutdown::requested`] let a job or a
//!   worker notice that between units of work and exit cleanly within the grace period.
//!
//! # Which target
//!
//! Build HTTP services for `wasm32-wasip2` as a `cdylib` crate and export them with [`serve!`]. Build jobs,
//! workers and daemons for `wasm32-wasip1` (or `wasm32-wasip2`) as ordinary binaries with a `main`. The crate
//! also builds for the host, where its HTTP types, routing, configuration and logs can be tested; the `wasi:http`
//! calls themselves panic there.
//!
//! # An HTTP service
//!
//! ```no_run
//! use guest_sdk::http::{Request, Response, Result, Router};
//!
//! fn app() -> Router {
//!     Router::new().get("/", index).get("/hello/:name", hello)
//! }
//!
//! fn index(_: &Request) -> Result<Response> {
//!     Ok(Response::text(200, "hello from wasm\n"))
//! }
//!
//! fn hello(request: &Request) -> Result<Response> {
//!     let name = request.param("name").unwrap_or("world");
//!     Ok(Response::json(200, &serde_json::json!({ "greeting": format!("hello, {name}") })))
//! }
//!
//! guest_sdk::serve!(app);
//! ```
//!
//! # A worker
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use guest_sdk::{config, log, shutdown};
//!
//! fn main() -> Result<(), config::Error> {
//!     let queue = config::var("QUEUE")?;
//!     let every = Duration::from_millis(config::parse_or("INTERVAL_MS", 1000)?);
//!     let mut batches = 0u64;
//!     while !shutdown::requested() {
//!         batches += 1;
//!         log::info!("processed a batch", queue = queue, batch = batches);
//!         shutdown::sleep(every);
//!     }
//!     log::info!("stopping on the termination notice", batches = batches);
//!     Ok(())
//! }
//! ```

pub mod config;
#[cfg(not(all(target_os = "wasi", target_env = "p1")))]
pub mod http;
pub mod log;
pub mod shutdown;

/// What the [`serve!`] macro expands to; not part of the API.
#[doc(hidden)]
#[cfg(not(all(target_os = "wasi", target_env = "p1")))]
pub mod __private {
    pub use wasip2;
}
