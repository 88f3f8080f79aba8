//! The Job controller: runs pods to completion, `completions` of them at most `parallelism` at a time,
//! until they succeed, fail `backoffLimit` times or outlive `activeDeadlineSeconds`; deletes finished Jobs
//! after `ttlSecondsAfterFinished`.
//!
//! - [`plan`]: the pure decision (pods to create and delete, status, conditions, events, expiry);
//! - [`indexes`]: completion indexes of Indexed Jobs;
//! - [`pod`]: the pod made from the template;
//! - [`controller`]: the loop that applies the plan.

pub mod controller;
pub mod indexes;
pub mod plan;
pub mod pod;
