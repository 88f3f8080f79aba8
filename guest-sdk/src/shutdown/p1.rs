//! WASIp1: `poll_oneoff` on stdin's readability and a monotonic-clock timeout, then a read to tell its end from
//! data.

use std::io::Read as _;
use std::time::Instant;

use wasip1::{
    CLOCKID_MONOTONIC, ERRNO_SUCCESS, EVENTTYPE_CLOCK, EVENTTYPE_FD_READ, Event, EventFdReadwrite,
    Subscription, SubscriptionClock, SubscriptionFdReadwrite, SubscriptionU, SubscriptionUU,
};

const STDIN: u32 = 0;

pub(super) fn wait_for_end_of_stdin(deadline: Option<Instant>) -> bool {
    loop {
        match (readable(deadline), deadline) {
            (Some(false), _) => return false,
            // The host cannot poll stdin: a wait with a deadline sleeps until then.
            (None, Some(deadline)) => {
                std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                return false;
            }
            // Readable, or unpollable with no deadline to keep: a blocking read still ends at the notice.
            (Some(true), _) | (None, None) => {}
        }
        let mut buffer = [0u8; 4096];
        match std::io::stdin().read(&mut buffer) {
            Ok(0) | Err(_) => return true,
            // Bytes before the end are not the notice.
            Ok(_) => {}
        }
    }
}

/// Whether stdin became readable before `deadline`; `None` when the host refused the poll.
fn readable(deadline: Option<Instant>) -> Option<bool> {
    let stdin = Subscription {
        userdata: u64::from(EVENTTYPE_FD_READ.raw()),
        u: SubscriptionU {
            tag: EVENTTYPE_FD_READ.raw(),
            u: SubscriptionUU { fd_read: SubscriptionFdReadwrite { file_descriptor: STDIN } },
        },
    };
    let mut subscriptions = vec![stdin];
    if let Some(deadline) = deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        subscriptions.push(Subscription {
            userdata: u64::from(EVENTTYPE_CLOCK.raw()),
            u: SubscriptionU {
                tag: EVENTTYPE_CLOCK.raw(),
                u: SubscriptionUU {
                    clock: SubscriptionClock {
                        id: CLOCKID_MONOTONIC,
                        timeout: u64::try_from(left.as_nanos()).unwrap_or(u64::MAX),
                        precision: 0,
                        flags: 0,
                    },
                },
            },
        });
    }
    let empty = Event {
        userdata: 0,
        error: ERRNO_SUCCESS,
        type_: EVENTTYPE_CLOCK,
        fd_readwrite: EventFdReadwrite { nbytes: 0, flags: 0 },
    };
    let mut events = vec![empty; subscriptions.len()];
    // SAFETY: `subscriptions` and `events` are live, properly aligned arrays of the `repr(C)` types the import
    // takes, each `subscriptions.len()` long; the host writes at most that many events and nothing else.
    #[allow(unsafe_code)]
    let ready =
        unsafe { wasip1::poll_oneoff(subscriptions.as_ptr(), events.as_mut_ptr(), subscriptions.len()) };
    let ready = ready.ok()?;
    Some(events.iter().take(ready).any(|e| e.userdata == u64::from(EVENTTYPE_FD_READ.raw())))
}
