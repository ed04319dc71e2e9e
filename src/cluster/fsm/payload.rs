//! The data commands carry: plain serialisable values, no behaviour. Every other FSM file
//! depends on these, and these on nothing in the FSM:
//!
//! ```text
//!  records, payload ◄── command ◄── state ◄── acl, actions, client_update, deployment, job,
//!                                              kv, plan_apply, variable (apply per area)
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::{
    AllocDeploymentStatus, Allocation, ClientStatus, Deployment, DeploymentState, DeploymentStatus,
    Evaluation, JobSubmission, TaskState,
};
use crate::spec::Job;

/// Register a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRegister {
    /// The job (Nomad JSON).
    pub job: Job,
    /// The original submission (source text and format), if given.
    pub submission: Option<JobSubmission>,
    /// Check-index: `Some(0)` = must not exist, `Some(n)` = JobModifyIndex must be n.
    pub enforce_index: Option<u64>,
    /// The evaluation to create (none for periodic and parameterized jobs).
    pub eval: Option<Evaluation>,
    /// Submission time, Unix nanoseconds.
    pub submit_time: i64,
}

/// Stop or purge a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDeregister {
    /// Namespace.
    pub namespace: String,
    /// Job ID.
    pub id: String,
    /// Remove the job and its versions instead of stopping it.
    pub purge: bool,
    /// The evaluation to create.
    pub eval: Option<Evaluation>,
    /// Time of the stop, Unix nanoseconds.
    pub submit_time: i64,
}

/// Launch of a periodic job's child: the child's registration and the launch time, applied
/// together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodicLaunch {
    /// The periodic (parent) job's namespace.
    pub namespace: String,
    /// The periodic (parent) job's ID.
    pub job_id: String,
    /// The launch time recorded for the parent, Unix nanoseconds.
    pub launch: i64,
    /// The child job to register (must not exist yet), with its evaluation; `None` records a
    /// launch skipped because a child still runs (`prohibit_overlap`).
    pub child: Option<Box<JobRegister>>,
}

/// An operator's change to a deployment (fail, pause, resume, promote).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentAction {
    /// Deployment ID.
    pub deployment_id: String,
    /// The new status.
    pub status: DeploymentStatus,
    /// Its description.
    pub description: String,
    /// Task groups to mark promoted.
    pub promote: Vec<String>,
    /// The evaluation to create, if the change needs the scheduler.
    pub eval: Option<Evaluation>,
}

/// One allocation's client-side state, as a client reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocClientUpdate {
    /// Allocation ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// pending, running, complete, failed.
    pub client_status: ClientStatus,
    /// Detail of the status.
    pub client_description: String,
    /// Task name → task state.
    pub task_states: BTreeMap<String, TaskState>,
    /// Health within the allocation's deployment, once known.
    pub deployment_status: Option<AllocDeploymentStatus>,
    /// Time of the report, Unix nanoseconds.
    pub modify_time: i64,
}

/// New counts and status for one running deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentUpdate {
    /// Deployment ID.
    pub id: String,
    /// The new status (`running` to only update counts).
    pub status: DeploymentStatus,
    /// Why.
    pub description: String,
    /// Task group → state with the watcher's counts.
    pub task_groups: BTreeMap<String, DeploymentState>,
    /// An evaluation to create (so the scheduler continues a rolling update).
    pub eval: Option<Evaluation>,
}

/// An allocation to stop, as the plan decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanStop {
    /// Allocation ID.
    pub alloc_id: String,
    /// `DesiredDescription`.
    pub description: String,
    /// A client status to record too (`lost` for allocations on down nodes).
    pub client_status: Option<ClientStatus>,
}

/// A verified plan for one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanApply {
    /// The evaluation as it ends (status complete or failed, metrics, queued allocations).
    pub eval: Evaluation,
    /// A blocked evaluation to create for placements that failed.
    pub blocked_eval: Option<Evaluation>,
    /// New allocations (IDs, nodes, resources chosen by the scheduler).
    pub place: Vec<Allocation>,
    /// Allocations to stop.
    pub stop: Vec<PlanStop>,
    /// Allocations updated in place (client-side fields are kept from the stored allocation).
    pub in_place: Vec<Allocation>,
    /// A deployment to create.
    pub deployment: Option<Deployment>,
    /// Time of the commit, Unix nanoseconds (chosen by the proposer).
    pub now: i64,
}

/// An operator's verdict on allocations of a deployment (`POST
/// /v1/deployment/allocation-health/:id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocHealth {
    /// Deployment ID.
    pub deployment_id: String,
    /// Allocations to mark healthy.
    pub healthy: Vec<String>,
    /// Allocations to mark unhealthy.
    pub unhealthy: Vec<String>,
    /// When (RFC 3339), for each allocation's `DeploymentStatus.Timestamp`.
    pub timestamp: String,
    /// Fail the deployment with this description (when any is unhealthy).
    pub fail: Option<String>,
    /// The evaluation that carries the deployment on.
    pub eval: Evaluation,
}
