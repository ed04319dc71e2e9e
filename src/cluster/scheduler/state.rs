//! `SchedulerState`: the read-only view of the cluster the scheduler plans against.

use crate::api::{Allocation, Deployment, Node};
use crate::spec::Job;

/// How nodes are ranked when several fit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Algorithm {
    /// Fill the fullest node that fits (Nomad's default).
    #[default]
    Binpack,
    /// Prefer the emptiest node.
    Spread,
}

/// Cluster-wide scheduler settings (Nomad's `SchedulerConfiguration`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// Ranking algorithm.
    pub algorithm: Algorithm,
}

/// What the scheduler may read. The FSM implements it over a snapshot of its state; tests
/// implement it over vectors. Node order is the order of [`SchedulerState::nodes`].
pub trait SchedulerState {
    /// Every node, in a stable order.
    fn nodes(&self) -> &[Node];
    /// One node by ID.
    fn node(&self, id: &str) -> Option<&Node>;
    /// The current version of a job.
    fn job(&self, namespace: &str, id: &str) -> Option<&Job>;
    /// A recorded earlier version of a job (to tell in-place from destructive updates).
    fn job_version(&self, namespace: &str, id: &str, version: u64) -> Option<&Job> {
        self.job(namespace, id).filter(|j| j.version.unwrap_or(0) == version)
    }
    /// Every allocation of a job, any status.
    fn allocs_by_job(&self, namespace: &str, job_id: &str) -> Vec<&Allocation>;
    /// Every allocation on a node, any status.
    fn allocs_by_node(&self, node_id: &str) -> Vec<&Allocation>;
    /// The job's most recent deployment.
    fn latest_deployment(&self, _namespace: &str, _job_id: &str) -> Option<&Deployment> {
        None
    }
    /// Scheduler settings.
    fn config(&self) -> SchedulerConfig {
        SchedulerConfig::default()
    }
}
