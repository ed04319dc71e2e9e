//! From a [`Plan`] to the executor's [`Step`]s: what to ask of the backend per job, which gate
//! to wait for, and what must finish first.
//!
//! Ordering: stops first, dependents before what they depend on (a job's stop waits for the
//! stops of every job that depends on it); then creates, updates and checks in dependency
//! order (a job waits for the gates of what it depends on).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::event::StepKind;
use super::step::{Operation, Prior, Step};
use super::undo::find_version;
use crate::backend::Backend;
use crate::plan::{Action, LiveView, Plan};
use crate::spec::{Job, canonicalize};
use crate::stack::{Gate, JobAddress, Stack};
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
pub async fn build_steps<B: Backend>(
    backend: &B,
    plan: &Plan,
    stack: &Stack,
    state: Option<&Revision>,
    live: Option<&LiveView>,
    extra_edges: &[(JobAddress, JobAddress)],
    options: &StepOptions,
) -> Result<Vec<Step>, StepError> {
    // Gate and timeout each job is waited on with, from the edges pointing at it.
    let mut gates: BTreeMap<&JobAddress, (Gate, Option<Duration>)> = BTreeMap::new();
    for j in &plan.jobs {
        for d in &j.depends_on {
            gates.entry(&d.address).or_insert((d.gate, to_std(d.timeout)));
        }
    }
    let mut edges: BTreeSet<(JobAddress, JobAddress)> = extra_edges.iter().cloned().collect();
    for j in &plan.jobs {
        for d in &j.depends_on {
            edges.insert((j.address.clone(), d.address.clone()));
        }
    }
    let destroyed: BTreeSet<&JobAddress> = plan
        .jobs
        .iter()
        .filter(|j| j.action == Action::Destroy)
        .map(|j| &j.address)
        .collect();
    let default_timeout = options.default_timeout;
    let mut steps = Vec::with_capacity(plan.jobs.len());
    for change in &plan.jobs {
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
        let stack_job = stack.job(address);
        let opts = stack.job_options.get(address);
        let timeout = opts
            .and_then(|o| to_std(o.timeout))
            .or_else(|| gates.get(address).and_then(|g| g.1))
            .unwrap_or(default_timeout);
        let (namespace, job_id) = match (stack_job, &prior) {
            (Some(sj), _) => (sj.job.namespace().to_string(), sj.job.id().to_string()),
            (None, Some(p)) => (p.spec.namespace().to_string(), p.spec.id().to_string()),
            (None, None) => ("default".to_string(), address.job_id().to_string()),
        };
        if change.action == Action::Destroy {
            let waits_for = edges
                .iter()
                .filter(|(from, to)| to == address && destroyed.contains(from))
                .map(|(from, _)| from.clone())
                .collect();
            steps.push(Step {
                address: address.clone(),
                namespace,
                job_id,
                kind: StepKind::Destroy,
                op: Operation::Deregister { purge: options.purge },
                spec: None,
                sensitive_paths: Vec::new(),
                gate: Gate::Registered,
                timeout,
                waits_for,
                wave: change.wave,
                prior,
            });
            continue;
        }
        let sj = stack_job.ok_or_else(|| StepError::MissingJob(address.clone()))?;
        let spec: Job = canonicalize(&sj.job);
        let gate = opts
            .and_then(|o| o.gate)
            .or_else(|| gates.get(address).map(|g| g.0))
            .unwrap_or_else(|| Gate::default_for(&spec));
        let mut waits_for: Vec<JobAddress> = change.depends_on.iter().map(|d| d.address.clone()).collect();
        waits_for.extend(destroyed.iter().map(|a| (*a).clone()));
        let (kind, op) = match change.action {
            Action::Create => {
                // A job stopped earlier is still on the server: register over exactly that one.
                let stopped = match backend.read_job(&namespace, &job_id).await {
                    Ok(Some(l)) if l.job.stop == Some(true) => Some(l.job_modify_index),
                    _ => None,
                };
                (
                    StepKind::Create,
                    Operation::Register {
                        job: Box::new(spec.clone()),
                        check_index: Some(stopped.unwrap_or(0)),
                    },
                )
            }
            Action::Update | Action::UpdateDestructive => {
                let revert = match (options.prefer_revert, live_job) {
                    (true, Some(l)) => find_version(backend, &namespace, &job_id, &spec)
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
                            job: Box::new(spec.clone()),
                            check_index: change.job_modify_index,
                        },
                    ),
                }
            }
            Action::Noop | Action::Destroy => (StepKind::Check, Operation::Check),
        };
        steps.push(Step {
            address: address.clone(),
            namespace,
            job_id,
            kind,
            op,
            spec: Some(spec),
            sensitive_paths: sj.sensitive_paths.clone(),
            gate,
            timeout,
            waits_for,
            wave: change.wave,
            prior,
        });
    }
    Ok(steps)
}
