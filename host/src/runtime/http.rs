//! HTTP workloads: a component exporting `wasi:http/incoming-handler` is served on its pod's address, as
//! `wasmtime serve` serves it: every request gets a fresh instance from the program's shared `ProxyPre`, with
//! the container's memory limit and the pod's time slicing, and its CPU quota shared by all instances.
//!
//! At most `concurrency` requests run at once; up to `queue` more wait for a turn and any beyond get 503 at once.
//! A request not answered within `timeout` gets 504 and its instance is dropped; a trap gives that request a 500
//! (and is logged to the container's stderr); hyper refuses malformed HTTP before a guest sees anything. The
//! termination notice closes the listener a second later (while Service proxies learn the pod is terminating) and
//! lets the requests in flight finish: the container then exits 0, or is killed when the grace period ends.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::exec::{Control, Exit, ExitReason, install_slicing, killed_exit, metered};
use super::network::PodNetwork;
use super::outgoing::Outgoing;
use super::sockets::{GuestNetwork, Networked};
use crate::limits::{CpuPacer, MemoryLimiter};
use crate::logs::LogSink;
use crate::stats::Usage;
use crate::stats::metrics::PodMetrics;

/// How long a terminating server still accepts connections, while Service proxies learn it is terminating.
const DEREGISTRATION_DELAY: Duration = Duration::from_secs(1);

/// Store data of one request's instance.
pub struct HttpState {
    ctx: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    hooks: Outgoing,
    limiter: MemoryLimiter,
    network: Option<GuestNetwork>,
}

impl Networked for HttpState {
    fn network(&mut self) -> Option<&mut GuestNetwork> {
        self.network.as_mut()
    }
}

impl WasiView for HttpState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.ctx, table: &mut self.table }
    }
}

impl WasiHttpView for HttpState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

/// How many requests an HTTP workload takes, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Requests handled at once (`wharf.dev/http-concurrency`).
    pub concurrency: usize,
    /// Requests waiting for a turn before more get 503 (`wharf.dev/http-queue`).
    pub queue: usize,
    /// How long a request's handler may run before the request gets 504 (`wharf.dev/http-timeout-seconds`).
    pub timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self { concurrency: 64, queue: 256, timeout: Duration::from_secs(30) }
    }
}

/// Makes one request's WASI context (argv, env, volumes, stdio): called once per request.
pub type ContextFactory = Arc<dyn Fn() -> Result<WasiCtxBuilder, String> + Send + Sync>;

/// Where and how a container serves HTTP.
#[derive(Clone)]
pub struct HttpServe {
    /// The pod's address and the container's port.
    pub addr: SocketAddr,
    /// Each request's WASI context.
    pub contexts: ContextFactory,
    /// Its limits.
    pub limits: HttpLimits,
    /// The container's stderr, where failed requests are reported.
    pub errors: LogSink,
    /// Its pod's request metrics.
    pub metrics: PodMetrics,
}

/// What each instance of one container gets.
pub(super) struct Instances {
    pub engine: Engine,
    /// Cap on each instance's memories and tables.
    pub memory_limit: Option<u64>,
    /// The container's CPU quota, shared by all its instances.
    pub cpu: Option<Arc<CpuPacer>>,
    /// Where CPU time and memory are counted.
    pub usage: Arc<Usage>,
    /// What outgoing requests, connections and lookups may reach.
    pub network: Option<Arc<PodNetwork>>,
    /// The node's HTTP instance slots, one taken per instance.
    pub slots: Arc<Semaphore>,
}

/// What every request of one container shares.
struct Server {
    pre: ProxyPre<HttpState>,
    serve: HttpServe,
    instances: Instances,
    /// Killing the container ends every instance at its next time slice.
    stop: CancellationToken,
    turns: Arc<Semaphore>,
    waiting: AtomicUsize,
}

/// Serves `pre` until the termination notice (then drains) or a kill.
pub(super) async fn serve(
    pre: ProxyPre<HttpState>,
    serve: HttpServe,
    instances: Instances,
    control: &Control,
) -> Exit {
    let addr = serve.addr;
    let listener = match TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => return Exit::error(ExitReason::Error, 1, format!("cannot listen on {addr}: {e}")),
    };
    // Serving is handling the notice: a server drains rather than ending at once.
    control.watch_notice();
    let turns = Arc::new(Semaphore::new(serve.limits.concurrency.max(1)));
    let server = Arc::new(Server {
        pre,
        serve,
        instances,
        stop: control.stop_token(),
        turns,
        waiting: AtomicUsize::new(0),
    });
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut connections = JoinSet::new();
    // After the notice, keep serving new connections for a moment: Service proxies learn that the pod is
    // terminating through its EndpointSlice, and until they do they still send it connections (Kubernetes users
    // add a preStop sleep for the same reason).
    let deregistered = tokio::time::sleep(Duration::MAX);
    tokio::pin!(deregistered);
    let mut noticed = false;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                connections.spawn(server.clone().connection(stream, &graceful));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = control.noticed(), if !noticed => {
                noticed = true;
                deregistered.as_mut().reset(tokio::time::Instant::now() + DEREGISTRATION_DELAY);
            }
            () = &mut deregistered => break,
            () = control.killed() => return killed_exit(),
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => Exit::code(0),
        () = control.killed() => killed_exit(),
    }
}

type Answer = Response<HyperOutgoingBody>;

impl Server {
    /// Serves one client connection (HTTP/1.1 with keep-alive) until it closes or the drain ends it.
    fn connection(
        self: Arc<Self>,
        stream: tokio::net::TcpStream,
        graceful: &hyper_util::server::graceful::GracefulShutdown,
    ) -> impl Future<Output = ()> + Send + 'static {
        let _ = stream.set_nodelay(true);
        let service = hyper::service::service_fn(move |request| self.clone().handle(request));
        let connection = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        async move {
            let _ = connection.await;
        }
    }

    async fn handle(self: Arc<Self>, request: Request<Incoming>) -> Result<Answer, Infallible> {
        let started = std::time::Instant::now();
        let answer = self.clone().respond(request).await;
        self.serve.metrics.request(answer.status().as_u16(), started.elapsed());
        Ok(answer)
    }

    async fn respond(self: Arc<Self>, request: Request<Incoming>) -> Answer {
        let Some(turn) = self.wait_for_turn().await else {
            return plain(StatusCode::SERVICE_UNAVAILABLE, "too many requests in flight; try again");
        };
        let timeout = self.serve.limits.timeout;
        let Ok(Ok(slot)) = tokio::time::timeout(timeout, self.instances.slots.clone().acquire_owned()).await
        else {
            return self.failed(
                StatusCode::SERVICE_UNAVAILABLE,
                "the node runs as many HTTP instances as it can hold; try again",
            );
        };
        let wasi = match (self.serve.contexts)() {
            Ok(wasi) => wasi,
            Err(e) => {
                return self
                    .failed(StatusCode::INTERNAL_SERVER_ERROR, &format!("cannot prepare the request: {e}"));
            }
        };
        let mut wasi = wasi;
        let state = HttpState {
            ctx: wasi.build(),
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            hooks: Outgoing { network: self.instances.network.clone() },
            limiter: MemoryLimiter::new(self.instances.memory_limit, self.instances.usage.clone()),
            network: self.instances.network.clone().map(GuestNetwork::new),
        };
        let mut store = Store::new(&self.instances.engine, state);
        store.limiter(|s| &mut s.limiter);
        install_slicing(&mut store, &self.stop, self.instances.cpu.clone());
        let (answer, answered) = tokio::sync::oneshot::channel();
        let prepared =
            store.data_mut().http().new_incoming_request(Scheme::Http, request).and_then(|request| {
                let out = store.data_mut().http().new_response_outparam(answer)?;
                Ok((request, out))
            });
        let (request, out) = match prepared {
            Ok(prepared) => prepared,
            Err(e) => return plain(StatusCode::BAD_REQUEST, &format!("{e:#}")),
        };
        let this = self.clone();
        // The instance keeps running after the response head is sent, to stream the body.
        let task = tokio::spawn(async move {
            let _turn = (turn, slot);
            let handled = async {
                this.serve.metrics.instance_started();
                let proxy = this.pre.instantiate_async(&mut store).await?;
                proxy.wasi_http_incoming_handler().call_handle(&mut store, request, out).await
            };
            match tokio::time::timeout(timeout, metered(handled, &this.instances.usage)).await {
                Ok(result) => result.map_err(Failure::Guest),
                Err(_) => Err(Failure::TimedOut),
            }
        });
        match answered.await {
            Ok(Ok(response)) => response,
            Ok(Err(code)) => {
                self.failed(StatusCode::INTERNAL_SERVER_ERROR, &format!("the handler failed: {code:?}"))
            }
            Err(_) => match task.await {
                Ok(Err(Failure::TimedOut)) => self.failed(
                    StatusCode::GATEWAY_TIMEOUT,
                    &format!("no response within {}s", timeout.as_secs()),
                ),
                Ok(Err(Failure::Guest(e))) => {
                    let why = match e.downcast_ref::<Trap>() {
                        Some(trap) => format!("the handler trapped: {trap}"),
                        None => format!("the handler failed: {e:#}"),
                    };
                    self.failed(StatusCode::INTERNAL_SERVER_ERROR, &why)
                }
                Ok(Ok(())) => self.failed(StatusCode::INTERNAL_SERVER_ERROR, "the handler sent no response"),
                Err(e) => self
                    .failed(StatusCode::INTERNAL_SERVER_ERROR, &format!("the handler ended abnormally: {e}")),
            },
        }
    }

    /// A turn to run, after waiting in the queue if all are taken; `None` when the queue is full too.
    async fn wait_for_turn(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        if let Ok(turn) = self.turns.clone().try_acquire_owned() {
            return Some(turn);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.serve.limits.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        let turn = self.turns.clone().acquire_owned().await.ok();
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        turn
    }

    /// An error answer, also reported on the container's stderr (what `kubectl logs` shows).
    fn failed(&self, status: StatusCode, why: &str) -> Answer {
        self.serve.errors.push(format!("wharf: request failed ({}): {why}\n", status.as_u16()).as_bytes());
        plain(status, why)
    }
}

enum Failure {
    TimedOut,
    Guest(wasmtime::Error),
}

fn plain(status: StatusCode, text: &str) -> Answer {
    let body = Full::new(Bytes::from(format!("{text}\n"))).map_err(|never| match never {}).boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/plain"));
    response
}
