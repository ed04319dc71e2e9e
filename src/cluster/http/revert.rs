//! `POST /v1/job/:id/revert`: re-register a retained earlier version as the newest one
//! (with `EnforcePriorVersion` as a check on the current version).

use axum::extract::{Path, Query};
use serde::Deserialize;

use super::Ctx;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::jobs::written;
use super::query::QueryParams;
use crate::cluster::server::endpoints::RevertRequest as Revert;

/// Body of `POST /v1/job/:id/revert`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RevertRequest {
    /// The job (must match the path when given).
    #[serde(default, rename = "JobID")]
    pub job_id: String,
    /// The version to go back to.
    pub job_version: u64,
    /// Revert only if the current version is this one.
    #[serde(default)]
    pub enforce_prior_version: Option<u64>,
}

/// `POST|PUT /v1/job/:id/revert`.
pub async fn revert(
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<QueryParams>,
    JsonBody(req): JsonBody<RevertRequest>,
) -> ApiResult {
    if !req.job_id.is_empty() && req.job_id != id {
        return Err(ApiError::bad_request("Job ID does not match"));
    }
    let revert = Revert {
        job_id: id,
        namespace: q.namespace().to_owned(),
        job_version: req.job_version,
        enforce_prior_version: req.enforce_prior_version,
    };
    written(ctx.node.revert_job(revert).await?)
}
