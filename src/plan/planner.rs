//! The planner: a pure function from the stack, its graph, the recorded state and (optionally)
//! a live view to a [`Plan`]. It does no IO.
//!
//! ```text
//!  for each job in the target closure:  new = canonicalize(stack job)
//!      baseline = live spec if refreshed, else recorded spec
//!      diff(baseline, new) ─► action + reason;  recorded vs live ─► drift
//!  sort by (wave, address);  recorded jobs gone from the stack ─► destroy;  count
//! ```

use std::collections::{BTreeSet, HashSet};

use super::model::{
    Action, DependsOn, Drift, JobChange, LiveView, PLAN_FORMAT_VERSION, Plan, StateRef, Summary,
};
use crate::graph::StackGraph;
use crate::spec::admission::without_admission;
use crate::spec::diff::{DiffType, JobDiff, SensitivePaths, diff};
use crate::spec::{Job, canonicalize};
use crate::stack::{JobAddress, Stack, StackJob};
use crate::state::Revision;

/// How to plan.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Plan the removal of everything (in the target closure).
    pub destroy: bool,
    /// Limit to these addresses (jobs or `module.x`) and what they wait for.
    pub targets: Vec<String>,
    /// Jobs of other owners to take over (checked by [`crate::plan::check_ownership`]).
    pub adoption: super::Adoption,
}

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A `-target` names nothing in the stack.
    #[error("{0}")]
    UnknownTarget(String),
}

fn action_of(d: &JobDiff) -> Action {
    match d.r#type {
        DiffType::Added => Action::Create,
        DiffType::Deleted => Action::Destroy,
        DiffType::None => Action::Noop,
        DiffType::Edited if d.is_destructive() => Action::UpdateDestructive,
        DiffType::Edited => Action::Update,
    }
}

/// Makes the plan. `state` must have its sensitive values opened (see [`crate::state::open_job`]).
///
/// Phases: select the target closure → one change per stack job → order by wave → destroy
/// recorded jobs the stack no longer has → count.
pub fn plan(
    stack: &Stack,
    graph: &StackGraph,
    state: Option<&Revision>,
    live: Option<&LiveView>,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    let selected = select(graph, options)?;
    let inputs = Inputs {
        graph,
        state,
        live,
        destroy: options.destroy,
    };
    let mut jobs: Vec<JobChange> = stack
        .jobs
        .iter()
        .enumerate()
        .filter(|(i, _)| selected.as_ref().is_none_or(|s| s.contains(i)))
        .map(|(i, sj)| inputs.stack_change(i, sj))
        .collect();
    // Addresses are unique, so an unstable sort gives the one order and needs no buffer.
    jobs.sort_unstable_by(|a, b| (a.wave, &a.address).cmp(&(b.wave, &b.address)));
    jobs.extend(inputs.removals(stack, &options.targets));
    // With -target, only the variables the selected jobs read are planned.
    let targeted: BTreeSet<&JobAddress> = jobs.iter().map(|j| &j.address).collect();
    let variables = super::plan_variables(&stack.nomad_variables, state, options.destroy)
        .into_iter()
        .filter(|v| selected.is_none() || v.read_by.iter().any(|r| targeted.contains(r)))
        .collect();
    Ok(Plan {
        format_version: PLAN_FORMAT_VERSION.to_string(),
        stack: stack.settings.name.clone(),
        destroy: options.destroy,
        refreshed: live.is_some(),
        targets: options.targets.clone(),
        state: state.map(|s| StateRef {
            lineage: s.lineage.clone(),
            serial: s.serial,
        }),
        summary: summarize(&jobs),
        jobs,
        variables,
    })
}

/// The graph indexes that `-target` selects with what they depend on; `None`: every job.
fn select(graph: &StackGraph, options: &PlanOptions) -> Result<Option<BTreeSet<usize>>, PlanError> {
    if options.targets.is_empty() {
        return Ok(None);
    }
    graph
        .closure(&options.targets)
        .map(Some)
        .map_err(PlanError::UnknownTarget)
}

/// What every per-job phase reads.
struct Inputs<'a> {
    graph: &'a StackGraph,
    state: Option<&'a Revision>,
    live: Option<&'a LiveView>,
    destroy: bool,
}

impl Inputs<'_> {
    /// The change for stack job `i`: its spec against the live one when refreshed, else the
    /// recorded one.
    fn stack_change(&self, i: usize, sj: &StackJob) -> JobChange {
        let recorded = self.state.and_then(|s| s.job(&sj.address));
        let live_job = self.live.and_then(|l| l.jobs.get(&sj.address));
        let mut sensitive: SensitivePaths = sj.sensitive_paths.iter().cloned().collect();
        if let Some(r) = recorded {
            sensitive.extend(r.sensitive_paths.iter().cloned());
        }
        let new = (!self.destroy).then(|| canonicalize(&sj.job));
        // What the live job's server added on registration is not a change of the stack's.
        let live_vs_new =
            live_job.map(|l| without_admission(l.spec.clone(), new.as_ref().unwrap_or(&l.spec)));
        let baseline: Option<&Job> = match self.live {
            Some(_) => live_vs_new.as_ref(),
            None => recorded.map(|r| &r.spec),
        };
        let d = diff(baseline, new.as_ref(), &sensitive);
        let action = action_of(&d);
        let drift = self
            .live
            .and_then(|_| drift_of(recorded.map(|r| &r.spec), live_job.map(|l| &l.spec), &sensitive));
        let depends_on = self
            .graph
            .dependencies_of(i)
            .into_iter()
            .map(|e| DependsOn {
                address: e.to.clone(),
                gate: e.gate,
                timeout: e.timeout,
            })
            .collect();
        JobChange {
            address: sj.address.clone(),
            action,
            reason: d.reason(),
            after: if matches!(action, Action::Destroy | Action::Noop) {
                None
            } else {
                new.map(|j| Box::new(masked(j, &sensitive)))
            },
            diff: d,
            drift,
            gate_not_passed: recorded
                .and_then(|r| r.gate.as_ref())
                .filter(|g| !g.passed && !self.destroy)
                .map(|g| g.detail.clone()),
            volatile: if self.destroy {
                Vec::new()
            } else {
                sj.volatile.clone()
            },
            placement: self.live.and_then(|l| l.placements.get(&sj.address).cloned()),
            depends_on,
            wave: self.graph.wave_of(i),
            job_modify_index: live_job
                .map(|l| l.modify_index)
                .or(recorded.and_then(|r| r.job_modify_index)),
        }
    }

    /// Destroys for the recorded jobs (within the targets) that the stack no longer has and
    /// that still run (or may: without a live view, every one).
    fn removals(&self, stack: &Stack, targets: &[String]) -> Vec<JobChange> {
        let Some(rev) = self.state else {
            return Vec::new();
        };
        let in_stack: HashSet<&JobAddress> = stack.jobs.iter().map(|j| &j.address).collect();
        let mut jobs = Vec::new();
        for r in &rev.jobs {
            if in_stack.contains(&r.address) || !targeted(targets, &r.address) {
                continue;
            }
            let live_job = self.live.and_then(|l| l.jobs.get(&r.address));
            if self.live.is_some() && live_job.is_none() {
                continue; // already gone from the backend: nothing to destroy
            }
            let sensitive: SensitivePaths = r.sensitive_paths.iter().cloned().collect();
            let before = live_job.map(|l| &l.spec).unwrap_or(&r.spec);
            let d = diff(Some(before), None, &sensitive);
            jobs.push(JobChange {
                address: r.address.clone(),
                action: Action::Destroy,
                reason: d.reason(),
                diff: d,
                after: None,
                drift: self
                    .live
                    .and_then(|_| drift_of(Some(&r.spec), live_job.map(|l| &l.spec), &sensitive)),
                gate_not_passed: None,
                volatile: Vec::new(),
                placement: None,
                depends_on: Vec::new(),
                wave: 0,
                job_modify_index: live_job.map(|l| l.modify_index).or(r.job_modify_index),
            });
        }
        jobs
    }
}

/// Counts the changes by action.
fn summarize(jobs: &[JobChange]) -> Summary {
    let mut summary = Summary::default();
    for j in jobs {
        *match j.action {
            Action::Create => &mut summary.create,
            Action::Update => &mut summary.update,
            Action::UpdateDestructive => &mut summary.update_destructive,
            Action::Destroy => &mut summary.destroy,
            Action::Noop => &mut summary.noop,
        } += 1;
    }
    summary.unplaced = jobs
        .iter()
        .filter(|j| j.placement.as_ref().is_some_and(|p| p.fails()))
        .count();
    summary
}

fn targeted(targets: &[String], address: &JobAddress) -> bool {
    targets.is_empty()
        || targets
            .iter()
            .any(|t| address.0 == *t || address.0.starts_with(&format!("{t}.")))
}

/// Recorded → live, modulo what the live job's server added on registration (Nomad's
/// implicit constraints), so a job applied to a real Nomad shows no permanent drift.
fn drift_of(recorded: Option<&Job>, live: Option<&Job>, sensitive: &SensitivePaths) -> Option<Box<Drift>> {
    if recorded.is_none() && live.is_none() {
        return None;
    }
    let live = live.map(|l| without_admission(l.clone(), recorded.unwrap_or(l)));
    let live = live.as_ref();
    let d = diff(recorded, live, sensitive);
    (d.r#type != DiffType::None).then(|| {
        Box::new(Drift {
            recorded: recorded.map(|j| masked(j.clone(), sensitive)),
            live: live.map(|j| masked(j.clone(), sensitive)),
            diff: d,
        })
    })
}

/// The job with values at sensitive paths replaced by `(sensitive)`, so that no view of the
/// plan (JSON, saved file) holds them in clear; apply takes them from the stack.
fn masked(job: Job, sensitive: &SensitivePaths) -> Job {
    if sensitive.is_empty() {
        return job;
    }
    let Ok(mut v) = serde_json::to_value(&job) else {
        return job;
    };
    for path in sensitive {
        if let Some(slot) = crate::state::lookup(&mut v, path) {
            *slot = serde_json::Value::String(crate::state::SEALED.into());
        }
    }
    serde_json::from_value(v).unwrap_or(job)
}
