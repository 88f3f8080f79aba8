//! One module per verb.

pub mod up;
