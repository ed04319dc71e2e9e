//! `POST /v1/job/:id/plan`: the plan dry run. The scheduler runs on a snapshot with the
//! submitted job in place of the current version; nothing is committed.
//!
//! The answer is Nomad's `JobPlanResponse`: `Diff` (against the current version, when asked),
//! `Annotations.DesiredTGUpdates`, `FailedTGAllocs` (with our per-node `NodeReasons`),
//! `JobModifyIndex` (for `-check-index`), `NextPeriodicLaunch` and `Warnings`.

use axum::extract::{Path, Query};

use super::Ctx;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json};
use crate::api::JobPlanRequest;
use crate::spec::{Job, validate};

/// Checks a submitted job: its ID matches the path, and `spec::validate` finds no problem
/// (every problem is listed, one per line).
pub fn check_job(job: &Job, path_id: &str) -> Result<(), ApiError> {
    if job.id().is_empty() {
        return Err(ApiError::bad_request("Job ID must be specified"));
    }
    if job.id() != path_id {
        return Err(ApiError::bad_request("Job ID does not match"));
    }
    let problems = validate(job);
    if !problems.is_empty() {
        let lines: Vec<String> = problems.iter().map(|p| format!("* {p}")).collect();
        return Err(ApiError::bad_request(format!(
            "{} error(s) occurred:\n\n{}",
            lines.len(),
            lines.join("\n")
        )));
    }
    Ok(())
}

/// `POST|PUT /v1/job/:id/plan`.
pub async fn plan(
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<QueryParams>,
    JsonBody(req): JsonBody<JobPlanRequest>,
) -> ApiResult {
    let mut job = req.job;
    if job.namespace.as_deref().is_none_or(str::is_empty) {
        job.namespace = Some(q.namespace().to_owned());
    }
    // Stored jobs carry `Stop = false`; an unset field means the same.
    job.stop.get_or_insert(false);
    check_job(&job, &id)?;
    let resp = ctx.node.plan_job(job, req.diff).await?;
    Ok(indexed_json(resp.index, &resp))
}
