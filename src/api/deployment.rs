//! `Deployment`: the rollout of one job version, tracked per task group.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where a deployment is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeploymentStatus {
    /// Rolling out.
    #[default]
    Running,
    /// Every group healthy.
    Successful,
    /// Failed (deadline or unhealthy allocations).
    Failed,
    /// Superseded by a newer version.
    Cancelled,
    /// Paused by an operator.
    Paused,
    /// Waiting on another region.
    Blocked,
    /// Not started.
    Pending,
    /// Waiting for promotion.
    Unblocking,
    /// A value this version does not know.
    #[serde(other)]
    Unknown,
}

impl DeploymentStatus {
    /// Running, paused, pending, blocked or unblocking: the deployment can still change.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Self::Running | Self::Paused | Self::Pending | Self::Blocked | Self::Unblocking
        )
    }

    /// Nomad's status string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Successful => "successful",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Paused => "paused",
            Self::Blocked => "blocked",
            Self::Pending => "pending",
            Self::Unblocking => "unblocking",
            Self::Unknown => "unknown",
        }
    }
}

/// Nomad's `StatusDescription` texts of a deployment.
pub mod description {
    /// Rolling out.
    pub const RUNNING: &str = "Deployment is running";
    /// Canaries wait for an operator's promotion.
    pub const NEEDS_PROMOTION: &str = "Deployment is running but requires manual promotion";
    /// Canaries promote themselves once healthy.
    pub const AUTO_PROMOTION: &str = "Deployment is running pending automatic promotion";
}

/// A deployment, field for field as Nomad's `GET /v1/deployment/:id`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Deployment {
    /// Deployment ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Namespace.
    pub namespace: String,
    /// Job.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// Job version being deployed.
    pub job_version: u64,
    /// The job's modify index.
    pub job_modify_index: u64,
    /// The job's spec modify index.
    pub job_spec_modify_index: u64,
    /// The job's create index.
    pub job_create_index: u64,
    /// Multiregion.
    pub is_multiregion: bool,
    /// State per task group.
    pub task_groups: BTreeMap<String, DeploymentState>,
    /// Status.
    pub status: DeploymentStatus,
    /// Why.
    pub status_description: String,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of the last change.
    pub modify_index: u64,
}

/// Progress of one task group in a deployment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DeploymentState {
    /// Revert to the last stable version on failure.
    pub auto_revert: bool,
    /// Promote canaries when healthy.
    pub auto_promote: bool,
    /// Deadline for progress (nanoseconds).
    pub progress_deadline: i64,
    /// Progress is due by (RFC 3339).
    pub require_progress_by: Option<String>,
    /// Canaries promoted.
    pub promoted: bool,
    /// Canaries placed (allocation IDs).
    pub placed_canaries: Option<Vec<String>>,
    /// Canaries wanted.
    pub desired_canaries: i64,
    /// Allocations wanted.
    pub desired_total: i64,
    /// Allocations placed.
    pub placed_allocs: i64,
    /// Healthy allocations.
    pub healthy_allocs: i64,
    /// Unhealthy allocations.
    pub unhealthy_allocs: i64,
}

impl DeploymentState {
    /// Whether the group has canaries that still wait for promotion.
    pub fn awaits_promotion(&self) -> bool {
        self.desired_canaries > 0 && !self.promoted
    }

    /// How many placed canaries the group has.
    pub fn placed_canary_count(&self) -> i64 {
        self.placed_canaries.as_ref().map_or(0, |c| c.len() as i64)
    }
}
