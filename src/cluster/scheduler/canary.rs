//! Canaries: with `update { canary = N }`, a destructive change first places N allocations of
//! the new version beside the old ones, and the rest of the group waits for promotion.
//!
//! ```text
//!  destructive changes, group not promoted ─► hold every old allocation (no stop)
//!                                          └► place N − (canaries already held) canaries,
//!                                             named after the allocations they will replace
//!  group promoted ─► each canary retires the old allocation of its index; the rest follows
//!                    as a rolling update under max_parallel
//!  deployment failed or superseded ─► its unpromoted canaries stop
//! ```
//!
//! Canaries carry `DeploymentStatus.Canary`; the deployment records `DesiredCanaries`,
//! `PlacedCanaries` and `Promoted` per group, and the watcher or an operator promotes it.

use super::plan::reason;
use super::reconcile::{GroupReconcile, PlaceReason, PlaceRequest, stop};
use super::state::SchedulerState;
use crate::api::{Allocation, Deployment};
use crate::spec::{Job, TaskGroup};

/// What becomes of an allocation that is a canary of the job's current version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CanaryRole {
    /// Promoted: an ordinary allocation of the group.
    Promoted,
    /// Still proving itself in the running deployment: kept beside the old allocations.
    Held,
    /// Its deployment failed or was superseded before promotion: stopped.
    Stop,
}

/// A group's canary settings and where its current deployment stands.
#[derive(Clone, Copy, Debug, Default)]
pub struct CanaryPolicy<'s> {
    /// `update.canary` (service jobs only).
    wanted: usize,
    /// The latest deployment, when it deploys the job's current version.
    deployment: Option<&'s Deployment>,
    /// The latest deployment, of any version.
    latest: Option<&'s Deployment>,
    /// Whether that deployment promoted this group.
    promoted: bool,
}

impl<'s> CanaryPolicy<'s> {
    /// The policy of `group` in `job` as of `state`.
    pub fn of<S: SchedulerState + ?Sized>(state: &'s S, job: &Job, group: &TaskGroup) -> Self {
        let wanted = match job.job_type() {
            "service" => group
                .update
                .as_ref()
                .or(job.update.as_ref())
                .and_then(|u| u.canary)
                .map_or(0, |n| usize::try_from(n.max(0)).unwrap_or(0)),
            _ => 0,
        };
        let version = job.version.unwrap_or(0);
        let latest = state.latest_deployment(job.namespace(), job.id());
        let deployment = latest.filter(|d| d.job_version == version);
        let promoted = deployment
            .and_then(|d| d.task_groups.get(group.name()))
            .is_some_and(|g| g.promoted);
        CanaryPolicy {
            wanted,
            deployment,
            latest,
            promoted,
        }
    }

    /// Whether the group's canaries were promoted.
    pub fn promoted(&self) -> bool {
        self.promoted
    }

    /// The role of `a` when it is a canary of `version` (or an unpromoted one of an older
    /// version, which a newer registration supersedes); `None` for any other allocation.
    pub fn role(&self, a: &Allocation, version: u64) -> Option<CanaryRole> {
        let is_canary = a.deployment_status.as_ref().is_some_and(|d| d.canary);
        if !is_canary {
            return None;
        }
        if a.job_version != version {
            let unpromoted = self
                .latest
                .filter(|d| d.id == a.deployment_id)
                .and_then(|d| d.task_groups.get(&a.task_group))
                .is_some_and(|g| !g.promoted);
            return unpromoted.then_some(CanaryRole::Stop);
        }
        let Some(d) = self.deployment.filter(|d| d.id == a.deployment_id) else {
            return Some(CanaryRole::Stop);
        };
        Some(if self.promoted {
            CanaryRole::Promoted
        } else if d.status.is_active() {
            CanaryRole::Held
        } else {
            CanaryRole::Stop
        })
    }

    /// Whether `destructive` changes wait for promotion behind canaries.
    pub fn holds_updates(&self, destructive: usize) -> bool {
        self.wanted > 0 && !self.promoted && destructive > 0
    }

    /// Whether new canaries may be placed: not once this version's deployment ended.
    fn may_place(&self) -> bool {
        self.deployment.is_none_or(|d| d.status.is_active())
    }
}

/// Holds every destructive change and asks for the canaries still missing, each named after
/// an old allocation no held canary already stands in for.
pub fn place_canaries<'s>(
    policy: &CanaryPolicy<'_>,
    job: &Job,
    group: &TaskGroup,
    held: &[&'s Allocation],
    destructive: Vec<&'s Allocation>,
    out: &mut GroupReconcile<'s>,
) {
    out.updates.ignore += destructive.len() as u64;
    if !policy.may_place() {
        return;
    }
    let missing = policy.wanted.saturating_sub(held.len());
    let taken: Vec<u32> = held.iter().filter_map(|a| a.index()).collect();
    let names = destructive
        .iter()
        .filter_map(|a| a.index())
        .filter(|i| !taken.contains(i))
        .take(missing);
    for index in names {
        out.canary.push(PlaceRequest {
            name: format!("{}.{}[{index}]", job.id(), group.name()),
            index,
            previous: None,
            reason: PlaceReason::Canary,
        });
    }
}

/// After promotion, each canary takes over its index: the old allocation holding the same
/// index stops, and only the remaining old allocations go through the rolling update.
pub fn retire_replaced<'s>(live: &mut Vec<&'s Allocation>, version: u64, out: &mut GroupReconcile<'s>) {
    let canary_indexes: Vec<u32> = live
        .iter()
        .filter(|a| a.job_version == version && a.deployment_status.as_ref().is_some_and(|d| d.canary))
        .filter_map(|a| a.index())
        .collect();
    live.retain(|a| {
        let replaced = a.job_version != version && a.index().is_some_and(|i| canary_indexes.contains(&i));
        if replaced {
            out.stop.push(stop(a, reason::NOT_NEEDED, None));
            out.updates.stop += 1;
        }
        !replaced
    });
}
