//! Actions on one job beyond register and stop: `stable`, `evaluate`, `periodic/force`,
//! `dispatch`, and the read-only `summary`, `deployments` and `deployment`.

use std::collections::BTreeMap;

use axum::extract::{Path, Query};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use super::Ctx;
use super::body::{JsonBody, JsonOrEmpty};
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json};
use super::read::answer;
use crate::cluster::server::endpoints::DispatchRequest as Dispatch;

/// Body of `POST /v1/job/:id/stable`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StableRequest {
    /// Must match the path when given.
    #[serde(default, rename = "JobID")]
    pub job_id: String,
    /// The version to mark.
    #[serde(default)]
    pub job_version: u64,
    /// Stable or not.
    #[serde(default)]
    pub stable: bool,
    /// Namespace (also accepted as a query parameter).
    #[serde(default)]
    pub namespace: Option<String>,
}

/// `POST|PUT /v1/job/:id/stable`.
pub async fn stable(
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<QueryParams>,
    JsonBody(req): JsonBody<StableRequest>,
) -> ApiResult {
    if !req.job_id.is_empty() && req.job_id != id {
        return Err(ApiError::bad_request("Job ID does not match"));
    }
    let namespace = req.namespace.unwrap_or_else(|| q.namespace().to_owned());
    let index = ctx
        .node
        .set_job_stability(namespace, id, req.job_version, req.stable)
        .await?;
    Ok(indexed_json(
        index,
        &json!({ "JobModifyIndex": index, "Index": index }),
    ))
}

/// Body of `POST /v1/job/:id/evaluate`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EvaluateRequest {
    /// Must match the path when given. (`EvalOptions.ForceReschedule` is accepted and has no
    /// effect: failed allocations are rescheduled by their policy.)
    #[serde(default, rename = "JobID")]
    pub job_id: String,
}

/// `POST|PUT /v1/job/:id/evaluate`: a new evaluation of the current job.
pub async fn evaluate(
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<QueryParams>,
    JsonOrEmpty(req): JsonOrEmpty<EvaluateRequest>,
) -> ApiResult {
    if !req.job_id.is_empty() && req.job_id != id {
        return Err(ApiError::bad_request("Job ID does not match"));
    }
    let e = ctx.node.evaluate_job(q.namespace(), &id).await?;
    Ok(indexed_json(
        e.index,
        &json!({
            "EvalID": e.eval_id,
            "EvalCreateIndex": e.index,
            "JobModifyIndex": e.job_modify_index,
            "Index": e.index,
        }),
    ))
}

/// `POST /v1/job/:id/periodic/force`: launch a periodic job's child now.
pub async fn periodic_force(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let e = ctx.node.force_periodic(q.namespace().to_owned(), id).await?;
    Ok(indexed_json(
        e.index,
        &json!({ "EvalID": e.eval_id, "EvalCreateIndex": e.index, "Index": e.index }),
    ))
}

/// Body of `POST /v1/job/:id/dispatch`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DispatchRequest {
    /// Must match the path when given.
    #[serde(default, rename = "JobID")]
    pub job_id: String,
    /// Base64 payload (at most 16 KiB decoded).
    #[serde(default)]
    pub payload: Option<String>,
    /// Meta for the child.
    #[serde(default)]
    pub meta: Option<BTreeMap<String, String>>,
    /// Prefix of the child's ID suffix.
    #[serde(default)]
    pub id_prefix_template: Option<String>,
    /// The write request's token, which Nomad also decodes from the body (the query's
    /// `idempotency_token` wins).
    #[serde(default)]
    pub idempotency_token: Option<String>,
}

/// Query of `POST /v1/job/:id/dispatch`.
#[derive(Debug, Default, Deserialize)]
pub struct DispatchQuery {
    namespace: Option<String>,
    idempotency_token: Option<String>,
}

/// `POST|PUT /v1/job/:id/dispatch`: launch a parameterized job's child.
pub async fn dispatch(
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<DispatchQuery>,
    JsonBody(req): JsonBody<DispatchRequest>,
) -> ApiResult {
    if !req.job_id.is_empty() && req.job_id != id {
        return Err(ApiError::bad_request("Job ID does not match"));
    }
    let payload = match req.payload.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => base64::engine::general_purpose::STANDARD
            .decode(p)
            .map_err(|e| ApiError::bad_request(format!("Payload is not valid base64: {e}")))?,
        None => Vec::new(),
    };
    let dispatch = Dispatch {
        job_id: id,
        namespace: q
            .namespace
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".into()),
        payload,
        meta: req.meta.unwrap_or_default(),
        id_prefix_template: req.id_prefix_template,
        idempotency_token: q
            .idempotency_token
            .or(req.idempotency_token)
            .filter(|t| !t.is_empty()),
    };
    let d = ctx.node.dispatch_job(dispatch).await?;
    Ok(indexed_json(
        d.index,
        &json!({
            "DispatchedJobID": d.dispatched_job_id,
            "EvalID": d.eval_id,
            "EvalCreateIndex": d.eval_create_index,
            "JobCreateIndex": d.job_create_index,
            "Index": d.index,
        }),
    ))
}

/// `GET /v1/job/:id/summary`.
pub async fn summary(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let opts = q.read_options()?;
    Ok(answer(ctx.node.job_summary(&opts, q.namespace(), &id).await?))
}

/// `GET /v1/job/:id/deployments`: newest first.
pub async fn deployments(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let opts = q.read_options()?;
    Ok(answer(ctx.node.job_deployments(&opts, q.namespace(), &id).await?))
}

/// `GET /v1/job/:id/deployment`: the newest deployment, `null` when there is none.
pub async fn latest_deployment(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let opts = q.read_options()?;
    Ok(answer(
        ctx.node.job_latest_deployment(&opts, q.namespace(), &id).await?,
    ))
}
