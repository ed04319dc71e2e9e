//! Evaluations: the scheduler's unit of work, stored as Nomad's `Evaluation` object.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Evaluation status strings, as Nomad spells them.
pub mod status {
    /// Waiting for the scheduler.
    pub const PENDING: &str = "pending";
    /// Processed.
    pub const COMPLETE: &str = "complete";
    /// Could not be processed.
    pub const FAILED: &str = "failed";
    /// Blocked on resources.
    pub const BLOCKED: &str = "blocked";
    /// Cancelled as superseded.
    pub const CANCELED: &str = "canceled";
}

/// A Nomad evaluation. Fields the scheduler adds later live in `extra`, keeping the wire shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Evaluation {
    /// Evaluation ID (a UUID chosen by the proposer).
    #[serde(rename = "ID")]
    pub id: String,
    /// Namespace of the job.
    pub namespace: String,
    /// Scheduling priority.
    pub priority: i64,
    /// Scheduler type: service, batch, system, sysbatch.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Why the evaluation exists: job-register, job-deregister, node-update, ...
    pub triggered_by: String,
    /// The job evaluated.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// The job's JobModifyIndex when the evaluation was created.
    pub job_modify_index: u64,
    /// Node that triggered the evaluation, if any.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// Deployment that triggered the evaluation, if any.
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    /// pending, complete, failed, blocked, canceled.
    pub status: String,
    /// Human-readable status detail.
    pub status_description: String,
    /// Raft index that created the evaluation.
    pub create_index: u64,
    /// Raft index that last modified the evaluation.
    pub modify_index: u64,
    /// Creation time, Unix nanoseconds (chosen by the proposer).
    pub create_time: i64,
    /// Last modification time, Unix nanoseconds (chosen by the proposer).
    pub modify_time: i64,
    /// Any further Nomad fields, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
