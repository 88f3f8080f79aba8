//! The garbage collector: removes objects whose owners are gone, and completes Foreground and Orphan deletes.
//!
//! - [`plan`]: the pure decisions;
//! - [`controller`]: the loop that applies them.

pub mod controller;
pub mod plan;
