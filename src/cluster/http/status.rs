//! `/v1/status/leader` and `/v1/status/peers`.

use axum::response::IntoResponse;

use super::query::indexed_json;
use super::{Ctx, error::ApiResult};

/// The leader's address as a JSON string ("" when there is none).
pub async fn leader(ctx: Ctx) -> ApiResult {
    let node = &ctx.node;
    Ok(indexed_json(
        node.state().index(),
        &node.leader_addr().unwrap_or_default(),
    )
    .into_response())
}

/// The voting servers' addresses.
pub async fn peers(ctx: Ctx) -> ApiResult {
    let node = &ctx.node;
    Ok(indexed_json(node.state().index(), &node.peers()))
}
