//! Errors of the API client.

/// Why an API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The client could not be configured (TLS files, certificates).
    #[error("{0}")]
    Config(String),
    /// The server could not be reached, or the connection broke.
    #[error("{0}")]
    Transport(String),
    /// The server answered with an error status.
    #[error("{method} {path}: {code} {message}")]
    Status {
        /// HTTP method.
        method: String,
        /// Request path.
        path: String,
        /// HTTP status.
        code: u16,
        /// The server's text.
        message: String,
        /// The raw body (a 409 on a variable carries the current value).
        body: Vec<u8>,
    },
    /// The answer was not the JSON expected.
    #[error("{path}: unexpected response ({message}): {body}")]
    Decode {
        /// Request path.
        path: String,
        /// The decoder's message.
        message: String,
        /// The start of the body.
        body: String,
    },
    /// A request body could not be encoded.
    #[error("encoding the request: {0}")]
    Encode(String),
}

impl ApiError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }
}
