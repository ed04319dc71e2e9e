//! `ProposedUsage`: what each node would hold if the plan so far were applied: existing
//! allocations, minus those the plan stops, plus those it places (Nomad's ProposedAllocs).

use std::collections::{HashMap, HashSet};

use super::group_spec::Demand;
use super::state::SchedulerState;
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
    /// Adds an existing allocation.
    pub fn add_alloc(&mut self, alloc: &Allocation, job: (&str, &str)) {
        if let Some(r) = &alloc.allocated_resources {
            self.cpu += r.cpu();
            self.memory_mb += r.memory_mb();
            self.disk_mb += r.shared.disk_mb;
            self.ports.extend(r.host_ports());
        }
        if (alloc.namespace.as_str(), alloc.job_id.as_str()) == job {
            self.job_allocs += 1;
            *self.group_allocs.entry(alloc.task_group.clone()).or_default() += 1;
        }
    }

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

/// Proposed usage of every node touched so far, built lazily.
#[derive(Debug, Default)]
pub struct ProposedUsage {
    job: (String, String),
    stopping: HashSet<String>,
    nodes: HashMap<String, NodeUsage>,
}

impl ProposedUsage {
    /// Usage for the job `namespace`/`job_id`, leaving out the allocations in `stopping`.
    pub fn new(namespace: &str, job_id: &str, stopping: HashSet<String>) -> Self {
        ProposedUsage { job: (namespace.to_string(), job_id.to_string()), stopping, nodes: HashMap::new() }
    }

    /// The node's proposed usage, reading its allocations the first time.
    pub fn node<S: SchedulerState + ?Sized>(&mut self, state: &S, node: &Node) -> &mut NodeUsage {
        let (job, stopping) = (&self.job, &self.stopping);
        self.nodes.entry(node.id.clone()).or_insert_with(|| {
            let mut usage = NodeUsage::default();
            for alloc in state.allocs_by_node(&node.id) {
                if !alloc.is_terminal() && !stopping.contains(&alloc.id) {
                    usage.add_alloc(alloc, (&job.0, &job.1));
                }
            }
            usage
        })
    }
}
