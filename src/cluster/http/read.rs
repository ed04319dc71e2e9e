//! Shared plumbing of read endpoints: the request's read options and the indexed answer
//! (`X-Nomad-Index`).

use axum::response::Response;
use serde::Serialize;

use super::error::ApiError;
use super::query::{QueryParams, indexed_json};
use crate::cluster::server::endpoints::{Indexed, ReadOptions};

impl QueryParams {
    /// The blocking index, wait and staleness of the request.
    pub fn read_options(&self) -> Result<ReadOptions, ApiError> {
        let blocking = self.blocking()?;
        Ok(ReadOptions {
            min_index: blocking.min_index,
            wait: blocking.wait,
            stale: self.stale(),
        })
    }
}

/// The answer to a read: its value as JSON with `X-Nomad-Index`.
pub fn answer<T: Serialize>(found: Indexed<T>) -> Response {
    indexed_json(found.index, &found.value)
}
