//! Per-container resource limits: a memory limiter that caps the guest's total memory, and the CPU quota that the
//! epoch callback turns into throttling.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use wasmtime::ResourceLimiter;

use crate::stats::Usage;

/// Bytes one table element is charged, whatever its type: a pointer on the host.
const TABLE_ELEMENT_BYTES: usize = 8;

/// Caps the sum of all linear memories and tables of one store (one container), not each one separately as
/// `StoreLimits` does: a guest cannot escape its limit by creating more memories.
#[derive(Debug)]
pub struct MemoryLimiter {
    /// The cap in bytes (`None`: only the pooling allocator's per-memory maximum applies).
    limit: Option<usize>,
    /// Bytes currently granted across memories and tables.
    used: usize,
    /// Set once a growth was refused, so a trap that follows is reported as OOMKilled.
    refused: bool,
    /// Where the bytes granted are published for the usage summary.
    usage: Arc<Usage>,
}

impl MemoryLimiter {
    /// A limiter with a cap of `limit` bytes in total, publishing what it granted to `usage`.
    pub fn new(limit: Option<u64>, usage: Arc<Usage>) -> Self {
        Self {
            limit: limit.map(|l| usize::try_from(l).unwrap_or(usize::MAX)),
            used: 0,
            refused: false,
            usage,
        }
    }

    /// Whether a growth was refused because of the limit.
    pub fn refused(&self) -> bool {
        self.refused
    }

    /// Bytes granted so far.
    pub fn used(&self) -> usize {
        self.used
    }

    fn grow(&mut self, bytes: usize) -> bool {
        let next = self.used.saturating_add(bytes);
        if self.limit.is_some_and(|limit| next > limit) {
            self.refused = true;
            return false;
        }
        self.used = next;
        self.usage.set_memory(next as u64);
        true
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.grow(desired.saturating_sub(current)))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.grow(desired.saturating_sub(current).saturating_mul(TABLE_ELEMENT_BYTES)))
    }

    // A component made by the Rust toolchain uses a handful of core instances, memories and tables; these caps only
    // stop a guest from exhausting the node's pool with many small ones.
    fn instances(&self) -> usize {
        64
    }

    fn tables(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        16
    }
}

/// A CPU quota in millicores, turned into a pause after each slice the guest spent running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuQuota {
    millis: u64,
}

impl CpuQuota {
    /// A quota of `millis` thousandths of a core (`None` for zero or more than a core: no throttling needed).
    pub fn new(millis: u64) -> Option<Self> {
        (millis > 0 && millis < 1000).then_some(Self { millis })
    }

    /// How long to pause after running for `ran`, so that running time is `millis / 1000` of wall time.
    pub fn pause_after(self, ran: Duration) -> Duration {
        ran.saturating_mul((1000 - self.millis) as u32) / self.millis as u32
    }
}

/// One CPU quota shared by every guest instance of a container (an HTTP workload runs one per request): each
/// slice any of them runs is charged against one budget, so that together they stay within the quota.
#[derive(Debug)]
pub struct CpuPacer {
    quota: CpuQuota,
    /// When the budget allows the next slice to start (`None`: it never ran, so it may at once).
    available_at: Mutex<Option<Instant>>,
}

impl CpuPacer {
    /// A pacer for `quota`.
    pub fn new(quota: CpuQuota) -> Self {
        Self { quota, available_at: Mutex::new(None) }
    }

    /// Charges a slice that ran for `ran` until `now`; returns how long its instance must pause. Alone, an
    /// instance pauses [`CpuQuota::pause_after`] its slice; instances running together queue behind each other's
    /// charges.
    pub fn charge(&self, ran: Duration, now: Instant) -> Duration {
        let cost = ran + self.quota.pause_after(ran);
        let mut available_at = self.available_at.lock().unwrap_or_else(PoisonError::into_inner);
        let ran_from = now.checked_sub(ran).unwrap_or(now);
        let started = available_at.map_or(ran_from, |at| at.max(ran_from));
        let next = started + cost;
        *available_at = Some(next);
        next.saturating_duration_since(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_sums_memories_and_tables() {
        let usage = Arc::new(Usage::default());
        let mut limiter = MemoryLimiter::new(Some(10 << 20), usage.clone());
        assert!(limiter.memory_growing(0, 4 << 20, None).unwrap());
        assert!(limiter.memory_growing(0, 4 << 20, None).unwrap(), "a second memory fits the total");
        assert!(!limiter.memory_growing(0, 4 << 20, None).unwrap(), "a third one exceeds the total");
        assert!(limiter.refused());
        assert!(limiter.table_growing(0, 1000, None).unwrap());
        assert_eq!(limiter.used(), (8 << 20) + 8000);
        assert_eq!(usage.memory(), (8 << 20) + 8000, "published for the usage summary");
    }

    #[test]
    fn limiter_without_limit_grants_everything() {
        let mut limiter = MemoryLimiter::new(None, Arc::default());
        assert!(limiter.memory_growing(0, 1 << 40, None).unwrap());
        assert!(!limiter.refused());
    }

    #[test]
    fn cpu_quota_pauses_in_proportion() {
        assert_eq!(CpuQuota::new(0), None);
        assert_eq!(CpuQuota::new(1000), None);
        let quarter = CpuQuota::new(250).unwrap();
        assert_eq!(quarter.pause_after(Duration::from_millis(10)), Duration::from_millis(30));
        let tenth = CpuQuota::new(100).unwrap();
        assert_eq!(tenth.pause_after(Duration::from_millis(10)), Duration::from_millis(90));
    }

    #[test]
    fn instances_sharing_a_pacer_share_its_quota() {
        let ms = Duration::from_millis;
        let now = Instant::now();
        let alone = CpuPacer::new(CpuQuota::new(100).unwrap());
        assert_eq!(alone.charge(ms(10), now), ms(90), "one instance: as its own quota");
        let shared = CpuPacer::new(CpuQuota::new(100).unwrap());
        assert_eq!(shared.charge(ms(10), now), ms(90));
        assert_eq!(shared.charge(ms(10), now), ms(190), "the second waits for the first's budget too");
        let later = now + ms(500);
        assert_eq!(shared.charge(ms(10), later), ms(90), "an idle budget does not accumulate");
    }
}
