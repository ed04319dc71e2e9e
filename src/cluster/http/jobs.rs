//! `/v1/jobs` and `/v1/job/:id`: register (with check-index), list, read, versions, stop/purge.
//!
//! Reads pass a linearizable barrier first unless `?stale` is given.

use axum::extract::{Path, Query};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Ctx;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json, query_bool};
use super::read::answer;
use crate::api::JobSubmission;
use crate::cluster::server::endpoints::{JobRegistration, JobWritten};
use crate::spec::Job;

/// Body of `PUT /v1/jobs`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegisterRequest {
    /// The job.
    #[serde(default)]
    pub job: Option<Job>,
    /// Original source.
    #[serde(default)]
    pub submission: Option<JobSubmission>,
    /// Check-index on.
    #[serde(default)]
    pub enforce_index: bool,
    /// Expected JobModifyIndex.
    #[serde(default)]
    pub job_modify_index: u64,
    /// Evaluation priority override.
    #[serde(default)]
    pub eval_priority: i64,
}

/// Query of `DELETE /v1/job/:id`.
#[derive(Debug, Deserialize)]
pub struct DeregisterParams {
    purge: Option<String>,
    namespace: Option<String>,
}

/// Query of `/v1/job/:id/submission`.
#[derive(Debug, Deserialize)]
pub struct SubmissionParams {
    version: Option<u64>,
    namespace: Option<String>,
}

/// Nomad's answer to a job write.
pub(super) fn written(w: JobWritten) -> ApiResult {
    Ok(indexed_json(
        w.index,
        &json!({
            "EvalID": w.eval_id,
            "EvalCreateIndex": w.eval_create_index,
            "JobModifyIndex": w.job_modify_index,
            "Warnings": "",
            "Index": w.index,
            "LastContact": 0,
            "KnownLeader": true,
        }),
    ))
}

/// Splits a register body into the request and a strictly decoded job.
fn register_request(mut body: Value) -> Result<RegisterRequest, ApiError> {
    let job = match body.get_mut("Job").map(Value::take) {
        Some(Value::Null) | None => None,
        Some(v) => Some(super::body::strict_job(v)?),
    };
    let mut req: RegisterRequest = serde_json::from_value(body)
        .map_err(|e| ApiError::bad_request(format!("Failed to parse JSON input: {e}")))?;
    req.job = job;
    Ok(req)
}

async fn do_register(ctx: &Ctx, body: Value, path_id: Option<String>, q: &QueryParams) -> ApiResult {
    let req = register_request(body)?;
    let job = req
        .job
        .ok_or_else(|| ApiError::bad_request("Job must be specified"))?;
    let reg = JobRegistration {
        job,
        submission: req.submission,
        enforce_index: req.enforce_index.then_some(req.job_modify_index),
        eval_priority: req.eval_priority,
        path_id,
        namespace: q.namespace.clone(),
    };
    written(ctx.node.register_job(reg).await?)
}

/// `PUT|POST /v1/jobs`: register a job.
pub async fn register(ctx: Ctx, Query(q): Query<QueryParams>, JsonBody(body): JsonBody<Value>) -> ApiResult {
    do_register(&ctx, body, None, &q).await
}

/// `PUT|POST /v1/job/:id`: register a job whose ID must match the path.
pub async fn register_at(
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<QueryParams>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult {
    do_register(&ctx, body, Some(id), &q).await
}

/// `GET /v1/jobs`: job stubs, blocking on the jobs table.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    let opts = q.read_options()?;
    Ok(answer(
        ctx.node.job_stubs(&opts, q.namespace(), q.prefix()).await?,
    ))
}

/// `GET /v1/job/:id`: the current job.
pub async fn read(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let opts = q.read_options()?;
    Ok(answer(ctx.node.job(&opts, q.namespace(), &id).await?))
}

/// The answer of `GET /v1/job/:id/versions`, written straight from the jobs: through a
/// `serde_json::Value`, ten versions of a large job took several times their size at once.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VersionsAnswer<'a> {
    versions: &'a [Job],
    diffs: Option<()>,
    index: u64,
}

/// `GET /v1/job/:id/versions`: retained versions, newest first.
pub async fn versions(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let opts = q.read_options()?;
    let found = ctx.node.job_versions(&opts, q.namespace(), &id).await?;
    let index = found.index;
    let answer = VersionsAnswer {
        versions: &found.value,
        diffs: None,
        index,
    };
    Ok(indexed_json(index, &answer))
}

fn namespace_or_default(ns: Option<String>) -> String {
    ns.filter(|s| !s.is_empty()).unwrap_or_else(|| "default".into())
}

/// `GET /v1/job/:id/submission?version=N`: the source a version was submitted with.
pub async fn submission(ctx: Ctx, Path(id): Path<String>, Query(p): Query<SubmissionParams>) -> ApiResult {
    let ns = namespace_or_default(p.namespace);
    Ok(answer(ctx.node.job_submission(&ns, &id, p.version).await?))
}

/// `DELETE /v1/job/:id[?purge=true]`: stop or purge a job.
pub async fn deregister(ctx: Ctx, Path(id): Path<String>, Query(p): Query<DeregisterParams>) -> ApiResult {
    let namespace = namespace_or_default(p.namespace);
    let purge = query_bool("purge", p.purge.as_deref())?;
    written(ctx.node.deregister_job(namespace, id, purge).await?)
}
