//! The termination notice: how a job or a worker learns that its pod is being deleted.
//!
//! A wasm guest cannot receive SIGTERM. Wharf gives it the notice through stdin instead: stdin stays open with
//! nothing to read while the guest may run, and reaches end-of-file when the pod is deleted (or evicted, or its
//! node drained). What happens next follows SIGTERM's rules:
//!
//! - A guest that never looked at stdin has installed no handler and ends at once (exit code 143).
//! - A guest that did (any function here counts) has the pod's `terminationGracePeriodSeconds` (30 s by
//!   default) to finish its current unit of work and exit; past that it is killed (exit code 137).
//!
//! So a worker does its work in bounded steps, sleeps with [`sleep`] between them, and returns from `main` once
//! [`requested`] says so:
//!
//! ```no_run
//! use std::time::Duration;
//! use guest_sdk::shutdown;
//!
//! while !shutdown::requested() {
//!     // ... one unit of work ...
//!     shutdown::sleep(Duration::from_secs(5)); // returns early on the notice
//! }
//! ```
//!
//! Under plain `wasmtime run` the notice is the end of the terminal's input (Ctrl-D), or of a pipe: run a
//! worker with `< /dev/null` and it stops after its first unit of work. Bytes read from stdin before its end are
//! discarded. HTTP components need none of this: the node stops sending them requests and lets those in flight
//! finish.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[cfg(not(target_os = "wasi"))]
mod native;
#[cfg(all(target_os = "wasi", target_env = "p1"))]
mod p1;
#[cfg(all(target_os = "wasi", not(target_env = "p1")))]
mod p2;

#[cfg(not(target_os = "wasi"))]
use native as backend;
#[cfg(all(target_os = "wasi", target_env = "p1"))]
use p1 as backend;
#[cfg(all(target_os = "wasi", not(target_env = "p1")))]
use p2 as backend;

/// Set once stdin reached its end: it stays at its end, so the notice is never lost or repeated.
static RECEIVED: AtomicBool = AtomicBool::new(false);

/// Whether the notice has arrived, without waiting.
pub fn requested() -> bool {
    wait_until(Some(Instant::now()))
}

/// Sleeps for `duration`, or until the notice arrives if that is sooner. Check [`requested`] afterwards.
pub fn sleep(duration: Duration) {
    wait_until(Instant::now().checked_add(duration));
}

/// Blocks until the notice arrives.
pub fn wait() {
    wait_until(None);
}

/// Waits for the notice until `deadline` (forever without one); whether it arrived.
fn wait_until(deadline: Option<Instant>) -> bool {
    if RECEIVED.load(Ordering::Relaxed) {
        return true;
    }
    let received = backend::wait_for_end_of_stdin(deadline);
    if received {
        RECEIVED.store(true, Ordering::Relaxed);
    }
    received
}
