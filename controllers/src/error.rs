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

impl Error {
    /// Whether a write lost an optimistic-concurrency race (409 Conflict): the retry decides again from fresh
    /// state, so it is expected rather than a fault.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Api(kube::Error::Api(status)) if status.code == 409 && status.reason == "Conflict")
    }
}

/// A result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether an API error is this HTTP status.
pub(crate) fn is_status(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == code)
}

/// An error with its causes on one line (`outer: inner: innermost`), for logs.
pub(crate) fn chain<'a>(error: &'a (dyn std::error::Error + 'static)) -> impl std::fmt::Display + 'a {
    Chain(error)
}

struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
