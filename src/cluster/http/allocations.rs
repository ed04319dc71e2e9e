//! `/v1/allocations`, `/v1/allocation/:id`, `/v1/job/:id/allocations` and
//! `/v1/node/:id/allocations`.

use axum::extract::{Path, Query};

use super::Ctx;
use super::error::ApiResult;
use super::query::QueryParams;
use super::read::answer;

/// `GET /v1/allocations?prefix=&namespace=`.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    let opts = q.read_options()?;
    Ok(answer(
        ctx.node.alloc_stubs(&opts, q.namespace(), q.prefix()).await?,
    ))
}

/// `GET /v1/allocation/:id`: the allocation with its job.
pub async fn read(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    Ok(answer(ctx.node.allocation(&q.read_options()?, &id).await?))
}

/// `GET /v1/job/:id/allocations`.
pub async fn by_job(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let opts = q.read_options()?;
    Ok(answer(ctx.node.job_allocs(&opts, q.namespace(), &id).await?))
}

/// `GET /v1/node/:id/allocations`: full allocations on a node.
pub async fn by_node(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    Ok(answer(ctx.node.node_allocs(&q.read_options()?, &id).await?))
}
