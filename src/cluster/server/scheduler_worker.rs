//! The scheduler worker, on the leader: takes a batch of pending evaluations from the broker
//! (at most one per job), plans each on one snapshot, re-checks the plans against the latest
//! state and commits them through Raft, one [`PlanApply`] command each, proposed together so
//! that they share a log entry, in groups of at most [`MAX_ALLOCS_PER_COMMIT`] allocations
//! committed one after another. Blocked evaluations are made pending again when nodes change
//! or resources are freed ([`eval_broker::Waker`]), and blocked again as themselves when they
//! still cannot place everything.
//!
//! ```text
//!  applied index moves ─► leader? ─► wake due? ─► EvalUpsert(blocked → pending)
//!                                 └► next pending evals (≤ BATCH) ─► blocking thread:
//!                                    SchedViews (one pass) ─► schedule each (time budget,
//!                                    the batch's earlier placements counted) ─► verify_plan
//!                                    (latest state) ─► PlanApply × n via Raft, in groups
//!                                    of ≤ MAX_ALLOCS_PER_COMMIT allocations, one entry each
//! ```
//!
//! Every choice (allocation IDs through the seeded RNG, times) is made before proposing, so
//! apply stays deterministic. Planning runs on tokio's blocking pool with a time budget that
//! the scheduler checks between placements, so no evaluation holds a runtime thread or the
//! worker: one that runs out of budget is set aside for the rest of the pass and the next
//! is taken. An evaluation that runs out of budget, or whose plans no longer verify, a few
//! times in a row is committed as `failed` with the reason in its `StatusDescription`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::eval_broker;
use super::evals::now_nanos;
use super::sched_view::{SchedView, ViewCache};
use super::{ClusterNode, LocalWrite};
use crate::api::Allocation;
use crate::api::namespace_or_default;
use crate::api::{EvalStatus, triggered_by};
use crate::cluster::error::ClusterError;
use crate::cluster::fsm::{Command, Evaluation, PlanApply, PlanStop};
use crate::cluster::scheduler::{Budget, OverBudget, PlanResult, SchedRng, schedule_within, verify_plan};

/// How often the worker looks for work when nothing is applied.
const IDLE_POLL: Duration = Duration::from_millis(250);

/// Plan attempts before an evaluation whose plans keep conflicting, or that keeps running
/// out of budget, is failed.
const MAX_ATTEMPTS: usize = 3;

/// How long planning one evaluation may take (see `docs/limits.md`).
pub const EVAL_BUDGET: Duration = Duration::from_secs(10);

/// Most evaluations planned on one snapshot.
pub const BATCH: usize = 64;

/// Most allocations (placed, updated or stopped) the plans proposed together may carry; a
/// batch's plans beyond it are committed in further groups, each after the one before.
///
/// Plans proposed together share one log entry, which every follower must receive, decode and
/// write within one append round trip (a few hundred milliseconds). A placed allocation is
/// about 1.6 KB of JSON, so a full batch of large plans (64 × 100 placements) made a 10 MB
/// entry: its append timed out again at every retry, nothing after it committed, and the
/// followers, hearing no leader, started elections. This bound keeps an entry near 1 MB.
pub const MAX_ALLOCS_PER_COMMIT: usize = super::proposer::MAX_BATCH_WEIGHT;

/// Runs the worker until the task is aborted. Does nothing on followers.
pub async fn run(node: Arc<ClusterNode>) {
    let mut worker = Worker::new(node, EVAL_BUDGET);
    loop {
        let index = worker.node.state().index();
        worker.node.state().wait_for_index(index + 1, IDLE_POLL).await;
        if !worker.node.is_leader() {
            worker.strikes = Strikes::default();
            continue;
        }
        if let Err(e) = worker.step().await {
            tracing::debug!("scheduler worker: {e}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Sets its flag when dropped: the worker's future is dropped when the server shuts down
/// (its task aborted), and a plan under way on the blocking pool then stops at its next
/// check instead of holding the runtime's shutdown.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What one planning attempt came to.
pub enum Attempt {
    /// A command to commit (placements, or the evaluation failed for good).
    Planned(Box<Command>),
    /// The attempt gave up (budget, or a panic in the scheduler); the reason.
    GaveUp(String),
    /// The server is shutting down.
    Cancelled,
}

/// Attempts that gave up so far, per evaluation ID.
#[derive(Default)]
struct Strikes(HashMap<String, usize>);

impl Strikes {
    /// Records that planning `eval` gave up for `reason`; the command that fails it once it
    /// has given up `MAX_ATTEMPTS` times, else `None` (it is tried again later).
    fn give_up(&mut self, eval: &Evaluation, reason: &str) -> Option<Command> {
        let strikes = self.0.entry(eval.id.clone()).or_insert(0);
        *strikes += 1;
        if *strikes < MAX_ATTEMPTS {
            return None;
        }
        self.0.remove(&eval.id);
        Some(failed(
            eval,
            format!("gave up after {MAX_ATTEMPTS} attempts: {reason}"),
        ))
    }

    /// Forgets `id` (it was planned).
    fn forget(&mut self, id: &str) {
        self.0.remove(id);
    }
}

/// The worker's memory between passes.
struct Worker {
    node: Arc<ClusterNode>,
    budget: Duration,
    waker: eval_broker::Waker,
    /// The node table shared by the views of successive evaluations while no node changes.
    views: ViewCache,
    strikes: Strikes,
    cancel: Arc<AtomicBool>,
    _cancel_on_drop: CancelOnDrop,
}

impl Worker {
    fn new(node: Arc<ClusterNode>, budget: Duration) -> Worker {
        let cancel = Arc::new(AtomicBool::new(false));
        Worker {
            node,
            budget,
            waker: eval_broker::Waker::default(),
            views: ViewCache::default(),
            strikes: Strikes::default(),
            _cancel_on_drop: CancelOnDrop(Arc::clone(&cancel)),
            cancel,
        }
    }

    /// One pass: wake blocked evaluations if nodes changed, then process every pending one,
    /// a batch at a time (those that gave up in this pass wait for the next).
    async fn step(&mut self) -> Result<(), ClusterError> {
        if !self.wake_blocked().await? {
            return Ok(());
        }
        let mut set_aside: HashSet<String> = HashSet::new();
        loop {
            let batch =
                eval_broker::next_batch(&self.node.state().read(), BATCH, |e| set_aside.contains(&e.id));
            if batch.is_empty() {
                return Ok(());
            }
            let mut cmds = Vec::with_capacity(batch.len());
            for (eval, attempt) in self.plan_blocking(batch).await {
                match attempt {
                    Attempt::Planned(cmd) => {
                        self.strikes.forget(&eval.id);
                        cmds.push(*cmd);
                    }
                    Attempt::Cancelled => return Ok(()),
                    Attempt::GaveUp(reason) => {
                        tracing::warn!("evaluation {} gave up: {reason}", eval.id);
                        match self.strikes.give_up(&eval, &reason) {
                            Some(cmd) => cmds.push(cmd),
                            None => {
                                set_aside.insert(eval.id);
                            }
                        }
                    }
                }
            }
            for group in commit_groups(cmds, MAX_ALLOCS_PER_COMMIT) {
                if !commit_all(&self.node, group).await? {
                    return Ok(());
                }
            }
        }
    }

    /// Makes blocked evaluations pending when nodes changed or resources were freed (see
    /// [`eval_broker::Waker`]); false when this server is no longer the leader.
    async fn wake_blocked(&mut self) -> Result<bool, ClusterError> {
        let now = Instant::now();
        let eval_broker::Wake { evals, seen } = self.waker.due(&self.node.state().read(), now);
        if !evals.is_empty() && !commit_all(&self.node, vec![Command::EvalUpsert { evals }]).await? {
            return Ok(false);
        }
        self.waker.woke(seen, now);
        Ok(true)
    }

    /// Plans `batch` on the blocking pool, each evaluation within the budget; every
    /// evaluation with what its attempt came to.
    async fn plan_blocking(&mut self, batch: Vec<Evaluation>) -> Vec<(Evaluation, Attempt)> {
        let node = Arc::clone(&self.node);
        let mut views = std::mem::take(&mut self.views);
        let (limit, cancel) = (self.budget, Arc::clone(&self.cancel));
        let joined = tokio::task::spawn_blocking(move || {
            let budget = || Budget::of(limit).cancelled_by(Arc::clone(&cancel));
            let attempts = plan_batch(&node, &batch, &mut views, &budget);
            (batch.into_iter().zip(attempts).collect(), views)
        })
        .await;
        match joined {
            Ok((attempts, views)) => {
                self.views = views;
                attempts
            }
            // Panics are caught per evaluation: only a cancelled runtime lands here.
            Err(_) => Vec::new(),
        }
    }
}

/// Proposes `cmds` on this server at once, so that they share a log entry; false when it is
/// no longer the leader.
async fn commit_all(node: &ClusterNode, cmds: Vec<Command>) -> Result<bool, ClusterError> {
    let writes = cmds.into_iter().map(|cmd| node.write_local(cmd));
    let mut leader = true;
    for written in futures_util::future::join_all(writes).await {
        leader &= matches!(written?, LocalWrite::Applied(_));
    }
    Ok(leader)
}

/// Splits `cmds`, in order, into groups carrying at most `max` allocations each (a command
/// carrying more is a group of its own): each group is proposed together, after the one
/// before it is committed.
fn commit_groups(cmds: Vec<Command>, max: usize) -> Vec<Vec<Command>> {
    let mut groups: Vec<Vec<Command>> = Vec::new();
    let mut carried = 0;
    for cmd in cmds {
        let n = cmd.weight();
        match groups.last_mut() {
            Some(group) if carried + n <= max => group.push(cmd),
            _ => {
                groups.push(vec![cmd]);
                carried = 0;
            }
        }
        carried += n;
    }
    groups
}

/// A plan made on a view at index `.2`, with the RNG that made it.
type Draft = (PlanResult, SchedRng, u64);

/// Plans every evaluation of `evals` (at most one per job) and returns, in order, what each
/// came to: all are planned on one snapshot, each counting the placements of those before it,
/// then verified on the latest state (each counting the placements of those before it that
/// verified) and planned again there, a few times at most, when it no longer fits. A panic
/// or an exhausted `budget` ends one evaluation's attempt, not the batch's.
pub fn plan_batch(
    node: &ClusterNode,
    evals: &[Evaluation],
    views: &mut ViewCache,
    budget: &dyn Fn() -> Budget,
) -> Vec<Attempt> {
    let keys: Vec<(String, String)> = evals
        .iter()
        .map(|e| (namespace_or_default(&e.namespace).to_owned(), e.job_id.clone()))
        .collect();
    let mut snapshot = SchedView::for_jobs(&node.state().read(), &keys, views);
    let snapshot_index = snapshot.first().map_or(0, |v| v.index);
    let mut placed: Vec<Allocation> = Vec::new();
    let mut drafts: Vec<Result<Draft, Attempt>> = Vec::with_capacity(evals.len());
    for (eval, view) in evals.iter().zip(snapshot.iter_mut()) {
        view.set_planned(&placed);
        let drafted = caught(|| draft(view, eval, 0, &budget()));
        if let Ok((plan, ..)) = &drafted {
            placed.extend(plan.place.iter().chain(&plan.in_place).cloned());
        }
        drafts.push(drafted);
    }
    let mut latest = {
        let state = node.state().read();
        if state.index == snapshot_index {
            snapshot
        } else {
            SchedView::for_jobs(&state, &keys, views)
        }
    };
    let mut accepted: Vec<Allocation> = Vec::new();
    let mut out = Vec::with_capacity(evals.len());
    for ((eval, drafted), view) in evals.iter().zip(drafts).zip(latest.iter_mut()) {
        view.set_planned(&accepted);
        let attempt = drafted.and_then(|d| verify_or_replan(view, eval, d, budget));
        if let Ok((plan, ..)) = &attempt {
            accepted.extend(plan.place.iter().chain(&plan.in_place).cloned());
        }
        out.push(match attempt {
            Ok((plan, mut rng, index)) => {
                let apply = to_command(eval, plan, index, &mut rng);
                Attempt::Planned(Box::new(Command::PlanApply(Box::new(apply))))
            }
            Err(a) => a,
        });
    }
    out
}

/// Verifies `drafted` on `view` (the latest state) and plans again there while it conflicts,
/// up to [`MAX_ATTEMPTS`] verifications; then the evaluation is failed with the conflict.
fn verify_or_replan(
    view: &SchedView,
    eval: &Evaluation,
    drafted: Draft,
    budget: &dyn Fn() -> Budget,
) -> Result<Draft, Attempt> {
    let mut drafted = drafted;
    let mut last_conflict = String::new();
    for attempt in 0..MAX_ATTEMPTS {
        if attempt > 0 {
            drafted = caught(|| draft(view, eval, attempt, &budget()))?;
        }
        match verify_plan(view, &drafted.0) {
            Ok(()) => return Ok(drafted),
            Err(c) => last_conflict = c.to_string(),
        }
    }
    Err(Attempt::Planned(Box::new(failed(
        eval,
        format!("plan rejected after {MAX_ATTEMPTS} attempts: {last_conflict}"),
    ))))
}

/// One planning attempt of `eval` on `view`.
fn draft(view: &SchedView, eval: &Evaluation, attempt: usize, budget: &Budget) -> Result<Draft, OverBudget> {
    let mut rng = SchedRng::seeded(seed(&eval.id, view.index, attempt));
    let plan = schedule_within(view, eval, &mut rng, budget)?;
    Ok((plan, rng, view.index))
}

/// Runs one planning attempt, turning a panic or an exhausted budget into what the worker
/// does about it.
fn caught<T>(plan: impl FnOnce() -> Result<T, OverBudget>) -> Result<T, Attempt> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(plan)) {
        Ok(Ok(planned)) => Ok(planned),
        Ok(Err(OverBudget::Cancelled)) => Err(Attempt::Cancelled),
        Ok(Err(e)) => Err(Attempt::GaveUp(e.to_string())),
        Err(_) => Err(Attempt::GaveUp("the scheduler panicked".into())),
    }
}

/// Commits `eval` as `failed` with `reason`, placing and stopping nothing.
fn failed(eval: &Evaluation, reason: String) -> Command {
    let now = now_nanos();
    let mut failed = eval.clone();
    failed.status = EvalStatus::Failed;
    failed.status_description = reason;
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
    } else if eval.triggered_by == triggered_by::QUEUED_ALLOCS {
        // A blocked evaluation woken to try again: blocked again as itself (Nomad's reblock),
        // so a job keeps one blocked evaluation however often it is woken.
        done.status = EvalStatus::Blocked;
        done.status_description = "blocked again: placements still find no room".into();
        done.failed_tg_allocs = Some(plan.failed_tg_allocs.clone());
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

#[cfg(test)]
#[path = "scheduler_worker_tests.rs"]
mod tests;
