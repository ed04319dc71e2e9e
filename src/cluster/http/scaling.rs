//! `/v1/scaling/policies`, `/v1/scaling/policy/:id` and `/v1/job/:id/scale` (read the job's
//! scale status, or change a group's count).

use std::collections::BTreeMap;

use axum::extract::{Path, Query};
use serde::Deserialize;
use serde_json::Value;

use super::Ctx;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::jobs::written;
use super::query::QueryParams;
use super::read::answer;
use crate::cluster::server::endpoints::ScaleRequest;

/// Filters of `GET /v1/scaling/policies`.
#[derive(Debug, Default, Deserialize)]
pub struct PolicyFilters {
    /// Only the policies of this job.
    job: Option<String>,
    /// Only policies whose type starts with this.
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// `GET /v1/scaling/policies?job=&type=&namespace=`.
pub async fn policies(ctx: Ctx, Query(q): Query<QueryParams>, Query(f): Query<PolicyFilters>) -> ApiResult {
    let opts = q.read_options()?;
    let (job, kind) = (f.job.unwrap_or_default(), f.kind.unwrap_or_default());
    Ok(answer(
        ctx.node
            .scaling_policies(&opts, q.namespace(), &job, &kind)
            .await?,
    ))
}

/// `GET /v1/scaling/policy/:id`.
pub async fn policy(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    Ok(answer(ctx.node.scaling_policy(&q.read_options()?, &id).await?))
}

/// `GET /v1/job/:id/scale`: the job's scale status.
pub async fn status(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let opts = q.read_options()?;
    Ok(answer(
        ctx.node.job_scale_status(&opts, q.namespace(), &id).await?,
    ))
}

/// Body of `POST /v1/job/:id/scale`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScaleBody {
    /// The new count.
    #[serde(default)]
    pub count: Option<i64>,
    /// `Group` (required), and `Job` and `Namespace` which must match the request's.
    #[serde(default)]
    pub target: BTreeMap<String, String>,
    /// Description.
    #[serde(default)]
    pub message: String,
    /// Whether the event reports an error.
    #[serde(default)]
    pub error: bool,
    /// Metadata kept with the event.
    #[serde(default)]
    pub meta: Option<BTreeMap<String, Value>>,
    /// Skip the policy's min/max check.
    #[serde(default)]
    pub policy_override: bool,
    /// Check-and-set on `JobModifyIndex`.
    #[serde(default)]
    pub enforce_index: bool,
    /// The `JobModifyIndex` to enforce.
    #[serde(default)]
    pub job_modify_index: u64,
}

/// Longest message kept with a scaling event.
const MAX_MESSAGE: usize = 4096;

/// `POST|PUT /v1/job/:id/scale`: change a group's count (or only record an event).
pub async fn scale(
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<QueryParams>,
    JsonBody(body): JsonBody<ScaleBody>,
) -> ApiResult {
    let namespace = q.namespace().to_owned();
    if body.target.get("Job").is_some_and(|j| !j.is_empty() && *j != id) {
        return Err(ApiError::bad_request("job ID in payload did not match URL"));
    }
    if body
        .target
        .get("Namespace")
        .is_some_and(|n| !n.is_empty() && *n != namespace)
    {
        return Err(ApiError::bad_request("namespace in payload did not match header"));
    }
    if body.message.len() > MAX_MESSAGE {
        return Err(ApiError::bad_request(format!(
            "scaling message is longer than {MAX_MESSAGE} bytes"
        )));
    }
    let req = ScaleRequest {
        namespace,
        job_id: id,
        group: body.target.get("Group").cloned().unwrap_or_default(),
        count: body.count,
        message: body.message,
        error: body.error,
        meta: body.meta,
        policy_override: body.policy_override,
        enforce_index: body.enforce_index.then_some(body.job_modify_index),
    };
    written(ctx.node.scale_job(req).await?)
}
