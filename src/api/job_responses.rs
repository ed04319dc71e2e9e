//! Responses of the job endpoints: register, plan, list and summary.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::alloc_metric::AllocMetric;
use super::evaluation::Evaluation;

/// `POST /v1/jobs`, `POST /v1/job/:id`, revert, evaluate and stop responses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct JobRegisterResponse {
    /// Evaluation created (empty for periodic and parameterized jobs).
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    /// Raft index of the evaluation.
    pub eval_create_index: u64,
    /// Raft index of the job change.
    pub job_modify_index: u64,
    /// Warnings, joined by newlines.
    pub warnings: String,
    /// Raft index of the response.
    pub index: u64,
    /// Milliseconds since the leader was last contacted.
    pub last_contact: u64,
    /// A leader is known.
    pub known_leader: bool,
}

/// `POST /v1/job/:id/dispatch` response.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct JobDispatchResponse {
    /// The dispatched child job's ID.
    #[serde(rename = "DispatchedJobID")]
    pub dispatched_job_id: String,
    /// Its evaluation (empty when an idempotency token matched an earlier child).
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    /// Raft index of the evaluation.
    pub eval_create_index: u64,
    /// Raft index of the child's creation.
    pub job_create_index: u64,
    /// Raft index of the response.
    pub index: u64,
}

/// `POST /v1/job/:id/plan` response.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct JobPlanResponse {
    /// What the scheduler would do per group.
    pub annotations: Option<PlanAnnotations>,
    /// Placements that would fail, per group.
    #[serde(rename = "FailedTGAllocs")]
    pub failed_tg_allocs: Option<BTreeMap<String, AllocMetric>>,
    /// Modify index to pass as `-check-index`.
    pub job_modify_index: u64,
    /// Evaluations the plan would create (blocked ones).
    pub created_evals: Option<Vec<Evaluation>>,
    /// The JobDiff (shape owned by `spec::diff`).
    pub diff: Option<serde_json::Value>,
    /// Next periodic launch (RFC 3339; zero time when not periodic).
    pub next_periodic_launch: Option<String>,
    /// Warnings, joined by newlines.
    pub warnings: String,
    /// Raft index.
    pub index: u64,
}

/// Plan annotations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PlanAnnotations {
    /// Per task group.
    #[serde(rename = "DesiredTGUpdates")]
    pub desired_tg_updates: BTreeMap<String, DesiredUpdates>,
    /// Preempted allocations (free-form).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preempted_allocs: Option<Vec<serde_json::Value>>,
}

/// What the scheduler would do to one group's allocations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DesiredUpdates {
    /// Left as they are.
    pub ignore: u64,
    /// New.
    pub place: u64,
    /// Moved off draining nodes.
    pub migrate: u64,
    /// Stopped.
    pub stop: u64,
    /// Updated without restarting.
    pub in_place_update: u64,
    /// Replaced.
    pub destructive_update: u64,
    /// Canaries.
    pub canary: u64,
    /// Preempted.
    pub preemptions: u64,
}

/// One row of `GET /v1/jobs`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct JobListStub {
    /// Job ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Parent (dispatched and periodic children).
    #[serde(rename = "ParentID")]
    pub parent_id: String,
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Datacenters.
    pub datacenters: Option<Vec<String>>,
    /// Node pool.
    pub node_pool: String,
    /// Type.
    pub r#type: String,
    /// Priority.
    pub priority: i64,
    /// Periodic.
    pub periodic: bool,
    /// Parameterized.
    pub parameterized_job: bool,
    /// Stopped.
    pub stop: bool,
    /// `pending`, `running`, `dead`.
    pub status: String,
    /// Why.
    pub status_description: String,
    /// Allocation counts.
    pub job_summary: Option<JobSummary>,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of the last change.
    pub modify_index: u64,
    /// Raft index of the last spec change.
    pub job_modify_index: u64,
    /// Unix nanoseconds of submission.
    pub submit_time: i64,
}

/// `GET /v1/job/:id/summary`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct JobSummary {
    /// Job.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// Namespace.
    pub namespace: String,
    /// Counts per task group.
    pub summary: BTreeMap<String, TaskGroupSummary>,
    /// Children of periodic and parameterized jobs.
    pub children: Option<JobChildrenSummary>,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of the last change.
    pub modify_index: u64,
}

/// Allocation counts of one task group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct TaskGroupSummary {
    /// Waiting for placement.
    pub queued: u64,
    /// Complete.
    pub complete: u64,
    /// Failed.
    pub failed: u64,
    /// Running.
    pub running: u64,
    /// Starting.
    pub starting: u64,
    /// Lost.
    pub lost: u64,
    /// Unknown (disconnected).
    pub unknown: u64,
}

/// Child job counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct JobChildrenSummary {
    /// Pending.
    pub pending: u64,
    /// Running.
    pub running: u64,
    /// Dead.
    pub dead: u64,
}
