//! `apply`, `destroy` and `rollback` on an open session: each plans a [`Change`] against the
//! live view, which the caller shows and approves, then [`run_change`] executes it.
//!
//! ```text
//!  StackSession ─► plan_apply | plan_destroy | plan_rollback ─► Change { plan, ... }
//!                     (caller shows change.plan, asks)     ─► run_change ─► ApplyReport
//! ```

use super::error::OperationError;
use super::refresh::record_live;
use super::session::{StackSession, stack_values};
use super::variables::{delete_variables, write_variables};
use crate::apply::{ApplyOptions, ApplyReport, EventSink, StepOptions, build_steps, current_edges, stack_at};
use crate::graph::StackGraph;
use crate::plan::{
    Action, Adoption, LiveView, Plan, PlanOptions, Summary, check_current, check_ownership, live_view, plan,
    refresh_only, to_reclaim,
};
use crate::stack::{JobAddress, Owner, Stack};
use crate::state::ValueRecord;

/// A planned change of a session's stack, ready to show and run.
pub struct Change {
    /// The plan to show.
    pub plan: Plan,
    /// False when the plan changes nothing and nothing is left to record.
    pub has_work: bool,
    /// For a rollback, the revision it returns to.
    pub revision: Option<u64>,
    live: LiveView,
    /// The stack the plan moves to, when it is not the session's (a rollback's target).
    target: Option<Stack>,
    edges: Vec<(JobAddress, JobAddress)>,
    values: (Vec<ValueRecord>, Vec<ValueRecord>),
    purge: bool,
    prefer_revert: bool,
    atomic_allowed: bool,
    /// `-refresh-only`: record what runs, change nothing on the backend.
    refresh_only: bool,
    /// Adopted jobs to register under this stack's ownership even where unchanged.
    reclaim: Vec<JobAddress>,
}

/// How to run a change: the `-parallelism`, `-timeout` and `-atomic` flags.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Jobs in flight at once (default: the stack's, else 10).
    pub parallelism: Option<usize>,
    /// Each job's gate timeout, as given (default: the stack's, else 5m).
    pub timeout: Option<String>,
    /// Undo this apply's changes on failure (or the stack's `atomic`).
    pub atomic: bool,
    /// Promote canaries once they are healthy instead of stopping at the promotion gate.
    pub auto_promote: bool,
}

async fn live(session: &StackSession, stack: &Stack) -> Result<LiveView, OperationError> {
    let backend = session.backend()?;
    Ok(live_view(backend.as_ref(), stack, session.state.as_ref(), false).await?)
}

/// Plans applying the session's stack; with `saved`, checks that plan still holds (state,
/// live jobs and the stack's changes) and returns it. A plan that touches a job another stack
/// owns (or one registered by hand) is refused unless `adoption` covers it.
pub async fn plan_apply(
    session: &StackSession,
    saved: Option<Plan>,
    targets: Vec<String>,
    adoption: Adoption,
) -> Result<Change, OperationError> {
    let live = live(session, &session.stack).await?;
    let options = PlanOptions {
        destroy: saved.as_ref().is_some_and(|p| p.destroy),
        targets: saved.as_ref().map(|p| p.targets.clone()).unwrap_or(targets),
        adoption,
    };
    let fresh = plan(
        &session.stack,
        &session.graph,
        session.state.as_ref(),
        Some(&live),
        &options,
    )?;
    let the_plan = match saved {
        Some(saved) => {
            check_current(&saved, session.state.as_ref(), Some(&live))?;
            if !same_changes(&saved, &fresh) {
                return Err(OperationError::Refused(format!(
                    "the saved plan is stale: the stack at {} no longer plans the same changes; run deploy plan again",
                    session.stack.root.display()
                )));
            }
            saved
        }
        None => fresh,
    };
    let name = &session.stack.settings.name;
    check_ownership(&the_plan, &live, session.state.as_ref(), name, &options.adoption)?;
    let lineage = session.state.as_ref().map_or("", |s| s.lineage.as_str());
    let mut reclaim = to_reclaim(&the_plan, &live, name, lineage);
    reclaim.retain(|a| options.adoption.covers(a));
    // A job that runs as wanted but was never recorded still needs its record written.
    let unrecorded = the_plan.jobs.iter().any(|j| {
        j.action == Action::Noop && session.state.as_ref().and_then(|s| s.job(&j.address)).is_none()
    });
    Ok(Change {
        has_work: the_plan.has_changes() || unrecorded || !reclaim.is_empty(),
        plan: the_plan,
        revision: None,
        live,
        target: None,
        edges: current_edges(&session.graph),
        values: stack_values(&session.stack)?,
        purge: false,
        prefer_revert: false,
        atomic_allowed: true,
        refresh_only: false,
        reclaim,
    })
}

/// Plans `-refresh-only`: the recorded jobs whose live job differs, to be recorded as they run.
pub async fn plan_refresh_only(
    session: &StackSession,
    targets: Vec<String>,
) -> Result<Change, OperationError> {
    let change = plan_apply(session, None, targets, Adoption::default()).await?;
    let plan = refresh_only(change.plan);
    Ok(Change {
        has_work: plan.has_changes(),
        plan,
        refresh_only: true,
        ..change
    })
}

fn same_changes(a: &Plan, b: &Plan) -> bool {
    a.variables == b.variables
        && a.jobs.len() == b.jobs.len()
        && a.jobs
            .iter()
            .zip(&b.jobs)
            .all(|(x, y)| x.address == y.address && x.action == y.action && x.after == y.after)
}

/// Plans stopping every running job of the stack (within `targets`), dependents first.
pub async fn plan_destroy(
    session: &StackSession,
    targets: Vec<String>,
    purge: bool,
) -> Result<Change, OperationError> {
    let live = live(session, &session.stack).await?;
    let options = PlanOptions {
        destroy: true,
        targets,
        adoption: Adoption::default(),
    };
    let mut the_plan = plan(
        &session.stack,
        &session.graph,
        session.state.as_ref(),
        Some(&live),
        &options,
    )?;
    // Jobs of the stack that do not run are not stopped again.
    the_plan.jobs.retain(|j| live.jobs.contains_key(&j.address));
    the_plan.summary = Summary {
        destroy: the_plan.jobs.len(),
        ..Default::default()
    };
    let name = &session.stack.settings.name;
    check_ownership(&the_plan, &live, session.state.as_ref(), name, &options.adoption)?;
    let values = session
        .store
        .latest()?
        .map(|b| (b.variables, b.outputs))
        .unwrap_or_default();
    Ok(Change {
        has_work: the_plan.has_changes(),
        plan: the_plan,
        revision: None,
        live,
        target: None,
        edges: current_edges(&session.graph),
        values,
        purge,
        prefer_revert: false,
        atomic_allowed: false,
        refresh_only: false,
        reclaim: Vec::new(),
    })
}

/// Plans returning the stack to `revision` (default: the one before the latest): a forward
/// apply of that revision's specs.
pub async fn plan_rollback(session: &StackSession, revision: Option<u64>) -> Result<Change, OperationError> {
    let Some(latest) = session.state.as_ref() else {
        return Err(OperationError::Refused(
            "the stack has no recorded revision to roll back from".into(),
        ));
    };
    let serial = match revision {
        Some(r) => r,
        None if latest.serial > 1 => latest.serial - 1,
        None => {
            return Err(OperationError::Refused(format!(
                "revision {} is the first one; there is nothing before it",
                latest.serial
            )));
        }
    };
    let stored = session.store.read(serial)?;
    let target_rev = crate::state::open_revision(stored.clone(), super::input::age_identity().as_deref())?;
    let target = stack_at(&target_rev, &session.stack);
    let graph = StackGraph::build(&target)?;
    let live = live(session, &target).await?;
    let the_plan = plan(
        &target,
        &graph,
        session.state.as_ref(),
        Some(&live),
        &PlanOptions::default(),
    )?;
    let name = &session.stack.settings.name;
    check_ownership(
        &the_plan,
        &live,
        session.state.as_ref(),
        name,
        &Adoption::default(),
    )?;
    let mut edges = current_edges(&session.graph);
    edges.extend(current_edges(&graph));
    Ok(Change {
        has_work: the_plan.has_changes(),
        plan: the_plan,
        revision: Some(serial),
        live,
        target: Some(target),
        edges,
        values: (stored.variables, stored.outputs),
        purge: false,
        prefer_revert: true,
        atomic_allowed: false,
        refresh_only: false,
        reclaim: Vec::new(),
    })
}

/// Runs an approved change: builds its steps and executes them with a journal, recording a
/// new revision.
pub async fn run_change(
    session: &StackSession,
    change: Change,
    options: &RunOptions,
    sink: EventSink,
) -> Result<ApplyReport, OperationError> {
    if change.refresh_only {
        return record_live(session, &change.plan, &change.live);
    }
    let apply_options = ApplyOptions {
        parallelism: session.parallelism(options.parallelism),
        atomic: change.atomic_allowed && (options.atomic || session.stack.settings.atomic),
        auto_promote: options.auto_promote,
    };
    // The lineage the new revision will have: the state's, or a new one for a first apply,
    // decided here so that the jobs registered carry it.
    let lineage = session
        .state
        .as_ref()
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), |s| s.lineage.clone());
    let step_options = StepOptions {
        default_timeout: session.default_timeout(options.timeout.as_deref())?,
        purge: change.purge,
        prefer_revert: change.prefer_revert,
        owner: Some(Owner {
            stack: session.stack.settings.name.clone(),
            lineage: lineage.clone(),
        }),
        reclaim: change.reclaim,
        undo_order: change.prefer_revert,
    };
    let stack = change.target.as_ref().unwrap_or(&session.stack);
    let base = session.store.latest()?;
    let (records, deletes) = write_variables(
        session.backend()?.as_ref(),
        &change.plan,
        stack,
        base.as_ref(),
        &super::session::sealer(stack)?,
    )
    .await?;
    let steps = build_steps(
        session.backend()?.as_ref(),
        &change.plan,
        stack,
        session.state.as_ref(),
        Some(&change.live),
        &change.edges,
        &step_options,
    )
    .await?;
    let report = session
        .run(steps, &apply_options, (change.values, records), &lineage, sink)
        .await?;
    // Deleted only once every job that read them stopped.
    if report.success {
        delete_variables(session.backend()?.as_ref(), deletes).await?;
    }
    Ok(report)
}
