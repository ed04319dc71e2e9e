//! Operator actions on allocations and nodes: `POST /v1/allocation/:id/stop` (stop and
//! replace elsewhere) and `POST /v1/node/:id/drain` (move allocations off a node).

use axum::extract::{Path, Query};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::Ctx;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json};
use crate::api::namespace_or_default;
use crate::api::{DrainStrategy, triggered_by};
use crate::cluster::fsm::{Command, Outcome};
use crate::cluster::server::drainer::drain_evals;
use crate::cluster::server::evals::new_eval;

/// `POST|PUT /v1/allocation/:id/stop`: the allocation is stopped and the scheduler places
/// its replacement, as a migration.
pub async fn alloc_stop(ctx: Ctx, Path(id): Path<String>, Query(_q): Query<QueryParams>) -> ApiResult {
    ctx.node.read_barrier().await?;
    let eval = {
        let state = ctx.node.state().read();
        let alloc = state
            .allocs
            .get(&id)
            .ok_or_else(|| ApiError::not_found(format!("alloc not found: {id}")))?;
        let ns = namespace_or_default(&alloc.namespace);
        let job = state
            .job(ns, &alloc.job_id)
            .map(|r| r.current())
            .ok_or_else(|| ApiError::not_found(format!("job not found: {}", alloc.job_id)))?;
        new_eval(job, triggered_by::ALLOC_STOP, 0)
    };
    let eval_id = eval.id.clone();
    let cmd = Command::AllocStop {
        alloc_ids: vec![id],
        eval: Box::new(eval),
    };
    let resp = ctx.node.write(cmd).await?;
    match resp.outcome {
        Outcome::JobWritten { .. } => Ok(indexed_json(
            resp.index,
            &json!({ "EvalID": eval_id, "Index": resp.index }),
        )),
        Outcome::NotFound { message } => Err(ApiError::not_found(message)),
        other => Err(ApiError::internal(format!("unexpected outcome {other:?}"))),
    }
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
    let now = Utc::now();
    let strategy = req.drain_spec.map(|spec| DrainStrategy {
        deadline: spec.deadline,
        ignore_system_jobs: spec.ignore_system_jobs,
        force_deadline: (spec.deadline > 0)
            .then(|| (now + chrono::Duration::nanoseconds(spec.deadline)).to_rfc3339()),
        started_at: Some(now.to_rfc3339()),
    });
    let draining = strategy.is_some();
    let resp = ctx
        .node
        .write(Command::NodeDrain {
            node_id: id.clone(),
            strategy,
            mark_eligible: req.mark_eligible,
        })
        .await?;
    if let Outcome::NotFound { message } = resp.outcome {
        return Err(ApiError::not_found(message));
    }
    let node_modify_index = resp.index;
    let mut eval_ids = None;
    let mut eval_create_index = 0;
    if draining {
        let evals = drain_evals(&ctx.node.state().read(), &id);
        if !evals.is_empty() {
            eval_ids = Some(evals.iter().map(|e| e.id.clone()).collect::<Vec<_>>());
            eval_create_index = ctx.node.write(Command::EvalUpsert { evals }).await?.index;
        }
    }
    let index = eval_create_index.max(node_modify_index);
    Ok(indexed_json(
        index,
        &json!({
            "EvalIDs": eval_ids,
            "EvalCreateIndex": eval_create_index,
            "NodeModifyIndex": node_modify_index,
            "Index": index,
        }),
    ))
}
