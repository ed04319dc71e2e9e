//! Nomad-native service discovery: `GET /v1/services` (names and tags per namespace) and
//! `GET /v1/service/:name` (the registered instances), with blocking queries.

use axum::extract::{Path, Query};

use super::Ctx;
use super::error::ApiResult;
use super::query::QueryParams;
use super::read::answer;

/// `GET /v1/services`.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    Ok(answer(
        ctx.node.service_names(&q.read_options()?, q.namespace()).await?,
    ))
}

/// `GET /v1/service/:name`.
pub async fn read(ctx: Ctx, Path(name): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let opts = q.read_options()?;
    Ok(answer(ctx.node.service(&opts, q.namespace(), &name).await?))
}
