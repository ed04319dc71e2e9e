//! `POST /v1/jobs/parse` (HCL jobspec → JSON job, through the same front end as `deploy`)
//! and `POST /v1/validate/job` (the job checks registration runs, without registering).

use std::path::{Path as FsPath, PathBuf};

use axum::extract::Query;
use serde::Deserialize;
use serde_json::{Value, json};

use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json};
use crate::diag::RenderOptions;
use crate::frontend::{Inputs, parse_job_file, parse_job_text};
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

/// Parses jobspec text; with variables, through files in a private temporary directory,
/// since values files are read like a user's `-var-file`.
fn parse_hcl(hcl: &str, variables: &str) -> Result<Vec<Job>, ApiError> {
    let name = FsPath::new("job.nomad.hcl");
    let rendered = |d: crate::diag::Diagnostics| {
        ApiError::bad_request(format!(
            "error parsing job: {}",
            d.render(&RenderOptions::plain())
        ))
    };
    if variables.trim().is_empty() {
        return parse_job_text(name, hcl).map_err(rendered);
    }
    let dir = TempDir::new().map_err(|e| ApiError::internal(format!("temporary directory: {e}")))?;
    let job_path = dir.0.join(name);
    let vars_path = dir.0.join("variables.hcl");
    std::fs::write(&job_path, hcl).map_err(|e| ApiError::internal(e.to_string()))?;
    std::fs::write(&vars_path, variables).map_err(|e| ApiError::internal(e.to_string()))?;
    let inputs = Inputs {
        var_files: vec![vars_path],
        ..Inputs::default()
    };
    parse_job_file(&job_path, &inputs)
        .map(|(jobs, _)| jobs.into_iter().map(|j| j.job).collect())
        .map_err(rendered)
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("deploy-parse-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
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

    #[test]
    fn parse_with_variables_reads_them_like_a_var_file() {
        let hcl = "variable \"n\" {\n  type = number\n}\njob \"x\" {\n  group \"g\" {\n    count = var.n\n    task \"t\" {\n      driver = \"raw_exec\"\n      config {\n        command = \"true\"\n      }\n    }\n  }\n}\n";
        let jobs = parse_hcl(hcl, "n = 3\n").unwrap();
        assert_eq!(jobs[0].groups()[0].count, Some(3));
        let err = parse_hcl("job \"x\" {", "").unwrap_err();
        assert!(err.message.contains("error parsing job"), "{}", err.message);
    }
}
