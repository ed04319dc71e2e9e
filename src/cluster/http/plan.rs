//! `POST /v1/job/:id/plan`: the plan dry run. The scheduler runs on a snapshot with the
//! submitted job in place of the current version; nothing is committed.
//!
//! The answer is Nomad's `JobPlanResponse`: `Diff` (against the current version, when asked),
//! `Annotations.DesiredTGUpdates`, `FailedTGAllocs` (with our per-node `NodeReasons`),
//! `JobModifyIndex` (for `-check-index`), `NextPeriodicLaunch` and `Warnings`.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query};
use chrono::{DateTime, Utc};

use super::Ctx;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json};
use crate::api::{EvalStatus, Evaluation, JobPlanRequest, JobPlanResponse, triggered_by};
use crate::cluster::scheduler::{SchedRng, SchedulerState, next_launch, schedule};
use crate::cluster::server::sched_view::SchedView;
use crate::spec::diff::diff;
use crate::spec::{Job, validate};

/// Nomad's zero time, sent as `NextPeriodicLaunch` for jobs that are not periodic.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

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
    ctx.node.read_barrier().await?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let (mut view, job_modify_index) = {
        let state = ctx.node.state().read();
        let jmi = state
            .job(job.namespace(), job.id())
            .map_or(0, |r| r.job_modify_index());
        (SchedView::for_job(&state, job.namespace(), job.id()), jmi)
    };
    let current = view.job(job.namespace(), job.id()).cloned();
    let job_diff = req
        .diff
        .then(|| diff(current.as_ref(), Some(&job), &Default::default()));
    let next_periodic = if job.is_periodic() {
        let secs = now.div_euclid(1_000_000_000);
        DateTime::<Utc>::from_timestamp(secs, 0)
            .and_then(|t| next_launch(&job, t))
            .map_or_else(
                || ZERO_TIME.to_owned(),
                |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            )
    } else {
        ZERO_TIME.to_owned()
    };
    let eval = Evaluation {
        id: uuid::Uuid::new_v4().to_string(),
        namespace: job.namespace().to_owned(),
        priority: job.priority.unwrap_or(50),
        r#type: job.job_type().to_owned(),
        triggered_by: triggered_by::JOB_REGISTER.into(),
        job_id: job.id().to_owned(),
        status: EvalStatus::Pending,
        annotate_plan: true,
        create_time: now,
        modify_time: now,
        ..Default::default()
    };
    view.set_candidate(job);
    let mut rng = SchedRng::seeded(now as u64);
    let result = schedule(&view, &eval, &mut rng);
    let index = view.index;
    let resp = JobPlanResponse {
        annotations: Some(result.annotations),
        failed_tg_allocs: (!result.failed_tg_allocs.is_empty()).then_some(result.failed_tg_allocs),
        job_modify_index,
        created_evals: None,
        diff: job_diff.and_then(|d| serde_json::to_value(d).ok()),
        next_periodic_launch: Some(next_periodic),
        warnings: String::new(),
        index,
    };
    Ok(indexed_json(index, &resp))
}
