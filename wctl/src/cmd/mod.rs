//! One module per verb.

pub mod controllers;
pub mod node;
pub mod scheduler;
pub mod up;
