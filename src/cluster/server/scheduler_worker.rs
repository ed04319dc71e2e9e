//! The scheduler worker, on the leader: takes pending evaluations from the broker, plans each
//! on a snapshot, re-checks the plan against the latest state and commits it through Raft as
//! one [`PlanApply`] command. Blocked evaluations are made pending again when nodes change.
//!
//! ```text
//!  applied index moves ─► leader? ─► nodes changed? ─► EvalUpsert(blocked → pending)
//!                                 └► pending evals ─► SchedView ─► schedule ─► verify_plan
//!                                                        (latest state) ─► PlanApply via Raft
//! ```
//!
//! Every choice (allocation IDs through the seeded RNG, times) is made before proposing, so
//! apply stays deterministic. A plan that no longer verifies is re-planned a few times, then
//! the evaluation is committed as `failed`.

use std::sync::Arc;
use std::time::Duration;

use super::eval_broker;
use super::evals::now_nanos;
use super::sched_view::{SchedView, ViewCache};
use super::{ClusterNode, LocalWrite};
use crate::api::namespace_or_default;
use crate::api::{EvalStatus, triggered_by};
use crate::cluster::error::ClusterError;
use crate::cluster::fsm::{Command, Evaluation, PlanApply, PlanStop};
use crate::cluster::scheduler::{PlanResult, SchedRng, schedule, verify_plan};

/// How often the worker looks for work when nothing is applied.
const IDLE_POLL: Duration = Duration::from_millis(250);

/// Plan attempts before an evaluation whose plans keep conflicting is failed.
const MAX_ATTEMPTS: usize = 3;

/// Runs the worker until the task is aborted. Does nothing on followers.
pub async fn run(node: Arc<ClusterNode>) {
    let mut seen_nodes_index = 0u64;
    // The node table shared by the views of successive evaluations while no node changes.
    let mut views = ViewCache::default();
    loop {
        let index = node.state().index();
        node.state().wait_for_index(index + 1, IDLE_POLL).await;
        if !node.is_leader() {
            continue;
        }
        if let Err(e) = step(&node, &mut seen_nodes_index, &mut views).await {
            tracing::debug!("scheduler worker: {e}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One pass: wake blocked evaluations if nodes changed, then process every pending one.
async fn step(
    node: &ClusterNode,
    seen_nodes_index: &mut u64,
    views: &mut ViewCache,
) -> Result<(), ClusterError> {
    let (nodes_index, blocked) = {
        let state = node.state().read();
        (state.table_index("nodes"), eval_broker::blocked(&state))
    };
    if nodes_index > *seen_nodes_index {
        if !blocked.is_empty() {
            let now = now_nanos();
            let evals = blocked
                .into_iter()
                .map(|mut e| {
                    e.status = EvalStatus::Pending;
                    e.status_description = "unblocked by a node update".into();
                    e.modify_time = now;
                    e
                })
                .collect();
            if !commit(node, Command::EvalUpsert { evals }).await? {
                return Ok(());
            }
        }
        *seen_nodes_index = nodes_index;
    }
    loop {
        let next = eval_broker::pending(&node.state().read()).into_iter().next();
        let Some(eval) = next else { return Ok(()) };
        let cmd = plan_eval(node, &eval, views);
        if !commit(node, cmd).await? {
            return Ok(());
        }
    }
}

/// Proposes `cmd` on this server only; false when it is no longer the leader.
async fn commit(node: &ClusterNode, cmd: Command) -> Result<bool, ClusterError> {
    Ok(matches!(node.write_local(cmd).await?, LocalWrite::Applied(_)))
}

/// Plans `eval` and returns the command that commits the result; `views` keeps the node
/// table between evaluations.
pub fn plan_eval(node: &ClusterNode, eval: &Evaluation, views: &mut ViewCache) -> Command {
    let mut last_conflict = String::new();
    for attempt in 0..MAX_ATTEMPTS {
        let ns = namespace_or_default(&eval.namespace);
        let view = SchedView::for_job_cached(&node.state().read(), ns, &eval.job_id, views);
        let mut rng = SchedRng::seeded(seed(&eval.id, view.index, attempt));
        let plan = schedule(&view, eval, &mut rng);
        let latest = {
            let state = node.state().read();
            (state.index != view.index).then(|| SchedView::for_job_cached(&state, ns, &eval.job_id, views))
        };
        match verify_plan(latest.as_ref().unwrap_or(&view), &plan) {
            Ok(()) => return Command::PlanApply(Box::new(to_command(eval, plan, view.index, &mut rng))),
            Err(c) => last_conflict = c.to_string(),
        }
    }
    let now = now_nanos();
    let mut failed = eval.clone();
    failed.status = EvalStatus::Failed;
    failed.status_description = format!("plan rejected after {MAX_ATTEMPTS} attempts: {last_conflict}");
    failed.modify_time = now;
    Command::PlanApply(Box::new(PlanApply {
        eval: failed,
        blocked_eval: None,
        place: Vec::new(),
        stop: Vec::new(),
        in_place: Vec::new(),
        deployment: None,
        now,
    }))
}

/// Turns a verified plan into the commit command: the evaluation's final state, and a
/// blocked evaluation when placements failed.
fn to_command(eval: &Evaluation, plan: PlanResult, snapshot_index: u64, rng: &mut SchedRng) -> PlanApply {
    let now = now_nanos();
    let mut done = eval.clone();
    done.status = EvalStatus::Complete;
    done.status_description = String::new();
    done.snapshot_index = snapshot_index;
    done.modify_time = now;
    done.queued_allocations = Some(plan.queued_allocations.clone());
    let blocked_eval = if plan.failed_tg_allocs.is_empty() {
        done.failed_tg_allocs = None;
        None
    } else {
        done.failed_tg_allocs = Some(plan.failed_tg_allocs.clone());
        Some(Evaluation {
            id: rng.uuid(),
            namespace: eval.namespace.clone(),
            priority: eval.priority,
            r#type: eval.r#type.clone(),
            triggered_by: triggered_by::QUEUED_ALLOCS.into(),
            job_id: eval.job_id.clone(),
            job_modify_index: eval.job_modify_index,
            status: EvalStatus::Blocked,
            status_description: "created to place remaining allocations".into(),
            previous_eval: eval.id.clone(),
            failed_tg_allocs: Some(plan.failed_tg_allocs.clone()),
            create_time: now,
            modify_time: now,
            ..Default::default()
        })
    };
    PlanApply {
        eval: done,
        blocked_eval,
        place: plan.place,
        stop: plan
            .stop
            .into_iter()
            .map(|s| PlanStop {
                alloc_id: s.alloc_id,
                description: s.description,
                client_status: s.client_status,
            })
            .collect(),
        in_place: plan.in_place,
        deployment: plan.deployment,
        now,
    }
}

/// The RNG seed of one planning attempt: the evaluation, the snapshot and the attempt.
fn seed(eval_id: &str, index: u64, attempt: usize) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in eval_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^ index.rotate_left(17) ^ attempt as u64
}
