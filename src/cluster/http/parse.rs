//! `POST /v1/jobs/parse` (HCL jobspec → JSON job, through the parser the binary installs:
//! `deploy`'s own front end, which the cluster does not depend on)
//! and `POST /v1/validate/job` (the job checks registration runs, without registering).

use std::sync::{Arc, OnceLock};

use axum::extract::Query;
use serde::Deserialize;
use serde_json::{Value, json};

use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json};
use crate::spec::{Job, canonicalize, validate};

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
pub async fn parse(Query(q): Query<QueryParams>, JsonBody(req): JsonBody<ParseRequest>) -> ApiResult {
    let jobs = tokio::task::spawn_blocking(move || parse_hcl(&req.job_hcl, &req.variables))
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

/// Parses jobspec text with variable values (var-file form) into jobs, or says why not.
pub type JobParser = Arc<dyn Fn(&str, &str) -> Result<Vec<Job>, String> + Send + Sync>;

static PARSER: OnceLock<JobParser> = OnceLock::new();

/// Installs the HCL parser behind `/v1/jobs/parse` (once per process).
pub fn set_job_parser(parser: JobParser) {
    let _ = PARSER.set(parser);
}

fn parse_hcl(hcl: &str, variables: &str) -> Result<Vec<Job>, ApiError> {
    let parser = PARSER
        .get()
        .ok_or_else(|| ApiError::bad_request("this agent has no HCL parser; send the job as JSON"))?;
    parser(hcl, variables).map_err(|e| ApiError::bad_request(format!("error parsing job: {e}")))
}

/// Nomad's multi-error text: `1 error occurred:\n\t* ...\n\n`.
pub fn multierror(errors: &[String]) -> String {
    let head = match errors.len() {
        1 => "1 error occurred:".to_owned(),
        n => format!("{n} errors occurred:"),
    };
    let items: String = errors.iter().map(|e| format!("\t* {e}\n")).collect();
    format!("{head}\n{items}\n")
}

/// The problems `validate` finds in `job`, as Nomad words them.
pub fn job_errors(job: &Job) -> Vec<String> {
    let mut errors: Vec<String> = validate(&canonicalize(job))
        .iter()
        .map(ToString::to_string)
        .collect();
    if job.id().is_empty() {
        errors.insert(0, "Missing job ID".into());
    }
    errors
}

/// `POST|PUT /v1/validate/job`: body `{"Job": {...}}` (or the bare job).
pub async fn validate_job(JsonBody(body): JsonBody<Value>) -> ApiResult {
    let job_value = match body {
        Value::Object(mut m) if m.contains_key("Job") => m.remove("Job").unwrap_or(Value::Null),
        other => other,
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multierror_reads_like_nomads() {
        assert_eq!(multierror(&["a".into()]), "1 error occurred:\n\t* a\n\n");
        assert_eq!(
            multierror(&["a".into(), "b".into()]),
            "2 errors occurred:\n\t* a\n\t* b\n\n"
        );
    }
}
