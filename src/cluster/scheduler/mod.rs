//! The scheduler: a pure function from cluster state and an evaluation to a plan.
//!
//! ```text
//!   Evaluation ──► schedule(&state, &eval, &mut rng) ──► PlanResult ──► verify_plan ──► Raft
//!                     │
//!                     ├─ service / batch ─► reconcile per group ─► place missing:
//!                     │                      CandidateSet (ready, datacenter, pool; seeded shuffle)
//!                     │                        ─► static checks (drivers, constraints, host volumes;
//!                     │                             decided once per computed node class)
//!                     │                        ─► plan checks (distinct_hosts, distinct_property)
//!                     │                        ─► fit (cpu, memory, disk, ports)
//!                     │                        ─► rank (binpack|spread, anti-affinity, affinity, spread)
//!                     │                        ─► best of log2(n) candidates (2 for batch)
//!                     └─ system / sysbatch ─► one allocation per feasible node
//! ```
//!
//! No IO, no clock, no randomness but the seeded [`SchedRng`] passed in: the same state,
//! evaluation and seed give the same plan. "Now" is the evaluation's `CreateTime`.
//! [`next_launch`] (periodic) and [`dispatch_child`] (parameterized) are pure helpers for the
//! leader's launchers.

mod alloc_builder;
mod constraint;
mod dispatch;
mod feasible;
mod fit;
mod generic;
mod group_spec;
mod periodic;
mod plan;
mod rank;
mod reconcile;
mod rng;
mod select;
mod state;
mod static_checks;
mod system;
mod target;
mod update;
mod usage;
mod verify;

#[cfg(test)]
mod tests;

pub use constraint::{CompiledConstraint, Operator};
pub use dispatch::{DispatchError, MAX_PAYLOAD_BYTES, dispatch_child};
pub use feasible::{FeasibilityChecker, PlanView, Rejection};
pub use periodic::{child_id as periodic_child_id, due_launch, next_launch, periodic_child};
pub use plan::{AllocStop, PlanResult, reason};
pub use rng::SchedRng;
pub use state::{Algorithm, NodeAllocated, SchedulerConfig, SchedulerState};
pub use target::Target;
pub use verify::{Conflict, verify_plan};

use crate::api::Evaluation;

/// Plans one evaluation: what to place where, what to stop, what to update in place, what
/// could not be placed and why.
pub fn schedule<S: SchedulerState + ?Sized>(state: &S, eval: &Evaluation, rng: &mut SchedRng) -> PlanResult {
    let namespace = if eval.namespace.is_empty() {
        "default"
    } else {
        eval.namespace.as_str()
    };
    let mut plan = PlanResult {
        eval_id: eval.id.clone(),
        namespace: namespace.to_string(),
        job_id: eval.job_id.clone(),
        ..PlanResult::default()
    };
    let job = state.job(namespace, &eval.job_id);
    match job {
        Some(job) if job.stop != Some(true) => {
            if job.is_periodic() || job.is_parameterized() {
                // Parents never run; their children are jobs of their own.
                return plan;
            }
            match job.job_type() {
                "system" | "sysbatch" => system::schedule_system(state, eval, job, rng, &mut plan),
                _ => generic::schedule_generic(state, eval, job, rng, &mut plan),
            }
        }
        _ => {
            let allocs = state.allocs_by_job(namespace, &eval.job_id);
            for s in reconcile::stop_all(&allocs, reason::JOB_STOPPED) {
                let group = allocs
                    .iter()
                    .find(|a| a.id == s.alloc_id)
                    .map(|a| a.task_group.clone())
                    .unwrap_or_default();
                plan.annotations.desired_tg_updates.entry(group).or_default().stop += 1;
                plan.stop.push(s);
            }
        }
    }
    plan
}
