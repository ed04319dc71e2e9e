//! The JSON body extractor: any unreadable, oversized or malformed body is a 400 with a
//! plain-text reason, never a panic or a framework-specific status.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Largest accepted API request body.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// A request body decoded from JSON.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::bad_request(format!(
                "Request body could not be read (limit {MAX_BODY} bytes): {e}"
            ))
        })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request(format!("Failed to parse JSON input: {e}")))
    }
}
