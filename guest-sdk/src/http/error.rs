//! Errors a handler answers with: a status and a message for the client, as `{"error": "..."}`.

use std::fmt;

use super::message::Response;

/// What a handler returns.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error answer: a status code and a message the client may see. Causes the client must not see (a file
/// system error, an upstream's details) go through [`Error::internal`], which logs them and answers 500.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    status: u16,
    message: String,
}

impl Error {
    /// An answer with this status and message.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, message)
    }

    /// 500 Internal Server Error: `cause` is logged (at `error`, with the status) and the client is told only
    /// that something failed.
    pub fn internal(cause: impl fmt::Display) -> Self {
        crate::log::error!("request failed", cause = cause.to_string(), status = 500);
        Self::new(500, "internal error")
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The message for the client.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The response: `{"error": message}` with the status.
    pub fn into_response(self) -> Response {
        Response::json(self.status, &serde_json::json!({ "error": self.message }))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    /// A file system failure is the service's own: logged, and answered 500.
    fn from(e: std::io::Error) -> Self {
        Self::internal(e)
    }
}

impl From<crate::config::Error> for Error {
    /// A setting the service cannot read is its deployment's fault: logged, and answered 500.
    fn from(e: crate::config::Error) -> Self {
        Self::internal(e)
    }
}
