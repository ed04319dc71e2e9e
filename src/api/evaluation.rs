//! `Evaluation`: a request to the scheduler to reconcile one job.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::alloc_metric::AllocMetric;

/// Where an evaluation is in its life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvalStatus {
    /// Waiting for a scheduler.
    #[default]
    Pending,
    /// Done.
    Complete,
    /// The scheduler failed.
    Failed,
    /// Waiting for resources.
    Blocked,
    /// Superseded.
    Canceled,
    /// A value this version does not know.
    #[serde(other)]
    Unknown,
}

/// `TriggeredBy` values Nomad uses (the field stays a string: newer Nomad adds more).
pub mod triggered_by {
    /// A job was registered or updated.
    pub const JOB_REGISTER: &str = "job-register";
    /// A job was stopped.
    pub const JOB_DEREGISTER: &str = "job-deregister";
    /// A node changed status or eligibility.
    pub const NODE_UPDATE: &str = "node-update";
    /// A node drain.
    pub const NODE_DRAIN: &str = "node-drain";
    /// A periodic job launched a child.
    pub const PERIODIC_JOB: &str = "periodic-job";
    /// An allocation failed.
    pub const ALLOC_FAILURE: &str = "alloc-failure";
    /// The deployment watcher.
    pub const DEPLOYMENT_WATCHER: &str = "deployment-watcher";
    /// A job was scaled.
    pub const JOB_SCALING: &str = "job-scaling";
    /// Blocked evaluation unblocked.
    pub const QUEUED_ALLOCS: &str = "queued-allocs";
    /// An operator stopped an allocation.
    pub const ALLOC_STOP: &str = "alloc-stop";
    /// An operator asked for a new evaluation of a job.
    pub const JOB_EVAL: &str = "job-eval";
}

/// An evaluation, field for field as Nomad's `GET /v1/evaluation/:eval_id`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Evaluation {
    /// Evaluation ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Namespace.
    pub namespace: String,
    /// Priority (the job's).
    pub priority: i64,
    /// Scheduler type: the job's type.
    pub r#type: String,
    /// What caused it (see [`triggered_by`]).
    pub triggered_by: String,
    /// Job.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// The job's modify index when created.
    pub job_modify_index: u64,
    /// Node, for node-triggered evaluations.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// The node's modify index.
    pub node_modify_index: u64,
    /// Deployment, for deployment-triggered evaluations.
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    /// Status.
    pub status: EvalStatus,
    /// Why.
    pub status_description: String,
    /// Delay before running (nanoseconds).
    pub wait: i64,
    /// Do not run before (RFC 3339).
    pub wait_until: Option<String>,
    /// Follow-up evaluation.
    pub next_eval: String,
    /// Evaluation this one follows.
    pub previous_eval: String,
    /// Blocked evaluation created for unplaced allocations.
    pub blocked_eval: String,
    /// Failed placements per task group.
    #[serde(rename = "FailedTGAllocs")]
    pub failed_tg_allocs: Option<BTreeMap<String, AllocMetric>>,
    /// Node classes found eligible (true) or not.
    pub class_eligibility: Option<BTreeMap<String, bool>>,
    /// The job's computed class escaped (per-node checks needed).
    pub escaped_computed_class: bool,
    /// A plan dry run.
    pub annotate_plan: bool,
    /// Allocations still to place per group.
    pub queued_allocations: Option<BTreeMap<String, u64>>,
    /// Related evaluations (with `?related=true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related_evals: Option<Vec<Evaluation>>,
    /// State index the scheduler read.
    pub snapshot_index: u64,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of the last change.
    pub modify_index: u64,
    /// Unix nanoseconds of creation.
    pub create_time: i64,
    /// Unix nanoseconds of the last change.
    pub modify_time: i64,
}
