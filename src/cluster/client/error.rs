//! Errors of the client agent.

use thiserror::Error;

use super::driver::DriverError;

/// Something the client could not do.
#[derive(Debug, Error)]
pub enum ClientError {
    /// No server answered.
    #[error("no server reachable ({0})")]
    NoServer(String),
    /// A server refused a request.
    #[error("server answered {status}: {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// Body.
        message: String,
    },
    /// A driver failed.
    #[error(transparent)]
    Driver(#[from] DriverError),
    /// Local files.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The allocation carries no usable job or group.
    #[error("invalid allocation: {0}")]
    InvalidAlloc(String),
    /// A template failed to render.
    #[error("template {dest}: {message}")]
    Template {
        /// Destination of the template.
        dest: String,
        /// Why.
        message: String,
    },
    /// An artifact could not be fetched.
    #[error("artifact {source_url}: {message}")]
    Artifact {
        /// Source URL.
        source_url: String,
        /// Why.
        message: String,
    },
}
