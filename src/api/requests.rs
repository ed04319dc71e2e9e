//! Request bodies `deploy` sends to the job endpoints, with Nomad's field names.

use serde::{Deserialize, Serialize};

use crate::spec::Job;

fn is_false(b: &bool) -> bool {
    !*b
}

/// `POST /v1/jobs` and `POST /v1/job/:id`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct JobRegisterRequest {
    /// The job.
    pub job: Job,
    /// Register only if the current `JobModifyIndex` equals `job_modify_index` (0: only if new).
    pub enforce_index: bool,
    /// The index to check with `enforce_index`.
    pub job_modify_index: u64,
    /// Override soft-mandatory Sentinel policies.
    pub policy_override: bool,
    /// Keep the running counts.
    #[serde(skip_serializing_if = "is_false")]
    pub preserve_counts: bool,
    /// The original source, kept by the server for reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submission: Option<JobSubmission>,
}

/// The source a job was registered from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct JobSubmission {
    /// The HCL or JSON text.
    pub source: String,
    /// `hcl2` or `json`.
    pub format: String,
    /// Variable values, flattened (`-var` form).
    pub variable_flags: std::collections::BTreeMap<String, String>,
    /// Variable file contents.
    pub variables: String,
}

/// `POST /v1/job/:id/plan`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct JobPlanRequest {
    /// The job to plan.
    pub job: Job,
    /// Include the field diff.
    pub diff: bool,
    /// Override soft-mandatory policies.
    pub policy_override: bool,
}

/// `POST /v1/job/:id/revert`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct JobRevertRequest {
    /// The job.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// The version to go back to.
    pub job_version: u64,
    /// Revert only if the current version is this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce_prior_version: Option<u64>,
}

/// `DELETE /v1/job/:id` response (also evaluate and revert).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct JobDeregisterResponse {
    /// Evaluation created.
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    /// Its index.
    pub eval_create_index: u64,
    /// The job's modify index.
    pub job_modify_index: u64,
}
