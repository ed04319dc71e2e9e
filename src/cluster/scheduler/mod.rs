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
//! No IO, no randomness but the seeded [`SchedRng`] passed in: the same state, evaluation
//! and seed give the same plan. "Now" is the evaluation's `CreateTime`. The only clock read
//! is the [`Budget`]'s, which decides whether planning goes on, never what the plan holds.
//! [`next_launch`] (periodic) and [`dispatch_child`] (parameterized) are pure helpers for the
//! leader's launchers.

mod alloc_builder;
mod budget;
mod canary;
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

pub use budget::{Budget, OverBudget};
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
/// could not be placed and why. Never gives up (dry runs, tests); see [`schedule_within`].
pub fn schedule<S: SchedulerState + ?Sized>(state: &S, eval: &Evaluation, rng: &mut SchedRng) -> PlanResult {
    match schedule_within(state, eval, rng, &Budget::unlimited()) {
        Ok(plan) => plan,
        Err(e) => unreachable!("an unlimited budget ran out: {e}"),
    }
}

/// Plans one evaluation like [`schedule`], giving up when `budget` runs out (checked between
/// placements).
pub fn schedule_within<S: SchedulerState + ?Sized>(
    state: &S,
    eval: &Evaluation,
    rng: &mut SchedRng,
    budget: &Budget,
) -> Result<PlanResult, OverBudget> {
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
    match state.job(namespace, &eval.job_id) {
        // Periodic and parameterized parents never run; their children are jobs of their own.
        Some(job) if job.stop != Some(true) && (job.is_periodic() || job.is_parameterized()) => {}
        Some(job) if job.stop != Some(true) => match job.job_type() {
            "system" | "sysbatch" => system::schedule_system(state, eval, job, rng, &mut plan, budget)?,
            _ => generic::schedule_generic(state, eval, job, rng, &mut plan, budget)?,
        },
        _ => {
            let allocs = state.allocs_by_job(namespace, &eval.job_id);
            reconcile::stop_all_counted(&allocs, reason::JOB_STOPPED, &mut plan);
        }
    }
    Ok(plan)
}
