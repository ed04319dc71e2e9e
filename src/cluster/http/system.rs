//! `PUT /v1/system/gc`: collect every finished job, evaluation, allocation and deployment now,
//! whatever its age, as Nomad's `nomad system gc`. `PUT /v1/system/reconcile/summaries`:
//! re-derive every job's status from its allocations and evaluations (the summaries are
//! computed from the allocations on every read, so nothing else can drift).

use axum::response::IntoResponse;

use super::Ctx;
use super::error::ApiResult;
use super::query::set_index;

/// `PUT /v1/system/gc`: a full collection, thresholds ignored; answers once it is applied.
pub async fn gc(ctx: Ctx) -> ApiResult {
    ctx.node.collect_garbage_now().await?;
    Ok(().into_response())
}

/// `PUT /v1/system/reconcile/summaries`: answers, as Nomad, an empty body once applied.
pub async fn reconcile_summaries(ctx: Ctx) -> ApiResult {
    let index = ctx.node.reconcile_summaries().await?;
    let mut resp = ().into_response();
    set_index(resp.headers_mut(), index);
    Ok(resp)
}
