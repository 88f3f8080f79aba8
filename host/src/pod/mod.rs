//! One pod's life on the node: `state` decides (pure, table-tested), `task` does (pulls images, prepares
//! volumes, runs guests, reports status and events), `eviction` measures emptyDir volumes against their limits, `probe` runs startup, readiness and liveness probes.

pub mod eviction;
pub mod probe;
pub mod state;
pub mod task;
