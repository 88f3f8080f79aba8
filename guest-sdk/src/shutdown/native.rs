//! Off wasm (the SDK's own tests, a guest's logic tested on the host): a thread reads stdin to its end, the same
//! notice a process on the host would get when its input closes.

use std::io::Read as _;
use std::sync::{Condvar, Mutex, Once, PoisonError};
use std::time::Instant;

/// Whether stdin reached its end.
static ENDED: Mutex<bool> = Mutex::new(false);
/// Signalled when it does.
static SIGNAL: Condvar = Condvar::new();

pub(super) fn wait_for_end_of_stdin(deadline: Option<Instant>) -> bool {
    static READER: Once = Once::new();
    READER.call_once(|| {
        std::thread::spawn(|| {
            let mut sink = [0u8; 4096];
            while matches!(std::io::stdin().read(&mut sink), Ok(n) if n > 0) {}
            *ENDED.lock().unwrap_or_else(PoisonError::into_inner) = true;
            SIGNAL.notify_all();
        });
    });
    let mut ended = ENDED.lock().unwrap_or_else(PoisonError::into_inner);
    while !*ended {
        let Some(deadline) = deadline else {
            ended = SIGNAL.wait(ended).unwrap_or_else(PoisonError::into_inner);
            continue;
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        ended = SIGNAL.wait_timeout(ended, left).unwrap_or_else(PoisonError::into_inner).0;
    }
    true
}
