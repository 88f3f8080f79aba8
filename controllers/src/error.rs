//! The controllers' error type.

/// Why a reconcile failed; the controller logs it and retries with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request to the API server failed.
    #[error("api request failed")]
    Api(#[from] kube::Error),
    /// A ReplicaSet cannot be planned.
    #[error("cannot plan the replica set")]
    ReplicaSet(#[from] crate::replicaset::plan::PlanError),
    /// A Deployment cannot be planned.
    #[error("cannot plan the deployment")]
    Deployment(#[from] crate::deployment::plan::PlanError),
    /// A DaemonSet cannot be planned.
    #[error("cannot plan the daemon set")]
    DaemonSet(#[from] crate::daemonset::plan::PlanError),
    /// A Job cannot be planned.
    #[error("cannot plan the job")]
    Job(#[from] crate::job::plan::PlanError),
}

/// A result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether an API error is this HTTP status.
pub(crate) fn is_status(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == code)
}
