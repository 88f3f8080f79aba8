//! Usage accounting for `kubectl top`: how much CPU and memory each running container uses, gathered where it is
//! cheapest to know (the guest's own thread and its memory limiter) and read on request by the kubelet summary
//! endpoint ([`summary`]).
//!
//! CPU is the time spent inside polls of the guest's future (running wasm and the host calls it makes), summed
//! per container; it becomes a rate in nanocores against the wall clock between two readings ([`Rate`]). Memory is
//! what the limiter granted to the guest's linear memories and tables, the guest's working set as wasm sees it.

pub mod metrics;
pub mod summary;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Shortest span a CPU rate is computed over: shorter ones are dominated by when the guest happened to run.
const MIN_WINDOW: Duration = Duration::from_secs(1);

/// Counters of one container, shared by its running guest (which writes them) and the summary (which reads them).
#[derive(Debug, Default)]
pub struct Usage {
    cpu_nanos: AtomicU64,
    memory_bytes: AtomicU64,
    running: AtomicBool,
}

impl Usage {
    /// Adds time the guest spent executing.
    pub fn add_cpu(&self, spent: Duration) {
        let nanos = u64::try_from(spent.as_nanos()).unwrap_or(u64::MAX);
        self.cpu_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Records the bytes currently held by the guest's memories and tables.
    pub fn set_memory(&self, bytes: u64) {
        self.memory_bytes.store(bytes, Ordering::Relaxed);
    }

    /// Marks a run of the container as started or ended; an ended run holds no memory.
    pub fn set_running(&self, running: bool) {
        if !running {
            self.set_memory(0);
        }
        self.running.store(running, Ordering::Relaxed);
    }

    /// CPU time used by every run so far, in nanoseconds.
    pub fn cpu_nanos(&self) -> u64 {
        self.cpu_nanos.load(Ordering::Relaxed)
    }

    /// Bytes held now.
    pub fn memory(&self) -> u64 {
        self.memory_bytes.load(Ordering::Relaxed)
    }

    /// Whether a run is in progress.
    pub fn running(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }
}

/// A rate of CPU use from successive readings of a cumulative counter: the growth since the start of the current
/// window over the wall time it spans. A window closes once it is at least [`MIN_WINDOW`] long; readings within
/// it report the previous window's rate (or, before any window closed, the average so far).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    since: Instant,
    base: u64,
    last: Option<u64>,
}

impl Rate {
    /// A rate whose counter stood at `base` at `since`.
    pub fn new(since: Instant, base: u64) -> Self {
        Self { since, base, last: None }
    }

    /// Reads the counter (`total` nanoseconds of CPU) at `now`; returns the rate in nanocores.
    pub fn observe(&mut self, now: Instant, total: u64) -> u64 {
        let wall = now.saturating_duration_since(self.since);
        if wall >= MIN_WINDOW || (self.last.is_none() && !wall.is_zero()) {
            let used = u128::from(total.saturating_sub(self.base));
            let rate = u64::try_from(used * 1_000_000_000 / wall.as_nanos()).unwrap_or(u64::MAX);
            self.last = Some(rate);
            if wall >= MIN_WINDOW {
                (self.since, self.base) = (now, total);
            }
        }
        self.last.unwrap_or(0)
    }
}

/// One container as the meter knows it.
struct Tracked {
    usage: Arc<Usage>,
    rate: Rate,
}

/// One pod as the meter knows it.
struct PodEntry {
    name: String,
    namespace: String,
    containers: BTreeMap<String, Tracked>,
}

/// What one reading of a container gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerReading {
    /// The container's name.
    pub name: String,
    /// CPU rate in nanocores.
    pub nano_cores: u64,
    /// CPU time used so far, in nanoseconds.
    pub cpu_nanos: u64,
    /// Bytes of memory held.
    pub memory: u64,
}

/// What one reading of a pod gives: its running containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodReading {
    /// The pod's name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// Its uid.
    pub uid: String,
    /// Its running containers.
    pub containers: Vec<ContainerReading>,
}

/// The usage counters of every pod on the node.
#[derive(Default)]
pub struct Meter {
    pods: Mutex<HashMap<String, PodEntry>>,
    process: Mutex<Option<Rate>>,
}

impl Meter {
    /// The counters of container `container` of the pod `uid` (`namespace/name`), created on first use and kept
    /// across its restarts.
    pub fn container(&self, uid: &str, namespace: &str, name: &str, container: &str) -> Arc<Usage> {
        let mut pods = self.pods.lock().unwrap_or_else(PoisonError::into_inner);
        let pod = pods.entry(uid.to_owned()).or_insert_with(|| PodEntry {
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            containers: BTreeMap::new(),
        });
        let tracked = pod
            .containers
            .entry(container.to_owned())
            .or_insert_with(|| Tracked { usage: Arc::default(), rate: Rate::new(Instant::now(), 0) });
        tracked.usage.clone()
    }

    /// Forgets a pod.
    pub fn remove(&self, uid: &str) {
        self.pods.lock().unwrap_or_else(PoisonError::into_inner).remove(uid);
    }

    /// Reads every pod with a running container.
    pub fn read(&self, now: Instant) -> Vec<PodReading> {
        let mut pods = self.pods.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = Vec::new();
        for (uid, pod) in pods.iter_mut() {
            let containers: Vec<ContainerReading> = pod
                .containers
                .iter_mut()
                .filter_map(|(name, tracked)| {
                    let cpu_nanos = tracked.usage.cpu_nanos();
                    let nano_cores = tracked.rate.observe(now, cpu_nanos);
                    tracked.usage.running().then(|| ContainerReading {
                        name: name.clone(),
                        nano_cores,
                        cpu_nanos,
                        memory: tracked.usage.memory(),
                    })
                })
                .collect();
            if !containers.is_empty() {
                out.push(PodReading {
                    name: pod.name.clone(),
                    namespace: pod.namespace.clone(),
                    uid: uid.clone(),
                    containers,
                });
            }
        }
        out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        out
    }

    /// The agent process's own CPU rate (guests run inside it) and resident memory, where the system tells them.
    pub fn process(&self, now: Instant) -> Option<(u64, u64, u64)> {
        let (cpu_nanos, rss) = process_usage()?;
        let mut rate = self.process.lock().unwrap_or_else(PoisonError::into_inner);
        let rate = rate.get_or_insert_with(|| Rate::new(now, cpu_nanos));
        Some((rate.observe(now, cpu_nanos), cpu_nanos, rss))
    }
}

/// The process's CPU time (nanoseconds) and resident set (bytes), from `/proc/self` on Linux.
#[cfg(target_os = "linux")]
fn process_usage() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    Some((parse_cpu_nanos(&stat)?, parse_rss(&status)?))
}

/// Elsewhere there is no `/proc`: the summary and metrics go without the agent's own usage (its pods' usage is
/// measured by the agent itself and stays).
#[cfg(not(target_os = "linux"))]
fn process_usage() -> Option<(u64, u64)> {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        tracing::warn!("the node agent's own CPU and memory use are not measured on this platform");
    });
    None
}

/// utime + stime from `/proc/self/stat`, which counts in USER_HZ ticks: 100 per second on every Linux ABI.
#[cfg(any(target_os = "linux", test))]
fn parse_cpu_nanos(stat: &str) -> Option<u64> {
    const NANOS_PER_TICK: u64 = 10_000_000;
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * NANOS_PER_TICK)
}

/// `VmRSS` from `/proc/self/status`, in bytes.
#[cfg(any(target_os = "linux", test))]
fn parse_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_table() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut rate = Rate::new(t0, 0);
        // (reading time in ms, counter in ns, expected nanocores)
        let cases = [
            (0, 0, 0),
            // Before any window closed: the average so far.
            (500, 250_000_000, 500_000_000),
            // The first window closes: 1 s of CPU over 1 s of wall time.
            (1000, 1_000_000_000, 1_000_000_000),
            // Inside the next window: the previous rate.
            (1500, 1_000_000_000, 1_000_000_000),
            // Idle through that window.
            (2000, 1_000_000_000, 0),
            // A quarter core over two seconds.
            (4000, 1_500_000_000, 250_000_000),
        ];
        for (at, total, expected) in cases {
            assert_eq!(rate.observe(ms(at), total), expected, "at {at} ms");
        }
    }

    #[test]
    fn meter_reads_running_containers_only() {
        let meter = Meter::default();
        let web = meter.container("u1", "default", "web", "main");
        let done = meter.container("u2", "default", "batch", "main");
        assert!(Arc::ptr_eq(&web, &meter.container("u1", "default", "web", "main")), "kept across restarts");
        web.set_running(true);
        web.set_memory(4096);
        web.add_cpu(Duration::from_millis(5));
        done.set_running(true);
        done.set_memory(1);
        done.set_running(false);
        let read = meter.read(Instant::now() + Duration::from_secs(1));
        assert_eq!(read.len(), 1, "{read:?}");
        assert_eq!((read[0].name.as_str(), read[0].uid.as_str()), ("web", "u1"));
        let c = &read[0].containers[0];
        assert_eq!((c.memory, c.cpu_nanos), (4096, 5_000_000));
        assert!(c.nano_cores > 0);
        assert_eq!(done.memory(), 0, "an ended run holds no memory");
        meter.remove("u1");
        assert!(meter.read(Instant::now()).is_empty());
    }

    #[test]
    fn proc_files_parse() {
        let stat = "1234 (wharf (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 1 1 1";
        assert_eq!(parse_cpu_nanos(stat), Some(3_000_000_000));
        assert_eq!(parse_rss("Name:\twctl\nVmRSS:\t  2048 kB\n"), Some(2 << 20));
        assert_eq!(parse_cpu_nanos("garbage"), None);
    }
}
