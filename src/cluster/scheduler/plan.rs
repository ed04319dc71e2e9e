//! `PlanResult`: everything one evaluation decided, as plain data for the FSM to verify and
//! commit, and for `job plan` to show.

use std::collections::BTreeMap;

use crate::api::{AllocMetric, Allocation, ClientStatus, Deployment, PlanAnnotations};

/// The scheduler's output for one evaluation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanResult {
    /// The evaluation.
    pub eval_id: String,
    /// The job's namespace.
    pub namespace: String,
    /// The job.
    pub job_id: String,
    /// New allocations, each with its node, resources and ports (`Job` left unset: the
    /// committer attaches the job version named by `JobVersion`).
    pub place: Vec<Allocation>,
    /// Allocations to stop.
    pub stop: Vec<AllocStop>,
    /// Allocations updated in place (same node, new job version).
    pub in_place: Vec<Allocation>,
    /// Placements that failed, per task group, with Nomad's metrics.
    pub failed_tg_allocs: BTreeMap<String, AllocMetric>,
    /// Allocations left unplaced per task group (Nomad's `QueuedAllocations`).
    pub queued_allocations: BTreeMap<String, u64>,
    /// What happened per task group (the plan dry-run's `Annotations`).
    pub annotations: PlanAnnotations,
    /// A deployment to create (service jobs whose spec changed).
    pub deployment: Option<Deployment>,
}

impl PlanResult {
    /// Nothing to commit.
    pub fn is_no_op(&self) -> bool {
        self.place.is_empty() && self.stop.is_empty() && self.in_place.is_empty() && self.deployment.is_none()
    }
}

/// An allocation to stop and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllocStop {
    /// Allocation.
    pub alloc_id: String,
    /// Its node.
    pub node_id: String,
    /// `DesiredDescription`.
    pub description: String,
    /// A client status to record too (`lost` for allocations on down nodes).
    pub client_status: Option<ClientStatus>,
}

/// Desired descriptions, as Nomad words them.
pub mod reason {
    /// Count decreased or group removed.
    pub const NOT_NEEDED: &str = "alloc not needed due to job update";
    /// Job stopped or deregistered.
    pub const JOB_STOPPED: &str = "alloc not needed since job stopped";
    /// Node down.
    pub const LOST: &str = "alloc is lost since its node is down";
    /// Node drained.
    pub const MIGRATING: &str = "alloc is being migrated";
    /// Destructive update.
    pub const UPDATING: &str = "alloc is being updated due to job update";
    /// Failed and rescheduled.
    pub const RESCHEDULED: &str = "alloc was rescheduled because it failed";
    /// System job no longer feasible on the node.
    pub const NODE_INFEASIBLE: &str = "alloc not needed as node is no longer eligible";
}
