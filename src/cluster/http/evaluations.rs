//! `/v1/evaluations`, `/v1/evaluation/:id[/allocations]` and `/v1/job/:id/evaluations`.

use axum::extract::{Path, Query};

use super::Ctx;
use super::error::{ApiError, ApiResult};
use super::query::QueryParams;
use super::read::answer;
use crate::api::EvalStatus;

/// The `status` filter of the evaluations list (Nomad's `?status=failed`).
#[derive(Debug, Default, serde::Deserialize)]
pub struct StatusFilter {
    /// Only evaluations in this status.
    pub status: Option<EvalStatus>,
}

/// `GET /v1/evaluations?prefix=&namespace=&status=`: evaluations, oldest first.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>, Query(f): Query<StatusFilter>) -> ApiResult {
    if f.status == Some(EvalStatus::Unknown) {
        return Err(ApiError::bad_request(
            "status must be one of pending, complete, failed, blocked, canceled",
        ));
    }
    let opts = q.read_options()?;
    Ok(answer(
        ctx.node
            .evaluations(&opts, q.namespace(), q.prefix(), f.status)
            .await?,
    ))
}

/// `GET /v1/evaluation/:id`.
pub async fn read(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    Ok(answer(ctx.node.evaluation(&q.read_options()?, &id).await?))
}

/// `GET /v1/evaluation/:id/allocations`: stubs of the allocations the evaluation created.
pub async fn allocations(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    Ok(answer(ctx.node.eval_allocs(&q.read_options()?, &id).await?))
}

/// `GET /v1/job/:id/evaluations`: newest first.
pub async fn by_job(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let opts = q.read_options()?;
    Ok(answer(ctx.node.job_evaluations(&opts, q.namespace(), &id).await?))
}
