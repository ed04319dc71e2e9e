//! `/v1/evaluations`, `/v1/evaluation/:id[/allocations]` and `/v1/job/:id/evaluations`.

use axum::extract::{Path, Query};

use super::Ctx;
use super::error::ApiResult;
use super::query::QueryParams;
use super::read::answer;

/// `GET /v1/evaluations?prefix=&namespace=`: evaluations, oldest first.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    let opts = q.read_options()?;
    Ok(answer(
        ctx.node.evaluations(&opts, q.namespace(), q.prefix()).await?,
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
