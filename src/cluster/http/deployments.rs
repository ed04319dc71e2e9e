//! `/v1/deployments` and `/v1/deployment/...`: list, read, allocations, and the operator's
//! actions (fail, pause or resume, promote canaries, unblock, set allocation health).

use axum::extract::{Path, Query};
use serde::Deserialize;
use serde_json::json;

use super::Ctx;
use super::body::{JsonBody, JsonOrEmpty};
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json};
use super::read::answer;
use crate::cluster::server::endpoints::{DeploymentActionDone, PromoteRequest as Promote};

/// `GET /v1/deployments?prefix=&namespace=`.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    let opts = q.read_options()?;
    Ok(answer(
        ctx.node.deployments(&opts, q.namespace(), q.prefix()).await?,
    ))
}

/// `GET /v1/deployment/:id`.
pub async fn read(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    Ok(answer(ctx.node.deployment(&q.read_options()?, &id).await?))
}

/// `GET /v1/deployment/allocations/:id`.
pub async fn allocations(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    Ok(answer(ctx.node.deployment_allocs(&q.read_options()?, &id).await?))
}

/// Body of `POST /v1/deployment/pause/:id`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PauseRequest {
    /// Pause (true) or resume (false).
    #[serde(default)]
    pub pause: bool,
}

/// Body of `POST /v1/deployment/promote/:id`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PromoteRequest {
    /// Promote every group.
    #[serde(default)]
    pub all: bool,
    /// Groups to promote.
    #[serde(default)]
    pub groups: Option<Vec<String>>,
}

/// Nomad's answer to a deployment action.
fn acted(done: DeploymentActionDone) -> ApiResult {
    Ok(indexed_json(
        done.index,
        &json!({
            "EvalID": done.eval_id,
            "EvalCreateIndex": done.eval_create_index,
            "DeploymentModifyIndex": done.index,
            "RevertedJobVersion": null,
            "Index": done.index,
        }),
    ))
}

/// `POST /v1/deployment/fail/:id`.
pub async fn fail(ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    acted(ctx.node.fail_deployment(&id).await?)
}

/// `POST /v1/deployment/pause/:id`.
pub async fn pause(ctx: Ctx, Path(id): Path<String>, JsonBody(req): JsonBody<PauseRequest>) -> ApiResult {
    acted(ctx.node.pause_deployment(&id, req.pause).await?)
}

/// `POST /v1/deployment/promote/:id`: promote the canaries of all or some groups.
pub async fn promote(
    ctx: Ctx,
    Path(id): Path<String>,
    JsonOrEmpty(req): JsonOrEmpty<PromoteRequest>,
) -> ApiResult {
    let promote = Promote {
        all: req.all,
        groups: req.groups.unwrap_or_default(),
    };
    acted(ctx.node.promote_deployment(&id, promote).await?)
}

/// Body of `POST /v1/deployment/allocation-health/:id`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AllocHealthRequest {
    /// Must match the path when given.
    #[serde(default, rename = "DeploymentID")]
    pub deployment_id: String,
    /// Allocations to mark healthy.
    #[serde(default, rename = "HealthyAllocationIDs")]
    pub healthy_allocation_ids: Option<Vec<String>>,
    /// Allocations to mark unhealthy (Nomad's JSON decoding ignores case: python-nomad sends
    /// `UnHealthyAllocationIDs`).
    #[serde(default, rename = "UnhealthyAllocationIDs", alias = "UnHealthyAllocationIDs")]
    pub unhealthy_allocation_ids: Option<Vec<String>>,
}

/// At most this many allocation IDs in one request.
const MAX_HEALTH_IDS: usize = 10_000;

/// `POST /v1/deployment/allocation-health/:id`: mark allocations healthy or unhealthy.
pub async fn allocation_health(
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<AllocHealthRequest>,
) -> ApiResult {
    if !req.deployment_id.is_empty() && req.deployment_id != id {
        return Err(ApiError::bad_request("Deployment ID does not match"));
    }
    let healthy = req.healthy_allocation_ids.unwrap_or_default();
    let unhealthy = req.unhealthy_allocation_ids.unwrap_or_default();
    if healthy.len() + unhealthy.len() > MAX_HEALTH_IDS {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_HEALTH_IDS} allocation IDs in one request"
        )));
    }
    let done = ctx.node.set_alloc_health(&id, healthy, unhealthy).await?;
    let d = done.done;
    Ok(indexed_json(
        d.index,
        &json!({
            "EvalID": d.eval_id,
            "EvalCreateIndex": d.eval_create_index,
            "DeploymentModifyIndex": d.index,
            "RevertedJobVersion": done.reverted_job_version,
            "Index": d.index,
        }),
    ))
}

/// `POST /v1/deployment/unblock/:id`: only multiregion deployments block; none do here.
pub async fn unblock(ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    acted(ctx.node.unblock_deployment(&id).await?)
}
