//! Running one container: a fresh `Store` with its memory limiter and time slicing, instantiation from the shared
//! pre-linked program, the call of `_start` or `wasi:cli/run`, and the translation of how it ended into an exit
//! code and a Kubernetes reason.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, Trap, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{I32Exit, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::http::HttpServe;
use super::network::PodNetwork;
use super::sockets::{GuestNetwork, Networked};
use super::stdin::NoticeStdin;
use super::{Program, TICK};
use crate::limits::{CpuPacer, CpuQuota, MemoryLimiter};
use crate::stats::Usage;

/// Exit code reported for a trap, as a process killed by SIGABRT would report it.
const TRAP_EXIT_CODE: i32 = 134;
/// Exit code reported for a guest killed for memory or by the node, as for SIGKILL.
const KILLED_EXIT_CODE: i32 = 137;
/// Exit code reported for a guest ended by its termination notice, as by SIGTERM's default action.
const TERMINATED_EXIT_CODE: i32 = 143;

/// Store data of a WASIp1 module.
pub struct P1State {
    pub(super) wasi: WasiP1Ctx,
    limiter: MemoryLimiter,
}

/// Store data of a WASIp2 component.
pub struct P2State {
    ctx: WasiCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
    network: Option<GuestNetwork>,
}

impl Networked for P2State {
    fn network(&mut self) -> Option<&mut GuestNetwork> {
        self.network.as_mut()
    }
}

impl WasiView for P2State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.ctx, table: &mut self.table }
    }
}

/// What one run of a container needs besides its program.
pub struct GuestSpec {
    /// The WASI context (argv, env, preopens, stdio, network policy), built by the sandbox.
    pub wasi: WasiCtxBuilder,
    /// Cap on all memories and tables together, in bytes.
    pub memory_limit: Option<u64>,
    /// CPU quota, when below one core.
    pub cpu: Option<CpuQuota>,
    /// Where the run's CPU time and memory are counted.
    pub usage: Arc<Usage>,
    /// Where an HTTP workload serves (unused by commands).
    pub http: Option<HttpServe>,
    /// What the guest's connections, datagrams and lookups may reach.
    pub network: Option<Arc<PodNetwork>>,
}

/// A handle to stop a running guest: first with a notice it may act on (its stdin ends), then for good.
#[derive(Debug, Default)]
pub struct Control {
    stop: CancellationToken,
    notice: CancellationToken,
    /// Whether the guest has read or polled its stdin, i.e. waits for the notice.
    watches_notice: Arc<AtomicBool>,
    /// Whether the notice itself ended the guest.
    ended_by_notice: AtomicBool,
}

impl Control {
    /// A handle for a guest that is not stopped.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the guest to stop by closing its stdin: the WASI counterpart of SIGTERM. As with SIGTERM, a guest
    /// that never read or polled its stdin (installed no handler) gets the default action: it ends at once,
    /// with exit code 143. One that did is left to act on the notice.
    pub fn notify(&self) {
        self.notice.cancel();
        if !self.watches_notice.load(Ordering::Relaxed) {
            self.ended_by_notice.store(true, Ordering::Relaxed);
            self.stop.cancel();
        }
    }

    /// Stops the guest: a running guest traps at its next time slice, a guest waiting in a host call is dropped.
    pub fn kill(&self) {
        self.stop.cancel();
    }

    /// Marks the guest as handling the notice (as a server draining its requests does).
    pub(super) fn watch_notice(&self) {
        self.watches_notice.store(true, Ordering::Relaxed);
    }

    /// The token that kills the guest, for instances started on its behalf.
    pub(super) fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Waits for the termination notice.
    pub(super) async fn noticed(&self) {
        self.notice.cancelled().await;
    }

    /// Waits for the kill.
    pub(super) async fn killed(&self) {
        self.stop.cancelled().await;
    }

    /// How the node stopped the guest, if it did.
    fn stopped(&self) -> Option<Stopped> {
        if !self.stop.is_cancelled() {
            None
        } else if self.ended_by_notice.load(Ordering::Relaxed) {
            Some(Stopped::ByNotice)
        } else {
            Some(Stopped::Killed)
        }
    }
}

/// How the node stopped a guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopped {
    /// The termination notice, for a guest that does not wait for it (SIGTERM's default action).
    ByNotice,
    /// Killed: after the grace period, by an eviction, or by the agent stopping.
    Killed,
}

impl Stopped {
    fn exit(self) -> Exit {
        match self {
            Self::ByNotice => Exit::error(
                ExitReason::Killed,
                TERMINATED_EXIT_CODE,
                "ended by the termination notice: the guest never read its stdin".into(),
            ),
            Self::Killed => Exit::error(ExitReason::Killed, KILLED_EXIT_CODE, "stopped by the node".into()),
        }
    }
}

/// The exit of a guest the node killed.
pub(super) fn killed_exit() -> Exit {
    Stopped::Killed.exit()
}

/// How a container ended, in Kubernetes' terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    /// Exit code 0.
    Completed,
    /// A non-zero exit, a trap, or a start failure.
    Error,
    /// A trap after the memory limit refused a growth.
    OomKilled,
    /// Stopped by the node.
    Killed,
}

impl ExitReason {
    /// The reason as `containerStatuses[].state.terminated.reason` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "Completed",
            Self::Error | Self::Killed => "Error",
            Self::OomKilled => "OOMKilled",
        }
    }
}

/// The end of one run of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// The exit code.
    pub code: i32,
    /// Why it ended.
    pub reason: ExitReason,
    /// A human explanation (trap message), if any.
    pub message: Option<String>,
}

impl Exit {
    /// An exit with a code chosen by the guest.
    pub fn code(code: i32) -> Self {
        let reason = if code == 0 { ExitReason::Completed } else { ExitReason::Error };
        Self { code, reason, message: None }
    }

    /// An abnormal end with an explanation.
    pub fn error(reason: ExitReason, code: i32, message: String) -> Self {
        Self { code, reason, message: Some(message) }
    }
}

/// Runs the program to its end (or until `control` kills it); an HTTP handler serves until then.
/// `http_slots` bounds the node's HTTP instances.
pub(super) async fn run(
    engine: Engine,
    program: Program,
    spec: GuestSpec,
    http_slots: Arc<Semaphore>,
    control: Arc<Control>,
) -> Exit {
    let GuestSpec { mut wasi, memory_limit, cpu, usage, http, network } = spec;
    let pacer = cpu.map(|quota| Arc::new(CpuPacer::new(quota)));
    usage.set_running(true);
    let exit = match (program, http) {
        (Program::Http(pre), Some(http)) => {
            let instances = super::http::Instances {
                engine,
                memory_limit,
                cpu: pacer,
                usage: usage.clone(),
                network,
                slots: http_slots,
            };
            super::http::serve(pre, http, instances, &control).await
        }
        (Program::Http(_), None) => Exit::error(
            ExitReason::Error,
            1,
            "an HTTP handler needs a pod address and port to serve on".into(),
        ),
        (program, _) => {
            wasi.stdin(NoticeStdin::new(control.notice.clone(), control.watches_notice.clone()));
            let limiter = MemoryLimiter::new(memory_limit, usage.clone());
            let guest = Guest { wasi, limiter, cpu: pacer, network };
            metered(execute(engine, program, guest, &control), &usage).await
        }
    };
    usage.set_running(false);
    exit
}

/// Runs `future`, counting the time each poll takes as the guest's CPU time. A poll runs wasm until its next
/// time slice ends or it waits in a host call, so this is the time the guest kept a guest thread busy.
pub(super) async fn metered<F: Future>(future: F, usage: &Usage) -> F::Output {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| {
        let started = Instant::now();
        let poll = future.as_mut().poll(cx);
        usage.add_cpu(started.elapsed());
        poll
    })
    .await
}

/// What a command's instance gets.
struct Guest {
    wasi: WasiCtxBuilder,
    limiter: MemoryLimiter,
    cpu: Option<Arc<CpuPacer>>,
    network: Option<Arc<PodNetwork>>,
}

async fn execute(engine: Engine, program: Program, guest: Guest, control: &Control) -> Exit {
    let Guest { mut wasi, limiter, cpu, network } = guest;
    match program {
        Program::Module(pre) => {
            let mut store = Store::new(&engine, P1State { wasi: wasi.build_p1(), limiter });
            store.limiter(|s| &mut s.limiter);
            install_slicing(&mut store, &control.stop, cpu.clone());
            let outcome = {
                let call = async {
                    let instance = pre.instantiate_async(&mut store).await?;
                    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
                    start.call_async(&mut store, ()).await.map(|()| 0)
                };
                tokio::select! {
                    r = call => Some(r),
                    () = control.stop.cancelled() => None,
                }
            };
            judge(outcome, store.data().limiter.refused(), control.stopped())
        }
        Program::Component(pre) => {
            let state = P2State {
                ctx: wasi.build(),
                table: ResourceTable::new(),
                limiter,
                network: network.map(GuestNetwork::new),
            };
            let mut store = Store::new(&engine, state);
            store.limiter(|s| &mut s.limiter);
            install_slicing(&mut store, &control.stop, cpu.clone());
            let outcome = {
                let call = async {
                    let command = pre.instantiate_async(&mut store).await?;
                    let ran = command.wasi_cli_run().call_run(&mut store).await?;
                    Ok(i32::from(ran.is_err()))
                };
                tokio::select! {
                    r = call => Some(r),
                    () = control.stop.cancelled() => None,
                }
            };
            judge(outcome, store.data().limiter.refused(), control.stopped())
        }
        Program::Http(_) => Exit::error(ExitReason::Error, 1, "an HTTP handler is served, not run".into()),
    }
}

/// Makes the store yield to tokio at every epoch tick (so that one spinning guest cannot delay other pods' timers),
/// pause as its CPU quota requires, and trap once `stop` is cancelled.
pub(super) fn install_slicing<T: 'static>(
    store: &mut Store<T>,
    stop: &CancellationToken,
    cpu: Option<Arc<CpuPacer>>,
) {
    let stop = stop.clone();
    let resumed = Arc::new(Mutex::new(Instant::now()));
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if stop.is_cancelled() {
            return Ok(UpdateDeadline::Interrupt);
        }
        let ran = resumed.lock().unwrap_or_else(PoisonError::into_inner).elapsed().min(TICK * 2);
        let pause = cpu.as_ref().map_or(Duration::ZERO, |pacer| pacer.charge(ran, Instant::now()));
        let resumed = resumed.clone();
        // `tokio::task::yield_now` lets tokio run its timer and IO driver before the guest resumes; wasmtime's own
        // `Yield` wakes at once and starves them (see the runtime notes on epochs).
        Ok(UpdateDeadline::YieldCustom(
            1,
            Box::pin(async move {
                if pause.is_zero() {
                    tokio::task::yield_now().await;
                } else {
                    tokio::time::sleep(pause).await;
                }
                *resumed.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
            }),
        ))
    });
}

/// Turns the result of the call into an exit.
fn judge(outcome: Option<wasmtime::Result<i32>>, memory_refused: bool, stopped: Option<Stopped>) -> Exit {
    let error = match outcome {
        None => return stopped.unwrap_or(Stopped::Killed).exit(),
        Some(Ok(code)) => return Exit::code(code),
        Some(Err(e)) => e,
    };
    if let Some(exit) = error.downcast_ref::<I32Exit>() {
        return Exit::code(exit.0);
    }
    if let Some(stopped) = stopped {
        return stopped.exit();
    }
    if memory_refused {
        return Exit::error(
            ExitReason::OomKilled,
            KILLED_EXIT_CODE,
            format!("the guest exceeded its memory limit: {error:#}"),
        );
    }
    let message = match error.downcast_ref::<Trap>() {
        Some(trap) => format!("wasm trap: {trap}"),
        None => format!("{error:#}"),
    };
    Exit::error(ExitReason::Error, TRAP_EXIT_CODE, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judge_maps_outcomes() {
        assert_eq!(judge(Some(Ok(0)), false, None), Exit::code(0));
        assert_eq!(judge(Some(Ok(1)), false, None).reason, ExitReason::Error);
        let killed = judge(None, false, Some(Stopped::Killed));
        assert_eq!((killed.code, killed.reason), (137, ExitReason::Killed));
        let noticed = judge(Some(Err(Trap::Interrupt.into())), false, Some(Stopped::ByNotice));
        assert_eq!((noticed.code, noticed.reason.as_str()), (143, "Error"));
        let exit = judge(Some(Err(I32Exit(3).into())), true, None);
        assert_eq!((exit.code, exit.reason), (3, ExitReason::Error));
        let oom = judge(Some(Err(Trap::UnreachableCodeReached.into())), true, None);
        assert_eq!((oom.code, oom.reason), (137, ExitReason::OomKilled));
        let trap = judge(Some(Err(Trap::StackOverflow.into())), false, None);
        assert_eq!((trap.code, trap.reason), (134, ExitReason::Error));
        assert!(trap.message.unwrap().contains("wasm trap"));
    }

    #[test]
    fn the_notice_ends_only_a_guest_that_does_not_watch_for_it() {
        let ignoring = Control::new();
        ignoring.notify();
        assert_eq!(ignoring.stopped(), Some(Stopped::ByNotice), "SIGTERM's default action");

        let watching = Control::new();
        watching.watches_notice.store(true, Ordering::Relaxed);
        watching.notify();
        assert_eq!(watching.stopped(), None, "left to act on the notice");
        watching.kill();
        assert_eq!(watching.stopped(), Some(Stopped::Killed), "killed when the grace period ends");
    }
}
