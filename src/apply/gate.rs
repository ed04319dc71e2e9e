//! Gates, decided as a pure function of what the backend reports: the job's allocations of the
//! version just applied and its latest deployment. [`follow`](super::follow) feeds it from
//! blocking queries; tests feed it directly.
//!
//! - healthy: every wanted allocation running; where a group has an `update` block with health
//!   checks, the deployment of this version must be `successful` (Nomad counts
//!   `min_healthy_time` there) or every allocation reported healthy. A deployment whose
//!   canaries are all healthy and not promoted stops it at "awaiting promotion". It fails as
//!   soon as a task's restart policy puts its next start beyond the group's `healthy_deadline`
//!   (`mode = "delay"` after its attempts ran out) in an allocation not yet healthy: it can no
//!   longer turn healthy in time, and waiting for the deadline would only delay the verdict.
//! - complete: every wanted allocation `complete` and no task ended with a non-zero `ExitCode`.
//! - registered: passes once the job is registered.
//! - running (system jobs): every allocation the scheduler placed is running (the scheduler
//!   places one per eligible node, so this is "running on every eligible node").
//! - complete for sysbatch jobs: likewise every allocation placed (one per eligible node) is
//!   complete with exit 0; [`desired_allocs`] cannot count them, so the placed ones are wanted.

use std::time::Duration;

use crate::api::{AllocListStub, ClientStatus, Deployment, DeploymentStatus, DesiredStatus};
use crate::spec::Job;
use crate::stack::Gate;

/// Allocation counts for progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocCounts {
    /// Allocations wanted (0 when unknown, e.g. system jobs).
    pub desired: u64,
    /// Placed (any client status).
    pub placed: u64,
    /// Running.
    pub running: u64,
    /// Healthy per the deployment, or complete for batch gates.
    pub healthy: u64,
    /// Failed or lost.
    pub failed: u64,
}

/// Where a gate stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GateStatus {
    /// Not yet.
    Waiting(AllocCounts),
    /// Passed, with a sentence for the record.
    Passed(AllocCounts, String),
    /// Every canary of this version's deployment is healthy and waits for promotion.
    AwaitingPromotion(AllocCounts, String),
    /// Can no longer pass.
    Failed {
        /// Counts at the time.
        counts: AllocCounts,
        /// Why, in a sentence.
        reason: String,
        /// The allocation to report on, if one is to blame.
        alloc_id: Option<String>,
    },
}

/// Allocations the job wants: the sum of its groups' counts (system jobs: unknown, 0).
pub fn desired_allocs(job: &Job) -> u64 {
    if matches!(job.job_type(), "system" | "sysbatch") {
        return 0;
    }
    job.groups()
        .iter()
        .map(|g| g.count.unwrap_or(1).max(0) as u64)
        .sum()
}

fn has_health_checked_update(job: &Job) -> bool {
    let job_level = job
        .update
        .as_ref()
        .is_some_and(|u| u.max_parallel.unwrap_or(1) > 0);
    job.groups().iter().any(|g| {
        g.update
            .as_ref()
            .map(|u| u.max_parallel.unwrap_or(1) > 0 && u.health_check.as_deref() != Some("manual"))
            .unwrap_or(job_level)
    })
}

/// The first non-zero exit code among a stub's terminated tasks, with the task's name.
pub fn nonzero_exit(alloc: &AllocListStub) -> Option<(String, i64)> {
    let states = alloc.task_states.as_ref()?;
    for (task, state) in states {
        for ev in state.events.iter().flatten() {
            if ev.r#type == "Terminated" && ev.exit_code != 0 {
                return Some((task.clone(), ev.exit_code));
            }
        }
    }
    None
}

/// The job version a gate judges, and the Raft index its step began at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The version whose allocations count.
    pub version: u64,
    /// Allocations of this version that failed and were replaced (the scheduler stops a
    /// failed allocation as it reschedules it) count as failures when they changed past this
    /// index: an allocation that failed during this step, however soon its replacement came.
    pub since: u64,
}

/// A version alone: replaced allocations never count.
impl From<u64> for Applied {
    fn from(version: u64) -> Self {
        Applied {
            version,
            since: u64::MAX,
        }
    }
}

/// Decides `gate` for `job` at `at.version` from its allocations and latest deployment, in
/// three phases: count the allocations of this version, look for a failure that means the
/// gate can no longer pass, then judge the counts by the gate's rule.
pub fn evaluate(
    gate: Gate,
    job: &Job,
    at: Applied,
    allocs: &[AllocListStub],
    deployment: Option<&Deployment>,
) -> GateStatus {
    let version = at.version;
    let current: Vec<&AllocListStub> = allocs
        .iter()
        .filter(|a| a.job_version == version && a.desired_status == DesiredStatus::Run)
        .collect();
    let counts = count(gate, job, &current);
    if gate == Gate::Registered {
        return GateStatus::Passed(counts, "registered".into());
    }
    // What failed during the step: the allocations wanted, and those replaced after failing.
    let tried: Vec<&AllocListStub> = allocs
        .iter()
        .filter(|a| a.job_version == version)
        .filter(|a| {
            a.desired_status == DesiredStatus::Run
                || a.client_status == ClientStatus::Failed && a.modify_index > at.since
        })
        .collect();
    let deployment = deployment.filter(|d| d.job_version == version);
    let failure = exit_failure(gate, &tried)
        .or_else(|| alloc_failure(&tried))
        .or_else(|| restart_past_deadline(gate, job, &current))
        .or_else(|| deployment_failure(&tried, deployment));
    if let Some((reason, alloc_id)) = failure {
        return GateStatus::Failed {
            counts,
            reason,
            alloc_id,
        };
    }
    if gate == Gate::Healthy && deployment.is_some_and(canaries_await_promotion) {
        let id = deployment.map(|d| d.id.clone()).unwrap_or_default();
        return GateStatus::AwaitingPromotion(counts, id);
    }
    judge(gate, job, counts, deployment)
}

/// A running deployment with canaries not yet promoted, all of them healthy.
pub fn canaries_await_promotion(d: &Deployment) -> bool {
    let waiting: Vec<_> = d.task_groups.values().filter(|g| g.awaits_promotion()).collect();
    d.status == DeploymentStatus::Running
        && !waiting.is_empty()
        && waiting.iter().all(|g| g.healthy_allocs >= g.desired_canaries)
}

/// Counts the allocations of the version applied.
fn count(gate: Gate, job: &Job, current: &[&AllocListStub]) -> AllocCounts {
    // A system or sysbatch job wants one allocation per eligible node, and the scheduler has
    // placed exactly those once the evaluation completed (the gate is judged after it; a
    // node it could not place on fails the evaluation): what was placed is what is wanted.
    let per_node = matches!(job.job_type(), "system" | "sysbatch");
    let mut counts = AllocCounts {
        desired: if per_node {
            current.len() as u64
        } else {
            desired_allocs(job)
        },
        placed: current.len() as u64,
        ..Default::default()
    };
    for a in current {
        match a.client_status {
            ClientStatus::Running => counts.running += 1,
            ClientStatus::Failed | ClientStatus::Lost => counts.failed += 1,
            _ => {}
        }
        let healthy = match gate {
            Gate::Complete => a.client_status == ClientStatus::Complete,
            _ => a.deployment_status.as_ref().and_then(|d| d.healthy) == Some(true),
        };
        if healthy {
            counts.healthy += 1;
        }
    }
    counts
}

/// A task that exited non-zero: fatal for a batch gate at once, for others once the
/// allocation is terminal (a service task may be restarted).
fn exit_failure(gate: Gate, current: &[&AllocListStub]) -> Option<(String, Option<String>)> {
    let a = current.iter().find(|a| nonzero_exit(a).is_some())?;
    if gate != Gate::Complete && !a.client_status.is_terminal() {
        return None;
    }
    let (task, code) = nonzero_exit(a).unwrap_or_default();
    Some((
        format!(
            "task {task} of allocation {} ({}) exited with code {code}",
            short(&a.id),
            a.name
        ),
        Some(a.id.clone()),
    ))
}

/// The group `name` of `job` and its `healthy_deadline` where its allocations' health is
/// checked (Nomad's default 5m); `None` without a health-checked `update` block.
fn health_checked_group<'a>(job: &'a Job, name: &str) -> Option<(&'a crate::spec::TaskGroup, Duration)> {
    let g = job.groups().iter().find(|g| g.name.as_deref() == Some(name))?;
    let u = g.update.as_ref().or(job.update.as_ref())?;
    if u.max_parallel.unwrap_or(1) <= 0 || u.health_check.as_deref() == Some("manual") {
        return None;
    }
    let nanos = u.healthy_deadline.map_or(300_000_000_000, |d| d.0.max(0));
    Some((g, Duration::from_nanos(nanos as u64)))
}

/// Whether the allocation's health waits for `task`: a main task or a sidecar, not a task
/// that runs once before or after the main tasks.
fn counts_for_health(group: &crate::spec::TaskGroup, task: &str) -> bool {
    let spec = group.tasks.iter().flatten().find(|t| t.name == task);
    spec.and_then(|t| t.lifecycle.as_ref()).is_none_or(|l| l.sidecar)
}

/// For a healthy gate: an allocation not yet reported healthy whose main task's latest event
/// is a restart delayed beyond the group's `healthy_deadline`. (Health once reported stands:
/// a poststart task failing later does not take it back.)
fn restart_past_deadline(
    gate: Gate,
    job: &Job,
    current: &[&AllocListStub],
) -> Option<(String, Option<String>)> {
    if gate != Gate::Healthy {
        return None;
    }
    let undecided = |a: &&&AllocListStub| {
        !a.client_status.is_terminal() && a.deployment_status.as_ref().and_then(|d| d.healthy) != Some(true)
    };
    current.iter().filter(undecided).find_map(|a| {
        let (group, deadline) = health_checked_group(job, &a.task_group)?;
        let (task, events, delay) = a.task_states.as_ref()?.iter().find_map(|(task, s)| {
            let events = s.events.as_deref()?;
            let delay = Duration::from_nanos(events.last()?.start_delay.max(0) as u64);
            let waits = events.last()?.r#type == "Restarting" && delay > deadline;
            (waits && counts_for_health(group, task)).then_some((task, events, delay))
        })?;
        let exit = events
            .iter()
            .rev()
            .find(|e| e.r#type == "Terminated" && e.exit_code != 0)
            .map_or(String::new(), |e| format!(" exited with code {},", e.exit_code));
        let secs = |d: Duration| crate::spec::Duration::from_secs(d.as_secs() as i64);
        Some((
            format!(
                "task {task} of allocation {} ({}){exit} its restart policy's attempts are used up \
                 and the next start is {} away, past the group's healthy_deadline of {}: it cannot \
                 become healthy in time",
                short(&a.id),
                a.name,
                secs(delay),
                secs(deadline)
            ),
            Some(a.id.clone()),
        ))
    })
}

/// An allocation the client reports failed or lost.
fn alloc_failure(current: &[&AllocListStub]) -> Option<(String, Option<String>)> {
    let a = current
        .iter()
        .find(|a| matches!(a.client_status, ClientStatus::Failed | ClientStatus::Lost))?;
    let what = if a.client_status == ClientStatus::Lost {
        "was lost"
    } else {
        "failed"
    };
    let detail = if a.client_description.is_empty() {
        String::new()
    } else {
        format!(" ({})", a.client_description)
    };
    Some((
        format!("allocation {} ({}) {what}{detail}", short(&a.id), a.name),
        Some(a.id.clone()),
    ))
}

/// The deployment of this version failed; the allocation to blame is one reported unhealthy.
fn deployment_failure(
    current: &[&AllocListStub],
    deployment: Option<&Deployment>,
) -> Option<(String, Option<String>)> {
    let d = deployment.filter(|d| d.status == DeploymentStatus::Failed)?;
    let alloc_id = current
        .iter()
        .find(|a| a.deployment_status.as_ref().and_then(|s| s.healthy) == Some(false))
        .map(|a| a.id.clone());
    Some((
        format!("deployment {} failed: {}", short(&d.id), d.status_description),
        alloc_id,
    ))
}

/// With no failure, whether the counts satisfy the gate's rule.
fn judge(gate: Gate, job: &Job, mut counts: AllocCounts, deployment: Option<&Deployment>) -> GateStatus {
    match gate {
        Gate::Registered => GateStatus::Passed(counts, "registered".into()),
        Gate::Complete => {
            if counts.desired > 0 && counts.healthy >= counts.desired {
                GateStatus::Passed(
                    counts,
                    format!(
                        "{}/{} allocations complete with exit code 0",
                        counts.healthy, counts.desired
                    ),
                )
            } else {
                GateStatus::Waiting(counts)
            }
        }
        Gate::Running => {
            if counts.placed > 0 && counts.running == counts.placed {
                GateStatus::Passed(counts, format!("running on {} nodes", counts.running))
            } else {
                GateStatus::Waiting(counts)
            }
        }
        Gate::Healthy => {
            if counts.running < counts.desired {
                return GateStatus::Waiting(counts);
            }
            if !has_health_checked_update(job) {
                return GateStatus::Passed(
                    counts,
                    format!("{}/{} allocations running", counts.running, counts.desired),
                );
            }
            let deployed = deployment.is_some_and(|d| d.status == DeploymentStatus::Successful);
            if deployed || counts.healthy >= counts.desired {
                counts.healthy = counts.healthy.max(if deployed { counts.running } else { 0 });
                GateStatus::Passed(
                    counts,
                    format!("{}/{} allocations healthy", counts.healthy, counts.desired),
                )
            } else {
                GateStatus::Waiting(counts)
            }
        }
    }
}

/// The first 8 characters of an ID, as Nomad's CLI shows them.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}
