//! From a [`Plan`] to the executor's [`Step`]s: what to ask of the backend per job, which gate
//! to wait for, and what must finish first.
//!
//! Ordering: stops first, dependents before what they depend on (a job's stop waits for the
//! stops of every job that depends on it); then creates, updates and checks in dependency
//! order (a job waits for the gates of what it depends on). A rollback that re-creates
//! nothing undoes in reverse instead: an update waits for the updates of the jobs that depend
//! on it (the runbook's "stop the worker first, then the apps, and only then anything else"),
//! so what runs against a dependency is back on its old version before the dependency is.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::event::StepKind;
use super::step::{Operation, Prior, Step};
use super::undo::find_version;
use crate::backend::Backend;
use crate::plan::{Action, JobChange, LiveJob, LiveView, Plan};
use crate::spec::{Job, canonicalize};
use crate::stack::{Gate, JobAddress, Owner, Stack, with_owner};
use crate::state::Revision;

/// How to turn a plan into steps.
#[derive(Clone, Debug)]
pub struct StepOptions {
    /// A job's timeout when its `dependency` block sets none (`-timeout`, else the stack's
    /// `apply.timeout`, else 5m: the caller decides).
    pub default_timeout: Duration,
    /// Purge stopped jobs.
    pub purge: bool,
    /// Revert to a version the backend still keeps where one equals the wanted spec (rollback).
    pub prefer_revert: bool,
    /// Recorded in the meta of every job registered (see [`crate::stack::with_owner`]);
    /// `None` registers jobs as the stack wrote them.
    pub owner: Option<Owner>,
    /// Jobs to register even where their spec is unchanged (adopted ones, so that they carry
    /// this stack's ownership).
    pub reclaim: Vec<JobAddress>,
    /// Undo order (rollback): updates go dependents first, unless the plan also creates a job
    /// (a re-created job needs what it depends on first, so everything keeps dependency order).
    pub undo_order: bool,
}

/// Why steps could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The plan names a job the stack does not have.
    #[error("the plan creates or updates {0}, which the stack does not define; run deploy plan again")]
    MissingJob(JobAddress),
}

fn to_std(d: Option<crate::spec::Duration>) -> Option<Duration> {
    d.map(|d| Duration::from_nanos(d.0.max(0) as u64))
}

/// Builds the steps of `plan`. `stack` supplies the specs in clear (a plan masks sensitive
/// values), `state` (opened) and `live` what runs now; `extra_edges` (`from` depends on `to`)
/// order stops of jobs the plan no longer has edges for.
///
/// Per job: where it lives and what was there before (its `Site`), then a stop step or a change
/// step whose waits follow the plan's `Ordering`.
pub async fn build_steps<B: Backend>(
    backend: &B,
    plan: &Plan,
    stack: &Stack,
    state: Option<&Revision>,
    live: Option<&LiveView>,
    extra_edges: &[(JobAddress, JobAddress)],
    options: &StepOptions,
) -> Result<Vec<Step>, StepError> {
    let ordering = Ordering::of(plan, extra_edges, options.undo_order);
    let mut steps = Vec::with_capacity(plan.jobs.len());
    for change in &plan.jobs {
        let site = Site::of(change, stack, state, live, &ordering, options);
        let step = if change.action == Action::Destroy {
            stop_step(change, site, &ordering, options)
        } else {
            change_step(backend, change, stack, site, &ordering, options).await?
        };
        steps.push(step);
    }
    Ok(steps)
}

/// What orders the steps: the edges among jobs, the gate each job is waited on with, and the
/// jobs being stopped.
struct Ordering<'a> {
    /// Gate and timeout each job is waited on with, from the edges pointing at it.
    gates: BTreeMap<&'a JobAddress, (Gate, Option<Duration>)>,
    /// `from` depends on `to`: the plan's edges and the extra ones.
    edges: BTreeSet<(JobAddress, JobAddress)>,
    /// Jobs the plan stops.
    destroyed: BTreeSet<&'a JobAddress>,
    /// Jobs updated dependents first (undo order); empty in dependency order.
    reversed: BTreeSet<&'a JobAddress>,
}

impl<'a> Ordering<'a> {
    fn of(plan: &'a Plan, extra_edges: &[(JobAddress, JobAddress)], undo_order: bool) -> Ordering<'a> {
        let mut gates = BTreeMap::new();
        let mut edges: BTreeSet<(JobAddress, JobAddress)> = extra_edges.iter().cloned().collect();
        for j in &plan.jobs {
            for d in &j.depends_on {
                gates.entry(&d.address).or_insert((d.gate, to_std(d.timeout)));
                edges.insert((j.address.clone(), d.address.clone()));
            }
        }
        let destroyed = plan
            .jobs
            .iter()
            .filter(|j| j.action == Action::Destroy)
            .map(|j| &j.address)
            .collect();
        let reverse = undo_order && !plan.jobs.iter().any(|j| j.action == Action::Create);
        let reversed = plan
            .jobs
            .iter()
            .filter(|j| reverse && matches!(j.action, Action::Update | Action::UpdateDestructive))
            .map(|j| &j.address)
            .collect();
        Ordering {
            gates,
            edges,
            destroyed,
            reversed,
        }
    }

    /// A stop waits for the stops of every job that depends on it.
    fn stop_waits(&self, address: &JobAddress) -> Vec<JobAddress> {
        self.edges
            .iter()
            .filter(|(from, to)| to == address && self.destroyed.contains(from))
            .map(|(from, _)| from.clone())
            .collect()
    }

    /// A change waits for the gates of what it depends on, and for every stop; in undo order
    /// an update waits for the updates of its dependents instead of its dependencies.
    fn change_waits(&self, change: &JobChange) -> Vec<JobAddress> {
        let mut waits: Vec<JobAddress> = if self.reversed.contains(&change.address) {
            self.edges
                .iter()
                .filter(|(from, to)| *to == change.address && self.reversed.contains(from))
                .map(|(from, _)| from.clone())
                .collect()
        } else {
            change.depends_on.iter().map(|d| d.address.clone()).collect()
        };
        waits.extend(self.destroyed.iter().map(|a| (*a).clone()));
        waits
    }
}

/// Where a job lives, how long its step may take and what ran before.
struct Site<'a> {
    namespace: String,
    job_id: String,
    timeout: Duration,
    prior: Option<Prior>,
    live_job: Option<&'a LiveJob>,
}

impl<'a> Site<'a> {
    fn of(
        change: &JobChange,
        stack: &Stack,
        state: Option<&Revision>,
        live: Option<&'a LiveView>,
        ordering: &Ordering<'_>,
        options: &StepOptions,
    ) -> Site<'a> {
        let address = &change.address;
        let recorded = state.and_then(|s| s.job(address));
        let live_job = live.and_then(|l| l.jobs.get(address));
        let prior = recorded
            .map(|r| r.spec.clone())
            .or_else(|| live_job.map(|l| l.spec.clone()))
            .map(|spec| Prior {
                spec,
                version: live_job
                    .map(|l| l.version)
                    .or(recorded.and_then(|r| r.job_version)),
            });
        let timeout = stack
            .job_options
            .get(address)
            .and_then(|o| to_std(o.timeout))
            .or_else(|| ordering.gates.get(address).and_then(|g| g.1))
            .unwrap_or(options.default_timeout);
        let (namespace, job_id) = match (stack.job(address), &prior) {
            (Some(sj), _) => (sj.job.namespace().to_string(), sj.job.id().to_string()),
            (None, Some(p)) => (p.spec.namespace().to_string(), p.spec.id().to_string()),
            (None, None) => ("default".to_string(), address.job_id().to_string()),
        };
        Site {
            namespace,
            job_id,
            timeout,
            prior,
            live_job,
        }
    }
}

/// The step that stops a job the plan destroys.
fn stop_step(change: &JobChange, site: Site<'_>, ordering: &Ordering<'_>, options: &StepOptions) -> Step {
    Step {
        address: change.address.clone(),
        namespace: site.namespace,
        job_id: site.job_id,
        kind: StepKind::Destroy,
        op: Operation::Deregister { purge: options.purge },
        spec: None,
        sensitive_paths: Vec::new(),
        gate: Gate::Registered,
        timeout: site.timeout,
        waits_for: ordering.stop_waits(&change.address),
        wave: change.wave,
        prior: site.prior,
    }
}

/// The step that creates, updates, reverts or checks a job the stack defines.
async fn change_step<B: Backend>(
    backend: &B,
    change: &JobChange,
    stack: &Stack,
    site: Site<'_>,
    ordering: &Ordering<'_>,
    options: &StepOptions,
) -> Result<Step, StepError> {
    let address = &change.address;
    let sj = stack
        .job(address)
        .ok_or_else(|| StepError::MissingJob(address.clone()))?;
    let spec: Job = canonicalize(&sj.job);
    let gate = stack
        .job_options
        .get(address)
        .and_then(|o| o.gate)
        .or_else(|| ordering.gates.get(address).map(|g| g.0))
        .unwrap_or_else(|| Gate::default_for(&spec));
    let (kind, op) = operation(backend, change, &spec, &site, options).await;
    Ok(Step {
        address: address.clone(),
        namespace: site.namespace,
        job_id: site.job_id,
        kind,
        op,
        spec: Some(spec),
        sensitive_paths: sj.sensitive_paths.clone(),
        gate,
        timeout: site.timeout,
        waits_for: ordering.change_waits(change),
        wave: change.wave,
        prior: site.prior,
    })
}

/// What to ask of the backend for a create, an update (a revert where one is preferred and the
/// backend keeps an equal version) or a no-op.
async fn operation<B: Backend>(
    backend: &B,
    change: &JobChange,
    spec: &Job,
    site: &Site<'_>,
    options: &StepOptions,
) -> (StepKind, Operation) {
    let (namespace, job_id) = (&site.namespace, &site.job_id);
    let registered = |spec: &Job| {
        Box::new(
            options
                .owner
                .as_ref()
                .map_or_else(|| spec.clone(), |o| with_owner(spec, o)),
        )
    };
    match change.action {
        Action::Create => {
            // A job stopped earlier is still on the server: register over exactly that one.
            let stopped = match backend.read_job(namespace, job_id).await {
                Ok(Some(l)) if l.job.stop == Some(true) => Some(l.job_modify_index),
                _ => None,
            };
            (
                StepKind::Create,
                Operation::Register {
                    job: registered(spec),
                    check_index: Some(stopped.unwrap_or(0)),
                },
            )
        }
        Action::Update | Action::UpdateDestructive => {
            let revert = match (options.prefer_revert, site.live_job) {
                (true, Some(l)) => find_version(backend, namespace, job_id, spec)
                    .await
                    .filter(|v| *v != l.version)
                    .map(|v| Operation::Revert {
                        version: v,
                        prior: Some(l.version),
                        job: Box::new(spec.clone()),
                    }),
                _ => None,
            };
            match revert {
                Some(op) => (StepKind::Revert, op),
                None => (
                    StepKind::Update,
                    Operation::Register {
                        job: registered(spec),
                        check_index: change.job_modify_index,
                    },
                ),
            }
        }
        Action::Noop if options.reclaim.contains(&change.address) => (
            StepKind::Update,
            Operation::Register {
                job: registered(spec),
                check_index: change.job_modify_index,
            },
        ),
        Action::Noop | Action::Destroy => (StepKind::Check, Operation::Check),
    }
}
