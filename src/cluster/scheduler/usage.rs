//! `ProposedUsage`: what each node would hold if the plan so far were applied: existing
//! allocations, minus those the plan stops, plus those it places (Nomad's ProposedAllocs).

use std::collections::{HashMap, HashSet};

use super::group_spec::Demand;
use super::state::{NodeAllocated, SchedulerState};
use crate::api::{Allocation, Node};

/// One node's proposed load.
#[derive(Clone, Debug, Default)]
pub struct NodeUsage {
    /// CPU MHz in use.
    pub cpu: i64,
    /// Memory MB in use.
    pub memory_mb: i64,
    /// Disk MB in use.
    pub disk_mb: i64,
    /// Host ports in use.
    pub ports: HashSet<i64>,
    /// Allocations of the job being scheduled.
    pub job_allocs: u32,
    /// Of those, per group.
    pub group_allocs: HashMap<String, u32>,
}

impl NodeUsage {
    /// Adds a placement of `group` of the job being scheduled.
    pub fn add_placement(&mut self, group: &str, demand: &Demand, ports: &[i64]) {
        self.cpu += demand.cpu;
        self.memory_mb += demand.memory_mb;
        self.disk_mb += demand.disk_mb;
        self.ports.extend(ports.iter().copied());
        self.job_allocs += 1;
        *self.group_allocs.entry(group.to_string()).or_default() += 1;
    }

    /// Allocations of `group` of the job on this node.
    pub fn group_count(&self, group: &str) -> u32 {
        self.group_allocs.get(group).copied().unwrap_or(0)
    }
}

/// Proposed usage of every node touched so far, built lazily from the state's per-node
/// totals, minus the job's allocations being stopped, plus the job's own counts.
#[derive(Debug, Default)]
pub struct ProposedUsage {
    /// Per node: resources of the job's allocations this plan stops.
    stopped: HashMap<String, NodeAllocated>,
    /// Per node: the job's live allocations per group.
    job_counts: HashMap<String, HashMap<String, u32>>,
    /// Per node index (of the state's nodes): where its usage is in `nodes`.
    slots: Vec<u32>,
    nodes: Vec<NodeUsage>,
}

/// A node whose usage has not been read yet.
const NO_SLOT: u32 = u32::MAX;

impl ProposedUsage {
    /// Usage for a job whose allocations are `job_allocs`, leaving out those in `stopping`.
    pub fn new(job_allocs: &[&Allocation], stopping: &HashSet<String>) -> Self {
        let mut usage = ProposedUsage::default();
        for a in job_allocs.iter().filter(|a| !a.is_terminal()) {
            if stopping.contains(&a.id) {
                usage.stopped.entry(a.node_id.clone()).or_default().add(a);
            } else {
                let groups = usage.job_counts.entry(a.node_id.clone()).or_default();
                *groups.entry(a.task_group.clone()).or_default() += 1;
            }
        }
        usage
    }

    /// The proposed usage of `node`, the node at `index` of the state's nodes, read from the
    /// state the first time. Kept by index: a visit costs no hashing of the node's ID.
    pub fn node<S: SchedulerState + ?Sized>(
        &mut self,
        state: &S,
        index: usize,
        node: &Node,
    ) -> &mut NodeUsage {
        if self.slots.len() <= index {
            self.slots.resize(state.nodes().len().max(index + 1), NO_SLOT);
        }
        if self.slots[index] == NO_SLOT {
            let usage = self.initial(state, node);
            self.slots[index] = self.nodes.len() as u32;
            self.nodes.push(usage);
        }
        &mut self.nodes[self.slots[index] as usize]
    }

    fn initial<S: SchedulerState + ?Sized>(&self, state: &S, node: &Node) -> NodeUsage {
        let total = state.node_allocated(&node.id);
        let mut usage = NodeUsage {
            cpu: total.cpu,
            memory_mb: total.memory_mb,
            disk_mb: total.disk_mb,
            ports: total.ports.into_iter().collect(),
            ..NodeUsage::default()
        };
        if let Some(gone) = self.stopped.get(&node.id) {
            usage.cpu -= gone.cpu;
            usage.memory_mb -= gone.memory_mb;
            usage.disk_mb -= gone.disk_mb;
            for p in &gone.ports {
                usage.ports.remove(p);
            }
        }
        if let Some(groups) = self.job_counts.get(&node.id) {
            usage.job_allocs = groups.values().sum();
            usage.group_allocs = groups.clone();
        }
        usage
    }
}
