//! Operator actions on allocations and nodes: `POST /v1/allocation/:id/stop` (stop and
//! replace elsewhere) and `POST /v1/node/:id/drain` (move allocations off a node).

use axum::extract::{Path, Query};
use serde::Deserialize;
use serde_json::json;

use super::Ctx;
use super::body::JsonBody;
use super::error::ApiResult;
use super::query::{QueryParams, indexed_json};
use crate::cluster::server::endpoints::DrainRequest as Drain;

/// `POST|PUT /v1/allocation/:id/stop`: the allocation is stopped and the scheduler places
/// its replacement, as a migration.
pub async fn alloc_stop(ctx: Ctx, Path(id): Path<String>, Query(_q): Query<QueryParams>) -> ApiResult {
    let (index, eval_id) = ctx.node.stop_alloc(&id).await?;
    Ok(indexed_json(index, &json!({ "EvalID": eval_id, "Index": index })))
}

/// `DrainSpec` of a drain request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DrainSpec {
    /// Nanoseconds before remaining allocations are stopped (-1: none).
    #[serde(default)]
    pub deadline: i64,
    /// Leave system jobs running.
    #[serde(default)]
    pub ignore_system_jobs: bool,
}

/// Body of `POST /v1/node/:id/drain`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DrainRequest {
    /// Start a drain (absent or null: stop draining).
    #[serde(default)]
    pub drain_spec: Option<DrainSpec>,
    /// When stopping a drain, make the node eligible again. (`Meta` is accepted and not kept.)
    #[serde(default)]
    pub mark_eligible: bool,
}

/// `POST|PUT /v1/node/:id/drain`.
pub async fn node_drain(
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<DrainRequest>,
) -> ApiResult {
    let drain = Drain {
        deadline: req.drain_spec.as_ref().map(|s| s.deadline),
        ignore_system_jobs: req.drain_spec.is_some_and(|s| s.ignore_system_jobs),
        mark_eligible: req.mark_eligible,
    };
    let done = ctx.node.drain_node(&id, drain).await?;
    let index = done.eval_create_index.max(done.node_modify_index);
    Ok(indexed_json(
        index,
        &json!({
            "EvalIDs": done.eval_ids,
            "EvalCreateIndex": done.eval_create_index,
            "NodeModifyIndex": done.node_modify_index,
            "Index": index,
        }),
    ))
}
