//! Deployments: the rollout of one job version, stored as Nomad's `Deployment` object.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A Nomad deployment. Per-group state (`TaskGroups`) and further fields live in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Deployment {
    /// Deployment ID (a UUID chosen by the proposer).
    #[serde(rename = "ID")]
    pub id: String,
    /// Namespace of the job.
    pub namespace: String,
    /// The job's ID.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// Job version being deployed.
    pub job_version: u64,
    /// The job's ModifyIndex at creation.
    pub job_modify_index: u64,
    /// The job's JobModifyIndex at creation.
    pub job_spec_modify_index: u64,
    /// The job's CreateIndex.
    pub job_create_index: u64,
    /// running, paused, failed, successful, cancelled, ...
    pub status: String,
    /// Human-readable status detail.
    pub status_description: String,
    /// Raft index that created the deployment.
    pub create_index: u64,
    /// Raft index that last modified the deployment.
    pub modify_index: u64,
    /// Any further Nomad fields (TaskGroups, IsMultiregion, ...), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
