//! Allocations: a task group placed on a node, stored as Nomad's `Allocation` object.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A Nomad allocation. Fields the scheduler and clients add later live in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Allocation {
    /// Allocation ID (a UUID chosen by the proposer).
    #[serde(rename = "ID")]
    pub id: String,
    /// Namespace of the job.
    pub namespace: String,
    /// Evaluation that created the allocation.
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    /// `job.group[index]`.
    pub name: String,
    /// Node the allocation is placed on.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// That node's name.
    pub node_name: String,
    /// The job's ID.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// Task group name.
    pub task_group: String,
    /// run, stop, evict.
    pub desired_status: String,
    /// Why the desired status is what it is.
    pub desired_description: String,
    /// pending, running, complete, failed, lost, unknown.
    pub client_status: String,
    /// Client's description of the status.
    pub client_description: String,
    /// Deployment the allocation belongs to.
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    /// Raft index that created the allocation.
    pub create_index: u64,
    /// Raft index that last modified the allocation.
    pub modify_index: u64,
    /// Raft index of the last server-side (desired) change.
    pub alloc_modify_index: u64,
    /// Creation time, Unix nanoseconds.
    pub create_time: i64,
    /// Modification time, Unix nanoseconds.
    pub modify_time: i64,
    /// Any further Nomad fields (Job, TaskStates, DeploymentStatus, ...), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
