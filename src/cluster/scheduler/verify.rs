//! `verify_plan`: re-checks a plan against the latest state before it is committed (the plan
//! applier's check in Nomad): every node still exists, is ready, and still fits.

use std::collections::{HashMap, HashSet};

use super::fit::{Capacity, reserved_host_ports};
use super::plan::PlanResult;
use super::state::SchedulerState;
use crate::api::{Allocation, NodeStatus};

/// Why a plan can no longer be committed as it is.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Conflict {
    /// A node the plan uses is gone.
    #[error("node {0} no longer exists")]
    NodeMissing(String),
    /// A node the plan places on is no longer ready.
    #[error("node {0} is no longer ready")]
    NodeNotReady(String),
    /// A node would be over capacity.
    #[error("node {node} would exceed its {dimension}: {used} of {capacity}")]
    Exhausted {
        /// Node.
        node: String,
        /// `cpu`, `memory`, `disk`.
        dimension: &'static str,
        /// Proposed use.
        used: i64,
        /// Capacity.
        capacity: i64,
    },
    /// Two allocations would hold one host port.
    #[error("node {node}: port {port} would be used twice")]
    PortCollision {
        /// Node.
        node: String,
        /// Port.
        port: i64,
    },
}

/// Checks that `plan` still fits `state`.
pub fn verify_plan<S: SchedulerState + ?Sized>(state: &S, plan: &PlanResult) -> Result<(), Conflict> {
    let stopping: HashSet<&str> = plan.stop.iter().map(|s| s.alloc_id.as_str()).collect();
    // A plan stops allocations of its own job only: they leave their nodes' totals.
    let job_allocs = state.allocs_by_job(&plan.namespace, &plan.job_id);
    let mut by_node: HashMap<&str, Vec<&Allocation>> = HashMap::new();
    for a in &plan.place {
        by_node.entry(a.node_id.as_str()).or_default().push(a);
    }
    for (node_id, placed) in by_node {
        let node = state
            .node(node_id)
            .ok_or_else(|| Conflict::NodeMissing(node_id.to_string()))?;
        if node.status != NodeStatus::Ready {
            return Err(Conflict::NodeNotReady(node_id.to_string()));
        }
        let mut live = state.node_allocated(node_id);
        for a in job_allocs
            .iter()
            .filter(|a| a.node_id == node_id && !a.is_terminal() && stopping.contains(a.id.as_str()))
        {
            live.remove(a);
        }
        let mut used = (live.cpu, live.memory_mb, live.disk_mb);
        let mut ports: HashSet<i64> = reserved_host_ports(node).collect();
        for p in live.ports {
            if !ports.insert(p) {
                return Err(Conflict::PortCollision {
                    node: node_id.to_string(),
                    port: p,
                });
            }
        }
        for a in placed {
            if let Some(r) = &a.allocated_resources {
                used.0 += r.cpu();
                used.1 += r.memory_mb();
                used.2 += r.shared.disk_mb;
                for p in r.host_ports() {
                    if !ports.insert(p) {
                        return Err(Conflict::PortCollision {
                            node: node_id.to_string(),
                            port: p,
                        });
                    }
                }
            }
        }
        let cap = Capacity::of(node);
        for (dimension, used, capacity) in [
            ("cpu", used.0, cap.cpu),
            ("memory", used.1, cap.memory_mb),
            ("disk", used.2, cap.disk_mb),
        ] {
            if used > capacity {
                return Err(Conflict::Exhausted {
                    node: node_id.to_string(),
                    dimension,
                    used,
                    capacity,
                });
            }
        }
    }
    for a in &plan.in_place {
        state
            .node(&a.node_id)
            .ok_or_else(|| Conflict::NodeMissing(a.node_id.clone()))?;
    }
    Ok(())
}
