//! One module per verb.

pub mod node;
pub mod scheduler;
pub mod up;
