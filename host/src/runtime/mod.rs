//! The wasm runtime of a node: one wasmtime `Engine` (pooling allocator where the address space allows it, epoch
//! interruption driven by a ticker thread), the linkers for WASIp1 modules and WASIp2 commands, the compiled-code
//! cache, and the tokio runtime the guests run on (kept apart from the agent's, so that guests cannot delay the
//! agent's API traffic).

mod cache;
mod directory;
mod exec;
mod http;
mod network;
mod outgoing;
mod sockets;
mod stdin;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

pub use cache::{Program, ProgramKind};
pub use directory::{Directory, Io, Lookup, Opening, Protocol, Route, ServiceDirectory};
pub use exec::{Control, Exit, ExitReason, GuestSpec};
pub use http::{ContextFactory, HttpLimits, HttpServe};
pub use network::{Dial, OnRefused, PodNetwork, Refusal, Resolve};

/// How often the epoch advances: the length of one time slice.
pub const TICK: Duration = Duration::from_millis(10);

/// Errors of the runtime.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine could not be configured.
    #[error("cannot configure the wasm engine: {0}")]
    Engine(String),
    /// The bytes are not a WebAssembly module or component.
    #[error("not a WebAssembly module or component")]
    NotWasm,
    /// Compilation or linking failed.
    #[error("cannot compile the wasm program: {0}")]
    Compile(String),
    /// The guest runtime could not be started.
    #[error("cannot start the guest runtime")]
    Threads(#[source] std::io::Error),
    /// The compiled-code cache could not be written.
    #[error("cannot write the compiled-code cache at {path}")]
    Cache {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// How the runtime is set up.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where compiled code is kept between restarts.
    pub cache_dir: PathBuf,
    /// How many pods the pooling allocator must hold at once.
    pub max_pods: u32,
    /// Worker threads of the guest runtime.
    pub threads: usize,
}

/// The node's wasm runtime. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    pooling: bool,
    cache: cache::Cache,
    /// One gate per program being loaded, so that replicas starting together compile it once, not once each.
    loading: crate::once::Gates<String>,
    guests: GuestThreads,
    /// The node's HTTP instances that may exist at once: the share of the pool kept for them, so that a flood of
    /// requests to one pod waits for a slot instead of taking every other pod's.
    http_slots: Arc<tokio::sync::Semaphore>,
}

/// The tokio runtime guests run on, shut down without blocking when the node stops.
struct GuestThreads(Option<tokio::runtime::Runtime>);

impl Drop for GuestThreads {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl Runtime {
    /// Builds the engine, starts the epoch ticker and the guest threads, and opens the cache.
    pub fn new(config: &RuntimeConfig) -> Result<Self, Error> {
        let pooling = pooling_supported();
        let cow = copy_on_write_images(config.max_pods);
        let engine = build_engine(pooling.then_some(config.max_pods), cow)
            .or_else(|_| build_engine(None, cow))
            .map_err(|e| Error::Engine(format!("{e:#}")))?;
        start_ticker(&engine);
        let guests = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.threads.max(1))
            .thread_name("wharf-guest")
            .enable_all()
            .build()
            .map_err(Error::Threads)?;
        let cache = cache::Cache::new(&engine, config.cache_dir.clone())?;
        tracing::info!(pooling, copy_on_write_images = cow, "wasm runtime ready");
        let loading = crate::once::Gates::default();
        let http_slots = Arc::new(tokio::sync::Semaphore::new(http_slots(config.max_pods) as usize));
        let guests = GuestThreads(Some(guests));
        Ok(Self { inner: Arc::new(Inner { engine, pooling, cache, loading, guests, http_slots }) })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Whether the pooling allocator is in use.
    pub fn pooling(&self) -> bool {
        self.inner.pooling
    }

    /// Whether the program with this digest is ready in memory, so that [`Self::load`] returns at once.
    pub fn loaded(&self, digest: &str) -> bool {
        self.inner.cache.memory(digest).is_some()
    }

    /// Compiles `wasm` (or loads its compiled code from the cache), keyed by its sha256 `digest`.
    pub async fn load(&self, digest: &str, wasm: Arc<[u8]>) -> Result<Program, Error> {
        if let Some(program) = self.inner.cache.memory(digest) {
            return Ok(program);
        }
        let _turn = self.inner.loading.turn(&digest.to_owned()).await;
        // Whoever held the gate before may have loaded it.
        if let Some(program) = self.inner.cache.memory(digest) {
            return Ok(program);
        }
        let this = self.clone();
        let key = digest.to_owned();
        // Compiling takes tens of milliseconds of CPU: keep it off the async workers.
        tokio::task::spawn_blocking(move || this.inner.cache.load(&this.inner.engine, &key, &wasm))
            .await
            .map_err(|e| Error::Compile(e.to_string()))?
    }

    /// Runs one container's guest to its end on the guest threads.
    pub async fn run(&self, program: Program, spec: GuestSpec, control: Arc<Control>) -> Exit {
        let engine = self.inner.engine.clone();
        let handle = self.guest_handle();
        let slots = self.inner.http_slots.clone();
        match handle.spawn(exec::run(engine, program, spec, slots, control)).await {
            Ok(exit) => exit,
            Err(e) => Exit::error(ExitReason::Error, 137, format!("the guest task ended abnormally: {e}")),
        }
    }

    fn guest_handle(&self) -> tokio::runtime::Handle {
        match &self.inner.guests.0 {
            Some(rt) => rt.handle().clone(),
            None => tokio::runtime::Handle::current(),
        }
    }
}

/// Like `wasmtime serve`: use the pooling allocator only when a 42-bit address-space reservation succeeds, which
/// is not the case under some `ulimit -v` settings or on small address spaces.
fn pooling_supported() -> bool {
    const BITS: u32 = 42;
    let mut config = Config::new();
    config.wasm_memory64(true);
    config.memory_reservation(1 << BITS);
    let Ok(engine) = Engine::new(&config) else { return false };
    let mut store = wasmtime::Store::new(&engine, ());
    let ty = wasmtime::MemoryType::new64(0, Some(1 << (BITS - 16)));
    wasmtime::Memory::new(&mut store, ty).is_ok()
}

/// Guest stacks the pool holds for `pods` pods: one each, plus a quarter for pods running several containers at
/// once. The pool maps every stack (and its guard page) up front, so this is what sets the agent's baseline of
/// memory mappings.
fn pooled_stacks(pods: u32) -> u32 {
    pods.saturating_add(pods / 4).saturating_add(16)
}

/// Linux's cap on one process's memory mappings (`vm.max_map_count`, 65,530 by default), where it can be read.
#[cfg(target_os = "linux")]
fn max_map_count() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count").ok().and_then(|s| s.trim().parse().ok())
}

/// macOS and Windows have no such cap on a process's mappings to keep within.
#[cfg(not(target_os = "linux"))]
fn max_map_count() -> Option<u64> {
    None
}

/// HTTP instances a node of `pods` pods may run at once, beyond one guest per pod: as many as pods, at least 64
/// (one pod's default concurrency) and at most 1,024 (to stay within the mapping limit at 10,000 pods).
fn http_slots(pods: u32) -> u32 {
    pods.clamp(64, 1024)
}

/// Mappings a node running `max_pods` guests needs: two per pooled stack (stack and guard page) and, per live
/// linear memory, two, or four with copy-on-write memory images (the module's data is mapped into the middle of
/// the memory), plus room for everything else; HTTP instances count as guests.
fn mappings_needed(max_pods: u32, cow: bool) -> u64 {
    let per_memory = if cow { 4 } else { 2 };
    let http = u64::from(http_slots(max_pods));
    2 * (u64::from(pooled_stacks(max_pods)) + http) + per_memory * (u64::from(max_pods) + http) + 4096
}

/// Whether to use copy-on-write memory images. They make starting and ending a guest several times cheaper, but
/// cost two more mappings per linear memory, so a node whose `max_pods` would then pass the mapping limit copies
/// data segments instead. Past the limit, starting a guest fails with an allocation error: warn about that.
fn copy_on_write_images(max_pods: u32) -> bool {
    let Some(limit) = max_map_count() else { return true };
    if mappings_needed(max_pods, true) <= limit {
        return true;
    }
    let needed = mappings_needed(max_pods, false);
    if needed > limit {
        tracing::warn!(
            max_pods,
            needed,
            limit,
            "a full node needs more memory mappings than vm.max_map_count allows; raise it \
             (sysctl -w vm.max_map_count={needed}) or lower the node's maximum pods"
        );
    } else {
        tracing::info!(
            max_pods,
            limit,
            "copy-on-write memory images are off to stay within vm.max_map_count"
        );
    }
    false
}

fn build_engine(pool_pods: Option<u32>, cow: bool) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.memory_init_cow(cow);
    if let Some(pods) = pool_pods {
        let pods = pods.max(16);
        // Every pod's guest, and the HTTP instances on top.
        let guests = pods.saturating_add(http_slots(pods));
        let mut pool = PoolingAllocationConfig::new();
        // A wasm32-wasip2 component made by the Rust toolchain uses several core instances and tables each.
        pool.total_component_instances(guests.saturating_mul(2))
            .total_core_instances(guests.saturating_mul(8))
            .total_memories(pods.saturating_mul(2).saturating_add(http_slots(pods)))
            .total_tables(guests.saturating_mul(8))
            .total_stacks(pooled_stacks(pods).saturating_add(http_slots(pods)))
            .max_memory_size(4 << 30);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    Engine::new(&config)
}

/// Advances the epoch every [`TICK`] until the engine is dropped.
fn start_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new().name("wharf-epoch".into()).spawn(move || {
        loop {
            std::thread::sleep(TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => return,
            }
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the epoch ticker; guests will not be time-sliced");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_needs_grow_with_the_pods_and_copy_on_write_images() {
        // Kubernetes' default of 110 pods fits the default limit either way; 10,000 pods only without images.
        assert!(mappings_needed(110, true) < 65_530);
        assert!(mappings_needed(10_000, true) > 65_530);
        assert!(mappings_needed(10_000, false) < 65_530);
        assert!(mappings_needed(5_000, false) < mappings_needed(5_000, true));
    }
}
