//! `PUT /v1/system/gc`: collect every finished job, evaluation, allocation and deployment now,
//! whatever its age, as Nomad's `nomad system gc`.

use axum::response::IntoResponse;

use super::Ctx;
use super::error::ApiResult;

/// `PUT /v1/system/gc`: a full collection, thresholds ignored; answers once it is applied.
pub async fn gc(ctx: Ctx) -> ApiResult {
    ctx.node.collect_garbage_now().await?;
    Ok(().into_response())
}
