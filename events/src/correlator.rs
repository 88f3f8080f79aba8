//! client-go's event correlation, as a pure state machine: repeats of an event become `count` updates of the
//! object already written, and a token bucket per source and object (a burst of 25, then one every five
//! minutes) caps what any one object can cost the API server.

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Event;
use tokio::time::Instant;

/// Events a source may record about one object at once (client-go's `defaultSpamBurst`).
pub const BURST: f64 = 25.0;
/// The time to earn one more (client-go's `defaultSpamQPS` of 1/300).
pub const REFILL: Duration = Duration::from_secs(300);
/// The shortest time between two writes of one repeating event: repeats in between only count, and the next
/// write carries the count, so that thousands of pods retried together do not flood the API server.
pub const REPEAT_INTERVAL: Duration = Duration::from_secs(10);
/// Objects and events remembered (client-go's LRU caches hold 4,096); a full memory starts afresh, which at
/// worst lets one more burst through.
pub const REMEMBERED: usize = 4096;

/// What to write for an event.
#[derive(Debug)]
pub enum Decision {
    /// A new event object.
    Create(Box<Event>),
    /// A repeat: set `count` on the event already written, or create `fallback` if it is gone (events expire).
    Repeat {
        /// Its namespace.
        namespace: String,
        /// The event written before.
        name: String,
        /// How often it has happened.
        count: i32,
        /// The event to create instead.
        fallback: Box<Event>,
    },
    /// Nothing now: a repeat too soon after the last write, or over the object's budget.
    Skip,
}

/// An event already written.
#[derive(Debug, Clone)]
struct Seen {
    name: String,
    count: i32,
    written: Instant,
}

/// A token bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self, now: Instant) -> bool {
        let earned = now.saturating_duration_since(self.at).as_secs_f64() / REFILL.as_secs_f64();
        self.tokens = (self.tokens + earned).min(BURST);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The correlation state of one recorder.
#[derive(Debug, Default)]
pub struct Correlator {
    buckets: HashMap<String, Bucket>,
    seen: HashMap<String, Seen>,
}

impl Correlator {
    /// Decides what to write for `event` (built with `count: 1`) at `now`.
    pub fn decide(&mut self, mut event: Event, now: Instant) -> Decision {
        let source = source_key(&event);
        let key = format!(
            "{source}\0{}\0{}\0{}\0{}",
            event.involved_object.field_path.as_deref().unwrap_or_default(),
            event.type_.as_deref().unwrap_or_default(),
            event.reason.as_deref().unwrap_or_default(),
            event.message.as_deref().unwrap_or_default(),
        );
        let repeat = match self.seen.get_mut(&key) {
            Some(seen) => {
                seen.count = seen.count.saturating_add(1);
                if now.saturating_duration_since(seen.written) < REPEAT_INTERVAL {
                    return Decision::Skip;
                }
                Some(seen.clone())
            }
            None => None,
        };
        if self.buckets.len() >= REMEMBERED {
            self.buckets.clear();
        }
        let bucket = self.buckets.entry(source).or_insert(Bucket { tokens: BURST, at: now });
        if !bucket.take(now) {
            return Decision::Skip;
        }
        if let Some(seen) = repeat {
            if let Some(entry) = self.seen.get_mut(&key) {
                entry.written = now;
            }
            event.count = Some(seen.count);
            return Decision::Repeat {
                namespace: event.metadata.namespace.clone().unwrap_or_default(),
                name: seen.name,
                count: seen.count,
                fallback: Box::new(event),
            };
        }
        if self.seen.len() >= REMEMBERED {
            self.seen.clear();
        }
        let name = event.metadata.name.clone().unwrap_or_default();
        self.seen.insert(key, Seen { name, count: 1, written: now });
        Decision::Create(Box::new(event))
    }
}

/// client-go's spam key: the source and the involved object.
fn source_key(event: &Event) -> String {
    let source = event.source.as_ref();
    let object = &event.involved_object;
    [
        source.and_then(|s| s.component.as_deref()),
        source.and_then(|s| s.host.as_deref()),
        object.kind.as_deref(),
        object.namespace.as_deref(),
        object.name.as_deref(),
        object.uid.as_deref(),
        object.api_version.as_deref(),
    ]
    .map(Option::unwrap_or_default)
    .join("\0")
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{EventSource, ObjectReference};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn event(object: &str, reason: &str, message: &str, name: &str) -> Event {
        Event {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some("shop".to_owned()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                kind: Some("ReplicaSet".to_owned()),
                name: Some(object.to_owned()),
                uid: Some(format!("uid-{object}")),
                ..ObjectReference::default()
            },
            reason: Some(reason.to_owned()),
            message: Some(message.to_owned()),
            type_: Some("Normal".to_owned()),
            count: Some(1),
            source: Some(EventSource { component: Some("replicaset-controller".to_owned()), host: None }),
            ..Event::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_object_gets_a_burst_then_one_event_per_refill() {
        let mut correlator = Correlator::default();
        let created = (0..1000)
            .filter(|i| {
                let e = event("web", "SuccessfulCreate", &format!("Created pod: web-{i}"), &format!("e{i}"));
                matches!(correlator.decide(e, Instant::now()), Decision::Create(_))
            })
            .count();
        assert_eq!(created, 25);
        // Another object has its own budget.
        let other = event("api", "SuccessfulCreate", "Created pod: api-1", "o1");
        assert!(matches!(correlator.decide(other, Instant::now()), Decision::Create(_)));
        tokio::time::advance(REFILL).await;
        let later = event("web", "SuccessfulCreate", "Created pod: web-late", "late");
        assert!(matches!(correlator.decide(later, Instant::now()), Decision::Create(_)));
        let again = event("web", "SuccessfulCreate", "Created pod: web-late-2", "late2");
        assert!(matches!(correlator.decide(again, Instant::now()), Decision::Skip));
    }

    #[tokio::test(start_paused = true)]
    async fn repeats_update_one_event_at_most_every_interval() {
        let mut correlator = Correlator::default();
        let first = || event("web-1", "BackOff", "Back-off restarting failed container", "first");
        let Decision::Create(created) = correlator.decide(first(), Instant::now()) else {
            panic!("the first event is created")
        };
        assert_eq!(created.count, Some(1));
        assert!(matches!(correlator.decide(first(), Instant::now()), Decision::Skip), "too soon");
        tokio::time::advance(REPEAT_INTERVAL).await;
        let Decision::Repeat { name, count, fallback, .. } = correlator.decide(first(), Instant::now())
        else {
            panic!("a repeat updates the event")
        };
        assert_eq!((name.as_str(), count, fallback.count), ("first", 3, Some(3)));
        // Another message is another event.
        let other = event("web-1", "BackOff", "something else", "second");
        assert!(matches!(correlator.decide(other, Instant::now()), Decision::Create(_)));
    }
}
