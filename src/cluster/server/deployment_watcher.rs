//! The deployment watcher, on the leader: turns the allocation health that clients report
//! into deployment progress, committed through Raft as [`Command::DeploymentUpdate`].
//!
//! ```text
//!  running deployment ─► its allocations' DeploymentStatus.Healthy (set by clients after
//!  min_healthy_time, or false on a failed task / healthy_deadline)
//!     ├─ any unhealthy                               ─► failed
//!     ├─ a group past RequireProgressBy              ─► failed (progress_deadline)
//!     │    └─ auto_revert: re-register the latest stable version (as `job revert` does)
//!     ├─ canaries all healthy, every canary group     ─► promoted (the rolling update of the
//!     │    has auto_promote                              rest begins)
//!     ├─ every group has DesiredTotal healthy and     ─► successful (job version stable)
//!     │    its canaries promoted
//!     └─ more healthy than before                    ─► counts, new RequireProgressBy, and a
//!                                                       deployment-watcher evaluation so the
//!                                                       scheduler places the next batch
//! ```
//!
//! [`review`] is a pure function of the state, the deployment and the clock reading, so the
//! rules are tested without a cluster.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::ClusterNode;
use super::evals::{job_eval, new_eval, now_nanos};
use crate::api::namespace_or_default;
use crate::api::{Deployment, DeploymentState, DeploymentStatus, deployment_description, triggered_by};
use crate::cluster::fsm::{Command, DeploymentUpdate, Evaluation, JobRegister, State};

const CHECK_EVERY: Duration = Duration::from_millis(250);

/// Nomad's description of a deployment that finished well.
pub const DESC_SUCCESSFUL: &str = "Deployment completed successfully";
/// Nomad's description of a deployment failed by an unhealthy allocation.
pub const DESC_UNHEALTHY: &str = "Failed due to unhealthy allocations";
/// Nomad's description of a deployment that made no progress in time.
pub const DESC_PROGRESS: &str = "Failed due to progress deadline";

/// What the watcher decides for `d` at `now` (Unix nanoseconds); `None` when nothing changed.
pub fn review(state: &State, d: &Deployment, now: i64) -> Option<DeploymentUpdate> {
    if d.status != DeploymentStatus::Running {
        return None;
    }
    let (mut groups, healthy_canaries) = count_allocs(state, d);
    let promoted_now = auto_promote(&mut groups, &healthy_canaries, now);
    let mut progressed = promoted_now;
    let mut overdue = false;
    for (name, g) in groups.iter_mut() {
        let before = d.task_groups.get(name).map_or(0, |o| o.healthy_allocs);
        let done = g.healthy_allocs >= g.desired_total && !g.awaits_promotion();
        // Healthy canaries waiting for an operator are not late: the deadline starts again
        // at promotion.
        let waiting = g.awaits_promotion() && canaries_ready(g, &healthy_canaries, name);
        if g.progress_deadline > 0 && !done && !waiting {
            let due = g.require_progress_by.as_deref().and_then(parse_time);
            match due {
                Some(_) if g.healthy_allocs > before => {
                    progressed = true;
                    g.require_progress_by = Some(format_time(now + g.progress_deadline));
                }
                Some(due) => overdue |= now > due,
                None => g.require_progress_by = Some(format_time(now + g.progress_deadline)),
            }
        } else if g.healthy_allocs > before {
            progressed = true;
        }
    }
    let unhealthy = groups.values().any(|g| g.unhealthy_allocs > 0);
    let complete = groups
        .values()
        .all(|g| g.healthy_allocs >= g.desired_total && !g.awaits_promotion());
    let running_description = match promoted_now {
        true => deployment_description::RUNNING,
        false => d.status_description.as_str(),
    };
    let (status, description) = if unhealthy {
        (DeploymentStatus::Failed, DESC_UNHEALTHY)
    } else if complete {
        (DeploymentStatus::Successful, DESC_SUCCESSFUL)
    } else if overdue {
        (DeploymentStatus::Failed, DESC_PROGRESS)
    } else {
        (DeploymentStatus::Running, running_description)
    };
    if status == d.status && groups == d.task_groups && description == d.status_description {
        return None;
    }
    let revert_to = (status == DeploymentStatus::Failed && groups.values().any(|g| g.auto_revert))
        .then(|| stable_version(state, d))
        .flatten();
    let description = match revert_to {
        Some(v) => format!("{description} - rolling back to job version {v}"),
        None => description.to_owned(),
    };
    let eval = (status == DeploymentStatus::Running && progressed)
        .then(|| next_batch_eval(state, d, now))
        .flatten();
    Some(DeploymentUpdate {
        id: d.id.clone(),
        status,
        description,
        task_groups: groups,
        eval,
    })
}

/// The deployment's groups with their allocations counted afresh (placed, healthy,
/// unhealthy, placed canaries), and per group how many canaries are healthy.
fn count_allocs(state: &State, d: &Deployment) -> (BTreeMap<String, DeploymentState>, BTreeMap<String, i64>) {
    let mut groups: BTreeMap<String, DeploymentState> = d.task_groups.clone();
    for g in groups.values_mut() {
        g.placed_allocs = 0;
        g.healthy_allocs = 0;
        g.unhealthy_allocs = 0;
        g.placed_canaries = None;
    }
    let mut healthy_canaries: BTreeMap<String, i64> = BTreeMap::new();
    let of_job = state.allocs.of_job(&d.namespace, &d.job_id);
    for a in of_job.filter(|a| a.deployment_id == d.id) {
        let g = groups.entry(a.task_group.clone()).or_default();
        g.placed_allocs += 1;
        let healthy = a.deployment_status.as_ref().and_then(|s| s.healthy);
        match healthy {
            Some(true) => g.healthy_allocs += 1,
            Some(false) => g.unhealthy_allocs += 1,
            None => {}
        }
        if a.deployment_status.as_ref().is_some_and(|s| s.canary) {
            g.placed_canaries.get_or_insert_with(Vec::new).push(a.id.clone());
            if healthy == Some(true) {
                *healthy_canaries.entry(a.task_group.clone()).or_default() += 1;
            }
        }
    }
    for g in groups.values_mut() {
        if let Some(c) = g.placed_canaries.as_mut() {
            c.sort();
        }
    }
    (groups, healthy_canaries)
}

/// Whether every canary the group wants is healthy.
fn canaries_ready(g: &DeploymentState, healthy_canaries: &BTreeMap<String, i64>, name: &str) -> bool {
    healthy_canaries.get(name).copied().unwrap_or(0) >= g.desired_canaries
}

/// Promotes every group with canaries when all of them ask for `auto_promote` and all their
/// canaries are healthy, as Nomad does; returns whether it did.
fn auto_promote(
    groups: &mut BTreeMap<String, DeploymentState>,
    healthy_canaries: &BTreeMap<String, i64>,
    now: i64,
) -> bool {
    let waiting: Vec<&String> = groups
        .iter()
        .filter(|(_, g)| g.awaits_promotion())
        .map(|(n, _)| n)
        .collect();
    let promote = !waiting.is_empty()
        && waiting.iter().all(|n| {
            let g = &groups[*n];
            g.auto_promote && canaries_ready(g, healthy_canaries, n)
        });
    if !promote {
        return false;
    }
    for g in groups.values_mut().filter(|g| g.awaits_promotion()) {
        g.promoted = true;
        if g.progress_deadline > 0 {
            g.require_progress_by = Some(format_time(now + g.progress_deadline));
        }
    }
    true
}

/// The newest stable version of the deployment's job other than the one deployed, while the
/// deployed version is still the current one (a newer registration makes a revert moot).
pub fn stable_version(state: &State, d: &Deployment) -> Option<u64> {
    let ns = namespace_or_default(&d.namespace);
    let rec = state.job(ns, &d.job_id)?;
    if rec.current().version.unwrap_or(0) != d.job_version {
        return None;
    }
    rec.stability()
        .find(|&(version, stable)| stable == Some(true) && version != d.job_version)
        .map(|(version, _)| version)
}

/// For a deployment with `auto_revert`, the registration that reverts its failed job to the
/// latest stable version, as `POST /v1/job/:id/revert` would: a new version with that spec,
/// checked against the current `JobModifyIndex`.
pub fn revert_command(state: &State, d: &Deployment, now: i64) -> Option<Command> {
    if !d.task_groups.values().any(|g| g.auto_revert) {
        return None;
    }
    let version = stable_version(state, d)?;
    let ns = namespace_or_default(&d.namespace);
    let rec = state.job(ns, &d.job_id)?;
    let old = rec.version(version)?.into_owned();
    let job = old.job;
    let eval = job_eval(&job, triggered_by::JOB_REGISTER, 0);
    Some(Command::JobRegister(Box::new(JobRegister {
        job,
        submission: old.submission,
        enforce_index: Some(rec.job_modify_index()),
        eval,
        submit_time: now,
    })))
}

/// An evaluation that lets the scheduler place the next batch of a rolling update.
fn next_batch_eval(state: &State, d: &Deployment, now: i64) -> Option<Evaluation> {
    let ns = namespace_or_default(&d.namespace);
    let mut eval = new_eval(
        state.job(ns, &d.job_id)?.current(),
        triggered_by::DEPLOYMENT_WATCHER,
        0,
    );
    eval.job_modify_index = d.job_modify_index;
    eval.deployment_id = d.id.clone();
    eval.create_time = now;
    eval.modify_time = now;
    Some(eval)
}

fn parse_time(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
}

fn format_time(nanos: i64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(nanos).to_rfc3339()
}

/// Reviews every running deployment on each tick while this server leads.
pub(super) async fn run(node: Arc<ClusterNode>) {
    let mut tick = tokio::time::interval(CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if !node.is_leader() {
            continue;
        }
        let now = now_nanos();
        let updates: Vec<(DeploymentUpdate, Option<Command>)> = {
            let state = node.state().read();
            state
                .deployments
                .values()
                .filter_map(|d| {
                    let u = review(&state, d, now)?;
                    let failed = u.status == DeploymentStatus::Failed;
                    let revert = failed.then(|| revert_command(&state, d, now)).flatten();
                    Some((u, revert))
                })
                .collect()
        };
        for (u, revert) in updates {
            let id = u.id.clone();
            if let Err(e) = node.write_local(Command::DeploymentUpdate(Box::new(u))).await {
                tracing::warn!("updating deployment {id}: {e}");
                continue;
            }
            if let Some(cmd) = revert
                && let Err(e) = node.write_local(cmd).await
            {
                tracing::warn!("reverting the job of deployment {id}: {e}");
            }
        }
    }
}

#[cfg(test)]
#[path = "deployment_watcher_tests.rs"]
mod tests;
