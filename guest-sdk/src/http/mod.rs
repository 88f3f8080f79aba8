//! HTTP services as `wasi:http/incoming-handler` components (wasm32-wasip2), and requests to other services.
//!
//! Wharf serves a component that exports `wasi:http/incoming-handler` on its pod's address, as `wasmtime serve`
//! does, with a fresh instance for every request. So a handler keeps nothing between requests in memory:
//! state lives in a volume's files or in another service. Build the [`Router`] in a function and export it with
//! [`serve!`](crate::serve); the router is made again for each request, which costs next to nothing.
//!
//! ```no_run
//! use guest_sdk::http::{self, Request, Response, Result, Router};
//!
//! #[derive(serde::Deserialize, serde::Serialize)]
//! struct Order { item: String, quantity: u32 }
//!
//! fn app() -> Router {
//!     Router::new()
//!         .post("/orders", |request: &Request| {
//!             let order: Order = request.json()?; // a malformed body is answered 400
//!             // Services by name: the node sends this to a ready endpoint of `stock` in this namespace.
//!             let stock = http::get(&format!("http://stock/items/{}", order.item))?; // 502 if unreachable
//!             if stock.status() == 404 {
//!                 return Err(http::Error::new(409, format!("{} is out of stock", order.item)));
//!             }
//!             Ok(Response::json(201, &order))
//!         })
//!         .get("/orders/:id", |request: &Request| {
//!             let id = request.param("id").unwrap_or_default();
//!             Ok(Response::text(200, format!("order {id}\n")))
//!         })
//! }
//!
//! guest_sdk::serve!(app);
//! ```
//!
//! Outgoing requests go through the node, which resolves Service names (`web`, `web.shop`,
//! `web.shop.svc.cluster.local`) and cluster IPs, applies the pod's NetworkPolicies and, outside the cluster,
//! its `wharf.dev/allowed-hosts` annotation. A refused request fails with the host's error code
//! (`ConnectionRefused` inside the cluster, `DestinationIpProhibited` or `HttpRequestDenied` outside).

mod client;
mod error;
mod message;
mod router;
#[doc(hidden)]
pub mod server;
mod url;

pub use client::{ClientError, OutgoingRequest, get};
pub use error::{Error, Result};
pub use message::{Method, Request, Response};
pub use router::Router;

/// Exports a function returning a [`Router`](crate::http::Router) as the component's
/// `wasi:http/incoming-handler`: `guest_sdk::serve!(app);` at the top level of a `cdylib` crate built for
/// wasm32-wasip2.
#[macro_export]
macro_rules! serve {
    ($app:path) => {
        struct __GuestSdkIncomingHandler;

        impl $crate::__private::wasip2::exports::http::incoming_handler::Guest for __GuestSdkIncomingHandler {
            fn handle(
                request: $crate::__private::wasip2::http::types::IncomingRequest,
                response_out: $crate::__private::wasip2::http::types::ResponseOutparam,
            ) {
                $crate::http::server::handle(&$app(), request, response_out);
            }
        }

        $crate::__private::wasip2::http::proxy::export!(__GuestSdkIncomingHandler);
    };
}
