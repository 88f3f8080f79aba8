//! WASIp2: stdin's pollable raced against a monotonic-clock timer with `wasi:io/poll`.

use std::time::Instant;

use wasip2::cli::stdin::{InputStream, get_stdin};
use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::poll;
use wasip2::io::streams::StreamError;

thread_local! {
    /// The one stdin stream this guest reads the notice from.
    static STDIN: InputStream = get_stdin();
}

pub(super) fn wait_for_end_of_stdin(deadline: Option<Instant>) -> bool {
    STDIN.with(|stdin| {
        loop {
            let readable = stdin.subscribe();
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                let timer =
                    monotonic_clock::subscribe_duration(u64::try_from(left.as_nanos()).unwrap_or(u64::MAX));
                if !poll(&[&readable, &timer]).contains(&0) {
                    return false;
                }
            } else {
                readable.block();
            }
            match stdin.read(4096) {
                // Bytes before the end are not the notice; an empty read is a spurious wake-up.
                Ok(_) => {}
                Err(StreamError::Closed | StreamError::LastOperationFailed(_)) => return true,
            }
        }
    })
}
