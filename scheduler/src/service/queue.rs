//! The scheduling queue, as kube-scheduler's: pods waiting for a decision, in priority order, with backoff for
//! pods that failed and a parking place for pods that fit nowhere until the cluster changes.
//!
//! Every pod the scheduler should place has one entry, in one of four states:
//! - *active*: ready for a decision, ordered by [`QueueKey`] (higher priority first, then older);
//! - *backing off*: failed recently and waits until its backoff expires (1 s doubling to 10 s by default);
//! - *parked*: fit nowhere; waits for a relevant cluster change ([`Queue::wake`]), or at most
//!   [`Backoff::max_parked`] (kube-scheduler's `podMaxInUnschedulablePodsDuration`);
//! - *in flight*: decided and being bound; not handed out again until the binding succeeds or fails.
//!
//! Pure: time is passed in, so the tests drive it with plain instants.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use tokio::time::Instant;

use crate::placement::{PodInfo, QueueKey};

/// How long failed pods wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failed attempt (kube-scheduler's `podInitialBackoffSeconds`, 1 s).
    pub initial: Duration,
    /// The longest wait (`podMaxBackoffSeconds`, 10 s).
    pub max: Duration,
    /// The longest a pod stays parked without a cluster change before it is tried again
    /// (`podMaxInUnschedulablePodsDuration`, 5 min).
    pub max_parked: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(10),
            max_parked: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The wait after `attempts` failed attempts: `initial`, doubled per further attempt, at most `max`.
    pub fn after(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(31);
        self.initial.saturating_mul(1 << doublings).min(self.max)
    }
}

/// Where an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Active,
    BackingOff(Instant),
    Parked(Instant),
    InFlight,
}

/// A pod handed out for a decision.
#[derive(Debug, Clone)]
pub struct Popped {
    /// The pod's key ([`PodInfo::key`]).
    pub key: String,
    /// The pod as last seen.
    pub pod: Arc<Pod>,
    /// The scheduler's view of it.
    pub info: Arc<PodInfo>,
}

#[derive(Debug)]
struct Entry {
    pod: Arc<Pod>,
    info: Arc<PodInfo>,
    order: QueueKey,
    state: State,
    /// Decisions made so far; the backoff grows with them.
    attempts: u32,
    last_attempt: Option<Instant>,
}

/// The queue. See the [module documentation](self).
#[derive(Debug, Default)]
pub struct Queue {
    backoff: Backoff,
    entries: HashMap<String, Entry>,
    active: BTreeSet<(QueueKey, String)>,
    backing_off: BTreeSet<(Instant, String)>,
    /// Parked entries by the instant they are retried without a cluster change.
    parked: BTreeSet<(Instant, String)>,
}

impl Queue {
    /// An empty queue with `backoff`.
    pub fn new(backoff: Backoff) -> Self {
        Self { backoff, ..Self::default() }
    }

    /// The number of pods waiting, in flight ones included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Adds a pod that wants a node, or refreshes one already queued. A parked pod whose spec or labels
    /// changed is tried again (after its backoff), since the change may make it fit.
    pub fn upsert(&mut self, key: &str, pod: Arc<Pod>, info: Arc<PodInfo>, now: Instant) {
        let Some(entry) = self.entries.get_mut(key) else {
            let order = info.queue_key();
            self.active.insert((order.clone(), key.to_owned()));
            let entry = Entry { pod, info, order, state: State::Active, attempts: 0, last_attempt: None };
            self.entries.insert(key.to_owned(), entry);
            return;
        };
        let changed = entry.pod.spec != pod.spec || entry.pod.metadata.labels != pod.metadata.labels;
        let order = info.queue_key();
        if entry.state == State::Active && order != entry.order {
            self.active.remove(&(entry.order.clone(), key.to_owned()));
            self.active.insert((order.clone(), key.to_owned()));
        }
        entry.pod = pod;
        entry.info = info;
        entry.order = order;
        if changed && matches!(entry.state, State::Parked(_)) {
            self.unpark(key, now);
        }
    }

    /// Forgets a pod: deleted, bound, or no longer this scheduler's.
    pub fn remove(&mut self, key: &str) {
        if let Some(entry) = self.entries.remove(key) {
            self.leave(key, entry.state, entry.order);
        }
    }

    /// The next pod to decide, if one is ready at `now`; it is in flight until [`park`](Self::park),
    /// [`back_off`](Self::back_off) or [`remove`](Self::remove).
    pub fn pop(&mut self, now: Instant) -> Option<Popped> {
        self.ripen(now);
        let (_, key) = self.active.pop_first()?;
        let entry = self.entries.get_mut(&key)?;
        entry.state = State::InFlight;
        entry.attempts = entry.attempts.saturating_add(1);
        entry.last_attempt = Some(now);
        Some(Popped { pod: entry.pod.clone(), info: entry.info.clone(), key })
    }

    /// Parks a pod that fit nowhere until [`wake`](Self::wake) or for [`Backoff::max_parked`].
    pub fn park(&mut self, key: &str, now: Instant) {
        if !self.detach(key) {
            return;
        }
        let until = now + self.backoff.max_parked;
        if let Some(entry) = self.entries.get_mut(key) {
            entry.state = State::Parked(until);
        }
        self.parked.insert((until, key.to_owned()));
    }

    /// Retries a pod after its backoff (a failed binding or preemption).
    pub fn back_off(&mut self, key: &str, now: Instant) {
        if self.detach(key) {
            self.requeue(key, now);
        }
    }

    /// Something changed that may make parked pods fit (a node joined or changed, a pod left): every parked
    /// pod is tried again once its backoff has expired.
    pub fn wake(&mut self, now: Instant) {
        for (_, key) in std::mem::take(&mut self.parked) {
            self.requeue(&key, now);
        }
    }

    /// When the next waiting pod becomes ready, if any waits.
    pub fn next_deadline(&self) -> Option<Instant> {
        let backoff = self.backing_off.first().map(|(t, _)| *t);
        let parked = self.parked.first().map(|(t, _)| *t);
        backoff.into_iter().chain(parked).min()
    }

    /// Moves the pods whose wait is over into the active set.
    fn ripen(&mut self, now: Instant) {
        while let Some((until, _)) = self.backing_off.first()
            && *until <= now
        {
            if let Some((_, key)) = self.backing_off.pop_first() {
                self.activate(&key);
            }
        }
        while let Some((until, _)) = self.parked.first()
            && *until <= now
        {
            if let Some((_, key)) = self.parked.pop_first() {
                self.requeue(&key, now);
            }
        }
    }

    fn unpark(&mut self, key: &str, now: Instant) {
        if let Some(State::Parked(until)) = self.entries.get(key).map(|e| e.state) {
            self.parked.remove(&(until, key.to_owned()));
            self.requeue(key, now);
        }
    }

    /// Puts an entry (already out of every set) into backoff, or straight into the active set when its backoff
    /// has expired.
    fn requeue(&mut self, key: &str, now: Instant) {
        let Some(entry) = self.entries.get_mut(key) else { return };
        let until = entry.last_attempt.map_or(now, |last| last + self.backoff.after(entry.attempts));
        if until <= now {
            self.activate(key);
        } else {
            entry.state = State::BackingOff(until);
            self.backing_off.insert((until, key.to_owned()));
        }
    }

    fn activate(&mut self, key: &str) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.state = State::Active;
            self.active.insert((entry.order.clone(), key.to_owned()));
        }
    }

    /// Takes an entry out of the set its state puts it in, keeping the entry. Returns whether it exists.
    fn detach(&mut self, key: &str) -> bool {
        let Some(entry) = self.entries.get(key) else { return false };
        let (state, order) = (entry.state, entry.order.clone());
        self.leave(key, state, order);
        true
    }

    /// Takes `key` out of the set `state` puts it in.
    fn leave(&mut self, key: &str, state: State, order: QueueKey) {
        let key = key.to_owned();
        match state {
            State::Active => self.active.remove(&(order, key)),
            State::BackingOff(until) => self.backing_off.remove(&(until, key)),
            State::Parked(until) => self.parked.remove(&(until, key)),
            State::InFlight => false,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, priority: i32, created: &str) -> (String, Arc<Pod>, Arc<PodInfo>) {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "ns", "uid": name, "creationTimestamp": created},
            "spec": {"priority": priority, "containers": []},
        }))
        .unwrap_or_else(|e| panic!("bad fixture: {e}"));
        let info = PodInfo::from_pod(&pod);
        (name.to_owned(), Arc::new(pod), Arc::new(info))
    }

    fn add(queue: &mut Queue, name: &str, priority: i32, created: &str, now: Instant) {
        let (key, pod, info) = pod(name, priority, created);
        queue.upsert(&key, pod, info, now);
    }

    fn pop(queue: &mut Queue, now: Instant) -> Option<String> {
        queue.pop(now).map(|p| p.key)
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let b = Backoff::default();
        let secs: Vec<u64> = (1..=6).map(|n| b.after(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 10, 10]);
        assert_eq!(b.after(u32::MAX), Duration::from_secs(10));
    }

    #[test]
    fn higher_priority_then_older_first() {
        let now = Instant::now();
        let mut q = Queue::new(Backoff::default());
        add(&mut q, "young", 0, "2024-01-01T00:00:02Z", now);
        add(&mut q, "old", 0, "2024-01-01T00:00:01Z", now);
        add(&mut q, "important", 100, "2024-01-01T00:00:03Z", now);
        let order: Vec<_> = std::iter::from_fn(|| pop(&mut q, now)).collect();
        assert_eq!(order, ["important", "old", "young"]);
        assert_eq!(q.len(), 3, "popped pods stay in flight");
        assert_eq!(pop(&mut q, now), None, "in flight pods are not handed out again");
    }

    #[test]
    fn failed_pods_back_off() {
        let start = Instant::now();
        let mut q = Queue::new(Backoff::default());
        add(&mut q, "p", 0, "2024-01-01T00:00:00Z", start);
        assert_eq!(pop(&mut q, start).as_deref(), Some("p"));
        q.back_off("p", start);
        assert_eq!(pop(&mut q, start), None);
        assert_eq!(q.next_deadline(), Some(start + Duration::from_secs(1)));
        let later = start + Duration::from_secs(1);
        assert_eq!(pop(&mut q, later).as_deref(), Some("p"));
        q.back_off("p", later);
        assert_eq!(q.next_deadline(), Some(later + Duration::from_secs(2)));
    }

    #[test]
    fn parked_pods_wait_for_a_change_and_their_backoff() {
        let start = Instant::now();
        let mut q = Queue::new(Backoff::default());
        add(&mut q, "p", 0, "2024-01-01T00:00:00Z", start);
        assert_eq!(pop(&mut q, start).as_deref(), Some("p"));
        q.park("p", start);
        let later = start + Duration::from_secs(30);
        assert_eq!(pop(&mut q, later), None, "nothing changed");
        q.wake(later);
        assert_eq!(pop(&mut q, later).as_deref(), Some("p"), "its backoff expired long ago");

        // Woken right after the attempt: it still waits out its backoff.
        q.park("p", later);
        q.wake(later);
        assert_eq!(pop(&mut q, later), None);
        assert_eq!(pop(&mut q, later + Duration::from_secs(2)).as_deref(), Some("p"));
    }

    #[test]
    fn parked_pods_are_retried_after_the_longest_park() {
        let start = Instant::now();
        let mut q = Queue::new(Backoff::default());
        add(&mut q, "p", 0, "2024-01-01T00:00:00Z", start);
        pop(&mut q, start);
        q.park("p", start);
        assert_eq!(q.next_deadline(), Some(start + Duration::from_secs(300)));
        assert_eq!(pop(&mut q, start + Duration::from_secs(299)), None);
        assert_eq!(pop(&mut q, start + Duration::from_secs(300)).as_deref(), Some("p"));
    }

    #[test]
    fn a_changed_spec_unparks_but_a_status_change_does_not() {
        let start = Instant::now();
        let mut q = Queue::new(Backoff::default());
        let (key, pod, info) = pod("p", 0, "2024-01-01T00:00:00Z");
        q.upsert(&key, pod.clone(), info.clone(), start);
        pop(&mut q, start);
        q.park("p", start);
        let later = start + Duration::from_secs(5);

        let mut with_status = (*pod).clone();
        with_status.status = serde_json::from_value(json!({"phase": "Pending"})).ok();
        q.upsert(&key, Arc::new(with_status), info.clone(), later);
        assert_eq!(pop(&mut q, later), None);

        let mut tolerating = (*pod).clone();
        if let Some(spec) = tolerating.spec.as_mut() {
            spec.tolerations = serde_json::from_value(json!([{"operator": "Exists"}])).ok();
        }
        q.upsert(&key, Arc::new(tolerating), info, later);
        assert_eq!(pop(&mut q, later).as_deref(), Some("p"));
    }

    #[test]
    fn removal_clears_every_state() {
        let now = Instant::now();
        let mut q = Queue::new(Backoff::default());
        for (i, name) in ["a", "b", "c", "d"].into_iter().enumerate() {
            add(&mut q, name, i as i32, "2024-01-01T00:00:00Z", now);
        }
        // d, c, b in flight; a stays active.
        pop(&mut q, now);
        pop(&mut q, now);
        pop(&mut q, now);
        q.park("c", now);
        q.back_off("b", now);
        for name in ["a", "b", "c", "d"] {
            q.remove(name);
        }
        assert_eq!(q.len(), 0);
        assert_eq!(q.next_deadline(), None);
        q.wake(now);
        assert_eq!(pop(&mut q, now + Duration::from_secs(600)), None);
    }
}
