//! API errors: a status code and a plain-text message, as Nomad answers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::cluster::error::ClusterError;
use crate::cluster::server::endpoints::EndpointError;

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Plain-text message.
    pub message: String,
}

impl ApiError {
    /// 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 404 with `message`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    /// 500 with `message`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
        }
    }
}

impl From<ClusterError> for ApiError {
    fn from(e: ClusterError) -> Self {
        Self::internal(e.to_string())
    }
}

impl From<EndpointError> for ApiError {
    fn from(e: EndpointError) -> Self {
        match e {
            EndpointError::BadRequest(m) => Self::bad_request(m),
            EndpointError::NotFound(m) => Self::not_found(m),
            EndpointError::Forbidden(m) => Self {
                status: StatusCode::FORBIDDEN,
                message: m,
            },
            EndpointError::Internal(m) => Self::internal(m),
            EndpointError::Cluster(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.message,
        )
            .into_response()
    }
}

/// What handlers return.
pub type ApiResult = Result<Response, ApiError>;
