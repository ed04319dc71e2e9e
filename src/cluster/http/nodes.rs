//! `/v1/nodes`, `/v1/node/:id` and `/v1/node/:id/eligibility`. (Clients register through the
//! RPC routes, `rpc::clients`.)

use axum::extract::{Path, Query};
use serde::Deserialize;
use serde_json::json;

use super::Ctx;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json};
use super::read::answer;

/// `GET /v1/nodes?prefix=`: node stubs.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    Ok(answer(ctx.node.node_stubs(&q.read_options()?, q.prefix()).await?))
}

/// `GET /v1/node/:id`: the node, without its secret.
pub async fn read(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    Ok(answer(ctx.node.client_node(&q.read_options()?, &id).await?))
}

/// Body of `POST /v1/node/:id/eligibility`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EligibilityRequest {
    /// `eligible` or `ineligible`.
    pub eligibility: String,
    /// The node (may repeat the path's).
    #[serde(default, rename = "NodeID")]
    pub node_id: String,
}

/// `POST /v1/node/:id/eligibility`.
pub async fn eligibility(
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<EligibilityRequest>,
) -> ApiResult {
    let eligible = match req.eligibility.as_str() {
        "eligible" => true,
        "ineligible" => false,
        other => {
            return Err(ApiError::bad_request(format!(
                "invalid scheduling eligibility {other:?}"
            )));
        }
    };
    if !req.node_id.is_empty() && req.node_id != id {
        return Err(ApiError::bad_request("node ID does not match the path"));
    }
    let index = ctx.node.set_node_eligibility(id, eligible).await?;
    Ok(indexed_json(
        index,
        &json!({"NodeModifyIndex": index, "EvalIDs": [], "EvalCreateIndex": 0, "Index": index}),
    ))
}
