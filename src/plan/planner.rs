//! The planner: a pure function from the stack, its graph, the recorded state and (optionally)
//! a live view to a [`Plan`]. It does no IO.
//!
//! ```text
//!  for each job in the target closure:  new = canonicalize(stack job)
//!      baseline = live spec if refreshed, else recorded spec
//!      diff(baseline, new) ─► action + reason;  recorded vs live ─► drift
//!  recorded jobs gone from the stack ─► destroy
//! ```

use std::collections::{BTreeSet, HashSet};

use super::model::{
    Action, DependsOn, Drift, JobChange, LiveView, PLAN_FORMAT_VERSION, Plan, StateRef, Summary,
};
use crate::graph::StackGraph;
use crate::spec::diff::{DiffType, JobDiff, SensitivePaths, diff};
use crate::spec::{Job, canonicalize};
use crate::stack::{JobAddress, Stack};
use crate::state::Revision;

/// How to plan.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Plan the removal of everything (in the target closure).
    pub destroy: bool,
    /// Limit to these addresses (jobs or `module.x`) and what they wait for.
    pub targets: Vec<String>,
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
pub fn plan(
    stack: &Stack,
    graph: &StackGraph,
    state: Option<&Revision>,
    live: Option<&LiveView>,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    let selected: Option<BTreeSet<usize>> = if options.targets.is_empty() {
        None
    } else {
        Some(
            graph
                .closure(&options.targets)
                .map_err(PlanError::UnknownTarget)?,
        )
    };
    let mut jobs = Vec::with_capacity(stack.jobs.len());
    for (i, sj) in stack.jobs.iter().enumerate() {
        if selected.as_ref().is_some_and(|s| !s.contains(&i)) {
            continue;
        }
        let recorded = state.and_then(|s| s.job(&sj.address));
        let live_job = live.and_then(|l| l.jobs.get(&sj.address));
        let mut sensitive: SensitivePaths = sj.sensitive_paths.iter().cloned().collect();
        if let Some(r) = recorded {
            sensitive.extend(r.sensitive_paths.iter().cloned());
        }
        let new = (!options.destroy).then(|| canonicalize(&sj.job));
        let baseline: Option<&Job> = match live {
            Some(_) => live_job.map(|l| &l.spec),
            None => recorded.map(|r| &r.spec),
        };
        let d = diff(baseline, new.as_ref(), &sensitive);
        let action = action_of(&d);
        let drift =
            live.and_then(|_| drift_of(recorded.map(|r| &r.spec), live_job.map(|l| &l.spec), &sensitive));
        let depends_on = graph
            .dependencies_of(i)
            .into_iter()
            .map(|e| DependsOn {
                address: e.to.clone(),
                gate: e.gate,
                timeout: e.timeout,
            })
            .collect();
        jobs.push(JobChange {
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
            placement: live.and_then(|l| l.placements.get(&sj.address).cloned()),
            depends_on,
            wave: graph.wave_of(i),
            job_modify_index: live_job
                .map(|l| l.modify_index)
                .or(recorded.and_then(|r| r.job_modify_index)),
        });
    }
    // Addresses are unique, so an unstable sort gives the one order and needs no buffer.
    jobs.sort_unstable_by(|a, b| (a.wave, &a.address).cmp(&(b.wave, &b.address)));
    // Recorded jobs that the stack no longer has.
    if let Some(rev) = state {
        let in_stack: HashSet<&JobAddress> = stack.jobs.iter().map(|j| &j.address).collect();
        for r in &rev.jobs {
            if in_stack.contains(&r.address) || !targeted(&options.targets, &r.address) {
                continue;
            }
            let live_job = live.and_then(|l| l.jobs.get(&r.address));
            if live.is_some() && live_job.is_none() {
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
                drift: live.and_then(|_| drift_of(Some(&r.spec), live_job.map(|l| &l.spec), &sensitive)),
                placement: None,
                depends_on: Vec::new(),
                wave: 0,
                job_modify_index: live_job.map(|l| l.modify_index).or(r.job_modify_index),
            });
        }
    }
    let mut summary = Summary::default();
    for j in &jobs {
        *match j.action {
            Action::Create => &mut summary.create,
            Action::Update => &mut summary.update,
            Action::UpdateDestructive => &mut summary.update_destructive,
            Action::Destroy => &mut summary.destroy,
            Action::Noop => &mut summary.noop,
        } += 1;
    }
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
        summary,
        jobs,
    })
}

fn targeted(targets: &[String], address: &JobAddress) -> bool {
    targets.is_empty()
        || targets
            .iter()
            .any(|t| address.0 == *t || address.0.starts_with(&format!("{t}.")))
}

fn drift_of(recorded: Option<&Job>, live: Option<&Job>, sensitive: &SensitivePaths) -> Option<Box<Drift>> {
    if recorded.is_none() && live.is_none() {
        return None;
    }
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
