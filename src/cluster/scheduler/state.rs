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

/// Resources held on a node by its non-terminal allocations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeAllocated {
    /// CPU MHz.
    pub cpu: i64,
    /// Memory MB.
    pub memory_mb: i64,
    /// Disk MB.
    pub disk_mb: i64,
    /// Host ports.
    pub ports: Vec<i64>,
}

impl NodeAllocated {
    /// The total of the non-terminal allocations among `allocs`.
    pub fn of_live<'a>(allocs: impl IntoIterator<Item = &'a Allocation>) -> NodeAllocated {
        let mut total = NodeAllocated::default();
        for a in allocs.into_iter().filter(|a| !a.is_terminal()) {
            total.add(a);
        }
        total
    }

    /// Adds one allocation's resources.
    pub fn add(&mut self, alloc: &Allocation) {
        if let Some(r) = &alloc.allocated_resources {
            self.cpu += r.cpu();
            self.memory_mb += r.memory_mb();
            self.disk_mb += r.shared.disk_mb;
            self.ports.extend(r.host_ports());
        }
    }

    /// Takes out what `other` holds (one occurrence of each of its ports).
    pub fn subtract(&mut self, other: &NodeAllocated) {
        self.cpu -= other.cpu;
        self.memory_mb -= other.memory_mb;
        self.disk_mb -= other.disk_mb;
        for p in &other.ports {
            if let Some(i) = self.ports.iter().position(|q| q == p) {
                self.ports.swap_remove(i);
            }
        }
    }

    /// Takes one allocation's resources out again (one occurrence of each of its ports).
    pub fn remove(&mut self, alloc: &Allocation) {
        if let Some(r) = &alloc.allocated_resources {
            self.cpu -= r.cpu();
            self.memory_mb -= r.memory_mb();
            self.disk_mb -= r.shared.disk_mb;
            for p in r.host_ports() {
                if let Some(i) = self.ports.iter().position(|q| *q == p) {
                    self.ports.remove(i);
                }
            }
        }
    }
}

/// What the scheduler may read. The FSM implements it over a snapshot of its state; tests
/// implement it over vectors. Node order is the order of [`SchedulerState::nodes`]. Of other
/// jobs' allocations the scheduler needs only what they hold per node, so a snapshot need
/// not copy them.
pub trait SchedulerState {
    /// Every node, in a stable order.
    fn nodes(&self) -> &[Node];
    /// One node by ID.
    fn node(&self, id: &str) -> Option<&Node>;
    /// The current version of a job.
    fn job(&self, namespace: &str, id: &str) -> Option<&Job>;
    /// A recorded earlier version of a job (to tell in-place from destructive updates).
    fn job_version(&self, namespace: &str, id: &str, version: u64) -> Option<&Job> {
        self.job(namespace, id)
            .filter(|j| j.version.unwrap_or(0) == version)
    }
    /// Every allocation of a job, any status.
    fn allocs_by_job(&self, namespace: &str, job_id: &str) -> Vec<&Allocation>;
    /// Resources held on a node by its non-terminal allocations, of every job (see
    /// [`NodeAllocated::of_live`]). A store that keeps this total up to date as allocations
    /// change should return it rather than sum them per call (busy nodes hold hundreds).
    fn node_allocated(&self, node_id: &str) -> NodeAllocated;
    /// The job's most recent deployment.
    fn latest_deployment(&self, _namespace: &str, _job_id: &str) -> Option<&Deployment> {
        None
    }
    /// Scheduler settings.
    fn config(&self) -> SchedulerConfig {
        SchedulerConfig::default()
    }
}
