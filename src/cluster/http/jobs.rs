//! `/v1/jobs` and `/v1/job/:id`: register (with check-index), list, read, versions, stop/purge.
//!
//! Reads pass a linearizable barrier first unless `?stale` is given.

use axum::extract::{Path, Query};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{JobSubmission, triggered_by};
use crate::spec::Job;

use super::Ctx;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::job_actions::SummaryIndex;
use super::query::{QueryParams, indexed_json};
use super::read::barrier;
use crate::cluster::fsm::{Command, JobDeregister, JobRecord, JobRegister, Outcome};

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

pub(super) use crate::cluster::server::evals::{job_eval, now_nanos};

pub(super) fn write_response(index: u64, outcome: Outcome) -> ApiResult {
    match outcome {
        Outcome::JobWritten {
            job_modify_index,
            eval_id,
            eval_create_index,
        } => Ok(indexed_json(
            index,
            &json!({
                "EvalID": eval_id,
                "EvalCreateIndex": eval_create_index,
                "JobModifyIndex": job_modify_index,
                "Warnings": "",
                "Index": index,
                "LastContact": 0,
                "KnownLeader": true,
            }),
        )),
        Outcome::JobIndexConflict { message } => Err(ApiError::internal(message)),
        Outcome::NotFound { message } => Err(ApiError::not_found(message)),
        Outcome::Refused { message } => Err(ApiError::bad_request(message)),
        other => Err(ApiError::internal(format!("unexpected outcome {other:?}"))),
    }
}

async fn do_register(
    ctx: &Ctx,
    req: RegisterRequest,
    path_id: Option<&str>,
    ns_param: Option<&str>,
) -> ApiResult {
    let mut job = req
        .job
        .ok_or_else(|| ApiError::bad_request("Job must be specified"))?;
    if job.id().is_empty() {
        return Err(ApiError::bad_request("Job ID must be specified"));
    }
    if let Some(path_id) = path_id
        && path_id != job.id()
    {
        return Err(ApiError::bad_request("Job ID does not match name"));
    }
    if let Some(ns) = ns_param.filter(|n| !n.is_empty())
        && job.namespace.as_deref().is_none_or(str::is_empty)
    {
        job.namespace = Some(ns.to_owned());
    }
    let errors = super::parse::job_errors(&job);
    if !errors.is_empty() {
        return Err(ApiError::bad_request(super::parse::multierror(&errors)));
    }
    let eval = job_eval(&job, triggered_by::JOB_REGISTER, req.eval_priority);
    let cmd = Command::JobRegister(Box::new(JobRegister {
        enforce_index: req.enforce_index.then_some(req.job_modify_index),
        submission: req.submission,
        eval,
        submit_time: now_nanos(),
        job,
    }));
    let resp = ctx.node.write(cmd).await?;
    write_response(resp.index, resp.outcome)
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

/// `PUT|POST /v1/jobs`: register a job.
pub async fn register(ctx: Ctx, Query(q): Query<QueryParams>, JsonBody(body): JsonBody<Value>) -> ApiResult {
    let req = register_request(body)?;
    do_register(&ctx, req, None, q.namespace.as_deref()).await
}

/// `PUT|POST /v1/job/:id`: register a job whose ID must match the path.
pub async fn register_at(
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<QueryParams>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult {
    let req = register_request(body)?;
    do_register(&ctx, req, Some(&id), q.namespace.as_deref()).await
}

/// Nomad's `JobListStub` for one job, with its summary.
fn stub(state: &crate::cluster::fsm::State, index: &SummaryIndex<'_>, rec: &JobRecord) -> Value {
    let job = rec.current();
    let summary = index
        .summary(state, job.namespace(), job.id())
        .unwrap_or(Value::Null);
    json!({
        "ID": job.id(),
        "ParentID": job.parent_id.clone().unwrap_or_default(),
        "Name": job.name.clone().unwrap_or_else(|| job.id().to_owned()),
        "Namespace": job.namespace(),
        "Datacenters": job.datacenters.clone().unwrap_or_default(),
        "Type": job.job_type(),
        "Priority": job.priority.unwrap_or(50),
        "Periodic": job.periodic.is_some(),
        "ParameterizedJob": job.parameterized_job.is_some(),
        "Stop": job.stop.unwrap_or(false),
        "Status": job.status.clone().unwrap_or_default(),
        "StatusDescription": job.status_description.clone().unwrap_or_default(),
        "JobSummary": summary,
        "Version": job.version.unwrap_or(0),
        "CreateIndex": job.create_index.unwrap_or(0),
        "ModifyIndex": job.modify_index.unwrap_or(0),
        "JobModifyIndex": job.job_modify_index.unwrap_or(0),
        "SubmitTime": job.submit_time.unwrap_or(0),
        "Meta": job.meta,
    })
}

/// `GET /v1/jobs`: job stubs, blocking on the jobs table.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    let blocking = q.blocking()?;
    barrier(&ctx, &q).await?;
    let (ns, prefix) = (q.namespace(), q.prefix());
    let (index, stubs) = ctx
        .node
        .state()
        .blocking_query(blocking.min_index, blocking.wait, |s| {
            let summaries = SummaryIndex::new(s);
            (
                s.table_index("jobs"),
                s.jobs_with_prefix(ns, prefix)
                    .map(|r| stub(s, &summaries, r))
                    .collect::<Vec<_>>(),
            )
        })
        .await;
    Ok(indexed_json(index, &stubs))
}

/// `GET /v1/job/:id`: the current job.
pub async fn read(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let blocking = q.blocking()?;
    barrier(&ctx, &q).await?;
    let ns = q.namespace();
    let (index, job) = ctx
        .node
        .state()
        .blocking_query(blocking.min_index, blocking.wait, |s| match s.job(ns, &id) {
            Some(rec) => (
                rec.current().modify_index.unwrap_or(0),
                Some(rec.current().clone()),
            ),
            None => (s.table_index("jobs"), None),
        })
        .await;
    let job = job.ok_or_else(|| ApiError::not_found("job not found"))?;
    Ok(indexed_json(index, &job))
}

/// `GET /v1/job/:id/versions`: retained versions, newest first.
pub async fn versions(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let blocking = q.blocking()?;
    barrier(&ctx, &q).await?;
    let ns = q.namespace();
    let (index, versions) = ctx
        .node
        .state()
        .blocking_query(blocking.min_index, blocking.wait, |s| match s.job(ns, &id) {
            Some(rec) => (
                rec.current().modify_index.unwrap_or(0),
                Some(rec.versions.iter().map(|v| v.job.clone()).collect::<Vec<_>>()),
            ),
            None => (s.table_index("jobs"), None),
        })
        .await;
    let versions = versions.ok_or_else(|| ApiError::not_found("job not found"))?;
    Ok(indexed_json(
        index,
        &json!({ "Versions": versions, "Diffs": null, "Index": index }),
    ))
}

/// `GET /v1/job/:id/submission?version=N`: the source a version was submitted with.
pub async fn submission(ctx: Ctx, Path(id): Path<String>, Query(p): Query<SubmissionParams>) -> ApiResult {
    ctx.node.read_barrier().await?;
    let ns = p
        .namespace
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or("default");
    let state = ctx.node.state().read();
    let rec = state
        .job(ns, &id)
        .ok_or_else(|| ApiError::not_found("job not found"))?;
    let version = p.version.unwrap_or_else(|| rec.current().version.unwrap_or(0));
    let sub = rec
        .version(version)
        .and_then(|v| v.submission.clone())
        .ok_or_else(|| ApiError::not_found("job source not found"))?;
    Ok(indexed_json(state.table_index("jobs"), &sub))
}

/// `DELETE /v1/job/:id[?purge=true]`: stop or purge a job.
pub async fn deregister(ctx: Ctx, Path(id): Path<String>, Query(p): Query<DeregisterParams>) -> ApiResult {
    let namespace = p
        .namespace
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".into());
    let purge = p.purge.as_deref().is_some_and(|v| v == "true" || v == "1");
    let eval = {
        let state = ctx.node.state().read();
        let rec = state
            .job(&namespace, &id)
            .ok_or_else(|| ApiError::not_found("job not found"))?;
        job_eval(rec.current(), triggered_by::JOB_DEREGISTER, 0)
    };
    let cmd = Command::JobDeregister(Box::new(JobDeregister {
        namespace,
        id,
        purge,
        eval,
        submit_time: now_nanos(),
    }));
    let resp = ctx.node.write(cmd).await?;
    write_response(resp.index, resp.outcome)
}
