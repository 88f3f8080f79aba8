//! Recent events for watches that resume from an older resource version, and the channel to live watchers.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::broadcast;

use super::{Key, StoredObject};

/// The kind of change a watch event reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// The object was created.
    Added,
    /// The object was changed.
    Modified,
    /// The object was removed; the event carries its last state, stamped with the deletion's resource version.
    Deleted,
}

impl EventType {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One committed change.
#[derive(Debug)]
pub struct WatchEvent {
    /// The resource version of the write.
    pub rv: u64,
    /// What happened.
    pub kind: EventType,
    /// Which object.
    pub key: Key,
    /// The object after the change (for a delete, its last state).
    pub object: Arc<StoredObject>,
    /// The object before the change, so that a watch with a selector can tell an object that stopped matching
    /// (reported as DELETED) from one that never matched.
    pub previous: Option<Arc<StoredObject>>,
}

/// The watch history: a window of the newest events, in resource-version order.
pub struct History {
    events: VecDeque<Arc<WatchEvent>>,
    capacity: usize,
    /// Every event with a resource version above `floor` is in `events`.
    floor: u64,
    live: broadcast::Sender<Arc<WatchEvent>>,
}

impl Default for History {
    fn default() -> Self {
        Self::new(1024, broadcast::channel(16).0)
    }
}

/// The requested resource version is older than the history window.
#[derive(Debug, thiserror::Error)]
#[error("too old resource version: {requested} ({oldest})")]
pub struct Expired {
    /// What the client asked for.
    pub requested: u64,
    /// The oldest resource version still resumable.
    pub oldest: u64,
}

impl History {
    /// An empty history keeping at most `capacity` events, publishing to `live`.
    pub fn new(capacity: usize, live: broadcast::Sender<Arc<WatchEvent>>) -> Self {
        Self {
            events: VecDeque::with_capacity(capacity.min(4096)),
            capacity: capacity.max(1),
            floor: 0,
            live,
        }
    }

    /// Forgets everything before `rv`: used at start-up, when no earlier events are known.
    pub fn reset(&mut self, rv: u64) {
        self.events.clear();
        self.floor = rv;
    }

    /// Records a committed event and sends it to live watchers (never blocking: laggards are dropped).
    pub fn push(&mut self, event: Arc<WatchEvent>) {
        if self.events.len() == self.capacity
            && let Some(oldest) = self.events.pop_front()
        {
            self.floor = oldest.rv;
        }
        self.events.push_back(event.clone());
        // No receivers is fine: nobody is watching.
        let _ = self.live.send(event);
    }

    /// The events after `rv`, or `Expired` when some of them are no longer kept.
    pub fn since(&self, rv: u64) -> Result<Vec<Arc<WatchEvent>>, Expired> {
        if rv < self.floor {
            return Err(Expired { requested: rv, oldest: self.floor });
        }
        let start = self.events.partition_point(|e| e.rv <= rv);
        Ok(self.events.range(start..).cloned().collect())
    }

    /// A receiver of every event pushed from now on. Subscribe under the same lock as the snapshot or backlog
    /// the watch starts from, so that no event falls between the two.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<WatchEvent>> {
        self.live.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Selectable;

    fn event(rv: u64) -> Arc<WatchEvent> {
        let object =
            Arc::new(StoredObject { json: "{}".into(), rv, select: Selectable::default(), stale: false });
        Arc::new(WatchEvent {
            rv,
            kind: EventType::Added,
            key: Key::new("pods", "ns", "a"),
            object,
            previous: None,
        })
    }

    #[test]
    fn resumes_inside_the_window_and_expires_before_it() {
        let mut history = History::new(3, broadcast::channel(4).0);
        history.reset(10);
        for rv in 11..=15 {
            history.push(event(rv));
        }
        // The window now holds 13, 14, 15: a client that saw 12 misses nothing.
        let rvs = |v: Vec<Arc<WatchEvent>>| v.iter().map(|e| e.rv).collect::<Vec<_>>();
        assert_eq!(rvs(history.since(12).unwrap()), vec![13, 14, 15]);
        assert_eq!(rvs(history.since(14).unwrap()), vec![15]);
        assert!(history.since(15).unwrap().is_empty());
        let expired = history.since(11).unwrap_err();
        assert_eq!((expired.requested, expired.oldest), (11, 12));
    }

    #[test]
    fn a_fresh_history_resumes_from_its_start() {
        let mut history = History::new(3, broadcast::channel(4).0);
        history.reset(7);
        assert!(history.since(7).unwrap().is_empty());
        assert!(history.since(6).is_err());
    }
}
