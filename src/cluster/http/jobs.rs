//! `/v1/jobs` and `/v1/job/:id`: register (with check-index), list, read, versions, stop/purge.
//!
//! Reads pass a linearizable barrier first unless `?stale` is given.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Ctx;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json};
use crate::cluster::fsm::evaluation::status;
use crate::cluster::fsm::job::{job_namespace, str_field, u64_field};
use crate::cluster::fsm::{Command, Evaluation, JobDeregister, JobRecord, JobRegister, Outcome};

/// Body of `PUT /v1/jobs`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegisterRequest {
    /// The job.
    pub job: Option<Value>,
    /// Original source.
    #[serde(default)]
    pub submission: Option<Value>,
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

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// An evaluation for `job`, unless it is periodic or parameterized (those are launched later).
fn job_eval(job: &Value, triggered_by: &str, priority_override: i64) -> Option<Evaluation> {
    let launches_later = |f: &str| job.get(f).is_some_and(|v| !v.is_null());
    if launches_later("Periodic") || launches_later("ParameterizedJob") {
        return None;
    }
    let now = now_nanos();
    let priority = if priority_override > 0 {
        priority_override
    } else {
        job.get("Priority").and_then(Value::as_i64).unwrap_or(50)
    };
    Some(Evaluation {
        id: uuid::Uuid::new_v4().to_string(),
        namespace: job_namespace(job).to_owned(),
        priority,
        kind: match str_field(job, "Type") {
            "" => "service".into(),
            t => t.to_owned(),
        },
        triggered_by: triggered_by.into(),
        job_id: str_field(job, "ID").to_owned(),
        status: status::PENDING.into(),
        create_time: now,
        modify_time: now,
        ..Default::default()
    })
}

fn write_response(index: u64, outcome: Outcome) -> ApiResult {
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
    let obj = job
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("Job must be a JSON object"))?;
    let id = obj
        .get("ID")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if id.is_empty() {
        return Err(ApiError::bad_request("Job ID must be specified"));
    }
    if let Some(path_id) = path_id
        && path_id != id
    {
        return Err(ApiError::bad_request("Job ID does not match name"));
    }
    if let Some(ns) = ns_param.filter(|n| !n.is_empty())
        && obj
            .get("Namespace")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        obj.insert("Namespace".into(), json!(ns));
    }
    let eval = job_eval(&job, "job-register", req.eval_priority);
    let cmd = Command::JobRegister(JobRegister {
        enforce_index: req.enforce_index.then_some(req.job_modify_index),
        submission: req.submission,
        eval,
        submit_time: now_nanos(),
        job,
    });
    let resp = ctx.node.write(cmd).await?;
    write_response(resp.index, resp.outcome)
}

/// `PUT|POST /v1/jobs`: register a job.
pub async fn register(
    ctx: Ctx,
    Query(q): Query<QueryParams>,
    JsonBody(req): JsonBody<RegisterRequest>,
) -> ApiResult {
    do_register(&ctx, req, None, q.namespace.as_deref()).await
}

/// `PUT|POST /v1/job/:id`: register a job whose ID must match the path.
pub async fn register_at(
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<QueryParams>,
    JsonBody(req): JsonBody<RegisterRequest>,
) -> ApiResult {
    do_register(&ctx, req, Some(&id), q.namespace.as_deref()).await
}

/// Nomad's `JobListStub` for one job.
fn stub(rec: &JobRecord) -> Value {
    let job = rec.current();
    let groups: serde_json::Map<String, Value> = job
        .get("TaskGroups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|g| {
            let summary = json!({"Queued": 0, "Complete": 0, "Failed": 0, "Running": 0, "Starting": 0, "Lost": 0, "Unknown": 0});
            (str_field(g, "Name").to_owned(), summary)
        })
        .collect();
    let present = |f: &str| job.get(f).is_some_and(|v| !v.is_null());
    json!({
        "ID": str_field(job, "ID"),
        "ParentID": str_field(job, "ParentID"),
        "Name": job.get("Name").cloned().unwrap_or_else(|| json!(str_field(job, "ID"))),
        "Namespace": job_namespace(job),
        "Datacenters": job.get("Datacenters").cloned().unwrap_or(json!([])),
        "Type": str_field(job, "Type"),
        "Priority": job.get("Priority").cloned().unwrap_or(json!(50)),
        "Periodic": present("Periodic"),
        "ParameterizedJob": present("ParameterizedJob"),
        "Stop": job.get("Stop").and_then(Value::as_bool).unwrap_or(false),
        "Status": str_field(job, "Status"),
        "StatusDescription": str_field(job, "StatusDescription"),
        "JobSummary": {
            "JobID": str_field(job, "ID"),
            "Namespace": job_namespace(job),
            "Summary": groups,
            "Children": {"Pending": 0, "Running": 0, "Dead": 0},
            "CreateIndex": u64_field(job, "CreateIndex"),
            "ModifyIndex": u64_field(job, "ModifyIndex"),
        },
        "Version": u64_field(job, "Version"),
        "CreateIndex": u64_field(job, "CreateIndex"),
        "ModifyIndex": u64_field(job, "ModifyIndex"),
        "JobModifyIndex": u64_field(job, "JobModifyIndex"),
        "SubmitTime": job.get("SubmitTime").cloned().unwrap_or(json!(0)),
        "Meta": job.get("Meta").cloned().unwrap_or(Value::Null),
    })
}

async fn barrier(ctx: &Ctx, q: &QueryParams) -> Result<(), ApiError> {
    if !q.stale() {
        ctx.node.read_barrier().await?;
    }
    Ok(())
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
            (
                s.table_index("jobs"),
                s.jobs_with_prefix(ns, prefix).map(stub).collect::<Vec<_>>(),
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
        .blocking_query(blocking.min_index, blocking.wait, |s| {
            match s.job(ns, &id) {
                Some(rec) => (
                    u64_field(rec.current(), "ModifyIndex"),
                    Some(rec.current().clone()),
                ),
                None => (s.table_index("jobs"), None),
            }
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
        .blocking_query(blocking.min_index, blocking.wait, |s| {
            match s.job(ns, &id) {
                Some(rec) => (
                    u64_field(rec.current(), "ModifyIndex"),
                    Some(
                        rec.versions
                            .iter()
                            .map(|v| v.job.clone())
                            .collect::<Vec<_>>(),
                    ),
                ),
                None => (s.table_index("jobs"), None),
            }
        })
        .await;
    let versions = versions.ok_or_else(|| ApiError::not_found("job not found"))?;
    Ok(indexed_json(
        index,
        &json!({ "Versions": versions, "Diffs": null, "Index": index }),
    ))
}

/// `GET /v1/job/:id/submission?version=N`: the source a version was submitted with.
pub async fn submission(
    ctx: Ctx,
    Path(id): Path<String>,
    Query(p): Query<SubmissionParams>,
) -> ApiResult {
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
    let version = p
        .version
        .unwrap_or_else(|| u64_field(rec.current(), "Version"));
    let sub = rec
        .version(version)
        .and_then(|v| v.submission.clone())
        .ok_or_else(|| ApiError::not_found("job source not found"))?;
    Ok(indexed_json(state.table_index("jobs"), &sub))
}

/// `DELETE /v1/job/:id[?purge=true]`: stop or purge a job.
pub async fn deregister(
    ctx: Ctx,
    Path(id): Path<String>,
    Query(p): Query<DeregisterParams>,
) -> ApiResult {
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
        job_eval(rec.current(), "job-deregister", 0)
    };
    let cmd = Command::JobDeregister(JobDeregister {
        namespace,
        id,
        purge,
        eval,
        submit_time: now_nanos(),
    });
    let resp = ctx.node.write(cmd).await?;
    write_response(resp.index, resp.outcome)
}
