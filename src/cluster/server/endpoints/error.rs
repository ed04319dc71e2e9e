//! Why an endpoint refused or failed, in the words the API answers with.

use thiserror::Error;

use crate::cluster::error::ClusterError;
use crate::cluster::fsm::Outcome;
use crate::cluster::keyring::KeyringError;

/// An endpoint's failure; the HTTP layer maps each kind to a status code.
#[derive(Debug, Error)]
pub enum EndpointError {
    /// The request is invalid (400).
    #[error("{0}")]
    BadRequest(String),
    /// The caller may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// What the request names does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The server could not answer (500).
    #[error("{0}")]
    Internal(String),
    /// The cluster runtime failed (500).
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

impl EndpointError {
    /// 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    /// 404 with `message`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    /// The error an outcome no endpoint expects stands for.
    pub(crate) fn unexpected(outcome: Outcome) -> Self {
        match outcome {
            Outcome::NotFound { message } => Self::NotFound(message),
            Outcome::Refused { message } => Self::BadRequest(message),
            Outcome::JobIndexConflict { message } => Self::Internal(message),
            other => Self::Internal(format!("unexpected outcome {other:?}")),
        }
    }
}

impl From<KeyringError> for EndpointError {
    /// A keyring failure is the server's (500): a missing or mismatched KEK, or damaged data.
    fn from(e: KeyringError) -> Self {
        Self::Internal(format!("keyring: {e}"))
    }
}
