//! `POST /v1/job/:id/revert`: re-register a retained earlier version as the newest one
//! (with `EnforcePriorVersion` as a check on the current version), through Raft like any
//! registration, so the job gets a new version and an evaluation.

use axum::extract::{Path, Query};
use serde::Deserialize;

use super::Ctx;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::jobs::{job_eval, now_nanos, write_response};
use super::query::QueryParams;
use crate::cluster::fsm::{Command, JobRegister};

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
    ctx.node.read_barrier().await?;
    let ns = q.namespace().to_owned();
    let (job, submission, job_modify_index) = {
        let state = ctx.node.state().read();
        let rec = state
            .job(&ns, &id)
            .ok_or_else(|| ApiError::not_found("job not found"))?;
        let current = rec.current().version.unwrap_or(0);
        if let Some(prior) = req.enforce_prior_version
            && prior != current
        {
            return Err(ApiError::bad_request(format!(
                "Current job has version {current}; enforcing version {prior}"
            )));
        }
        if req.job_version == current {
            return Err(ApiError::bad_request(format!(
                "can't revert to current version {current}"
            )));
        }
        let old = rec.version(req.job_version).ok_or_else(|| {
            ApiError::bad_request(format!("job {id:?} at version {} not found", req.job_version))
        })?;
        (old.job.clone(), old.submission.clone(), rec.job_modify_index())
    };
    let eval = job_eval(&job, "job-register", 0);
    let cmd = Command::JobRegister(Box::new(JobRegister {
        job,
        submission,
        // The current version must still be the one checked above.
        enforce_index: Some(job_modify_index),
        eval,
        submit_time: now_nanos(),
    }));
    let resp = ctx.node.write(cmd).await?;
    write_response(resp.index, resp.outcome)
}
