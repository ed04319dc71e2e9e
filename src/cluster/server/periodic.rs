//! The periodic launcher, on the leader: each periodic job's child is registered when its
//! cron spec comes due, in the job's time zone.
//!
//! The launch time is committed with the child (one [`PeriodicLaunch`] command), so a new
//! leader continues from the last launch: nothing is launched twice, and a launch that fell
//! due while no leader ran is made once, late. With `prohibit_overlap`, a launch that finds a
//! child still running is recorded as skipped.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::evals::{job_eval, now_nanos};
use super::{ClusterNode, LocalWrite};
use crate::api::{EvalStatus, triggered_by};
use crate::cluster::fsm::{Command, JobRegister, PeriodicLaunch, State};
use crate::cluster::scheduler::{due_launch, periodic_child};
use crate::spec::Job;

/// How often the leader looks for due launches (cron resolution is one second at best).
const TICK: Duration = Duration::from_millis(500);

/// Runs until the task is aborted; does nothing on followers.
pub async fn run(node: Arc<ClusterNode>) {
    loop {
        tokio::time::sleep(TICK).await;
        if !node.is_leader() {
            continue;
        }
        let due = due_launches(&node.state().read(), Utc::now());
        for launch in due {
            match node.write_local(Command::PeriodicLaunch(Box::new(launch))).await {
                Ok(LocalWrite::Applied(_)) => {}
                Ok(_) => break,
                Err(e) => {
                    tracing::debug!("periodic launcher: {e}");
                    break;
                }
            }
        }
    }
}

/// The launches due at `now`, one per periodic job at most.
pub fn due_launches(state: &State, now: DateTime<Utc>) -> Vec<PeriodicLaunch> {
    let mut out = Vec::new();
    for (ns, jobs) in &state.jobs {
        for (id, rec) in jobs {
            let job = rec.current();
            if !job.is_periodic() || job.stop == Some(true) {
                continue;
            }
            let last = state.last_launch(ns, id).map(DateTime::from_timestamp_nanos);
            let Some(at) = due_launch(job, last, now) else {
                continue;
            };
            let overlap = job.periodic.as_ref().and_then(|p| p.prohibit_overlap) == Some(true)
                && has_running_child(state, ns, id);
            out.push(PeriodicLaunch {
                namespace: ns.clone(),
                job_id: id.clone(),
                // Recorded as now, not `at`: a launch made late does not make the launches
                // between `at` and now due one after another.
                launch: now
                    .timestamp_nanos_opt()
                    .unwrap_or(0)
                    .max(at.timestamp_nanos_opt().unwrap_or(0)),
                child: (!overlap).then(|| Box::new(child_registration(job, at))),
            });
        }
    }
    out
}

/// The registration of the child of `parent` launched at `at` (must not exist yet).
pub fn child_registration(parent: &Job, at: DateTime<Utc>) -> JobRegister {
    let child = periodic_child(parent, at);
    JobRegister {
        eval: job_eval(&child, triggered_by::PERIODIC_JOB, 0),
        enforce_index: Some(0),
        submission: None,
        submit_time: now_nanos(),
        job: child,
    }
}

/// Whether a child of `parent` still has work: an allocation not yet terminal or an
/// evaluation not yet finished.
fn has_running_child(state: &State, ns: &str, parent: &str) -> bool {
    let Some(jobs) = state.jobs.get(ns) else {
        return false;
    };
    let children: Vec<&str> = jobs
        .values()
        .map(|r| r.current())
        .filter(|j| j.parent_id.as_deref() == Some(parent) && j.stop != Some(true))
        .map(Job::id)
        .collect();
    let busy_alloc = state
        .allocs
        .values()
        .any(|a| a.namespace == ns && children.contains(&a.job_id.as_str()) && !a.is_terminal());
    let busy_eval = state.evals.values().any(|e| {
        children.contains(&e.job_id.as_str()) && matches!(e.status, EvalStatus::Pending | EvalStatus::Blocked)
    });
    busy_alloc || busy_eval
}
