//! The defaults the Kubernetes API server applies on every write, per kind.
//!
//! [`ApplyDefaults::apply_defaults`] fills exactly what Kubernetes' `SetDefaults_*` functions fill (and
//! nothing the server allocates, such as cluster IPs or node ports). It is idempotent: applying it twice
//! gives the same object as applying it once. Pod templates in Deployments, `ReplicaSets`, `DaemonSets` and
//! Jobs are defaulted by the same function, so a Deployment's template and the `ReplicaSet` created from it
//! hash identically.
//!
//! [`ApplyDefaults::prepare_update`] is the update-time counterpart for the few kinds where Kubernetes
//! carries values over from the stored object (a Service keeps its allocated cluster IP and node ports when
//! the client omits them).
//!
//! Also here: [`fold_string_data`] (Secret `stringData` into `data`) and [`generate_job_selector`] (the
//! selector and labels the server gives a Job), both of which `apply_defaults` already performs.

mod cluster;
mod pod;
mod rbac;
mod service;
mod workloads;

pub use cluster::fold_string_data;
pub use pod::{default_pod_spec, default_pod_template_spec};
pub use service::prepare_service_update;
pub use workloads::generate_job_selector;

/// Kubernetes' write-time defaulting for one kind.
pub trait ApplyDefaults {
    /// Fills unset fields with Kubernetes' defaults. Idempotent.
    fn apply_defaults(&mut self);

    /// Adjusts an update against the stored object before validation (after `apply_defaults`), where
    /// Kubernetes does so. The default does nothing.
    fn prepare_update(&mut self, old: &Self) {
        let _ = old;
    }
}

/// Sets an unset or empty string option.
fn default_str(field: &mut Option<String>, value: &str) {
    if field.as_deref().is_none_or(str::is_empty) {
        *field = Some(value.to_owned());
    }
}

#[cfg(test)]
mod tests;
