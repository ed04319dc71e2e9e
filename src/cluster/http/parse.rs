//! `POST /v1/jobs/parse` (HCL jobspec → JSON job, through the parser the agent's configuration carries:
//! `deploy`'s own front end, which the cluster does not depend on)
//! and `POST /v1/validate/job` (the job checks registration runs, without registering).

use std::sync::Arc;

use axum::extract::Query;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Ctx;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json};
use crate::cluster::server::endpoints::{job_errors, multierror};
use crate::spec::{Job, canonicalize};

/// Body of `POST /v1/jobs/parse`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParseRequest {
    /// The jobspec.
    #[serde(rename = "JobHCL")]
    pub job_hcl: String,
    /// Fill unset fields with their defaults.
    #[serde(default)]
    pub canonicalize: bool,
    /// Variable values in var-file (HCL) form.
    #[serde(default)]
    pub variables: String,
}

/// `POST|PUT /v1/jobs/parse`.
pub async fn parse(
    ctx: Ctx,
    Query(q): Query<QueryParams>,
    JsonBody(req): JsonBody<ParseRequest>,
) -> ApiResult {
    let parser = ctx.job_parser.clone();
    let jobs = tokio::task::spawn_blocking(move || parse_hcl(parser.as_ref(), &req.job_hcl, &req.variables))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    let mut job = match <[Job; 1]>::try_from(jobs) {
        Ok([job]) => job,
        Err(jobs) => {
            return Err(ApiError::bad_request(format!(
                "error parsing job: expected exactly one job block, found {}",
                jobs.len()
            )));
        }
    };
    if job.namespace.as_deref().is_none_or(str::is_empty) && q.namespace.is_some() {
        job.namespace = Some(q.namespace().to_owned());
    }
    if req.canonicalize {
        job = canonicalize(&job);
    }
    Ok(indexed_json(0, &job))
}

type ParseFn = dyn Fn(&str, &str) -> Result<Vec<Job>, String> + Send + Sync;

/// Parses jobspec text with variable values (var-file form) into jobs, or says why not. The
/// binary hands its own front end to the agent through the agent's configuration.
#[derive(Clone)]
pub struct JobParser(Arc<ParseFn>);

impl JobParser {
    /// Wraps a parse function.
    pub fn new(parse: impl Fn(&str, &str) -> Result<Vec<Job>, String> + Send + Sync + 'static) -> Self {
        Self(Arc::new(parse))
    }

    /// Parses `hcl` with `variables`.
    pub fn parse(&self, hcl: &str, variables: &str) -> Result<Vec<Job>, String> {
        (self.0)(hcl, variables)
    }
}

impl std::fmt::Debug for JobParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JobParser")
    }
}

impl PartialEq for JobParser {
    /// The same parser, not one that parses alike.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

fn parse_hcl(parser: Option<&JobParser>, hcl: &str, variables: &str) -> Result<Vec<Job>, ApiError> {
    let parser =
        parser.ok_or_else(|| ApiError::bad_request("this agent has no HCL parser; send the job as JSON"))?;
    parser
        .parse(hcl, variables)
        .map_err(|e| ApiError::bad_request(format!("error parsing job: {e}")))
}

/// `POST|PUT /v1/validate/job`: body `{"Job": {...}}`; without a job, Nomad's 400.
pub async fn validate_job(JsonBody(body): JsonBody<Value>) -> ApiResult {
    let job_value = match body {
        Value::Object(mut m) => m.remove("Job").unwrap_or(Value::Null),
        _ => return Err(ApiError::bad_request("Job must be specified")),
    };
    if job_value.is_null() {
        return Err(ApiError::bad_request("Job must be specified"));
    }
    let job: Job = serde_json::from_value(job_value)
        .map_err(|e| ApiError::bad_request(format!("failed to decode job: {e}")))?;
    let errors = job_errors(&job);
    let error = if errors.is_empty() {
        String::new()
    } else {
        multierror(&errors)
    };
    Ok(indexed_json(
        0,
        &json!({
            "DriverConfigValidated": true,
            "ValidationErrors": errors,
            "Warnings": "",
            "Error": error,
        }),
    ))
}
