//! The reconciler: desired allocations of a group against the existing ones. It decides what
//! to place, stop, migrate, update in place or replace; the placer then finds nodes.
//!
//! ```text
//!  existing allocs ─► terminal? lost? failed? draining? ─► live ─► count (keep lowest indexes)
//!                                                           └───► version changed? in place / destructive
//! ```

use super::plan::{AllocStop, reason};
use super::state::SchedulerState;
use super::update::{UpdateKind, classify};
use crate::api::{Allocation, ClientStatus, DesiredStatus, DesiredUpdates, NodeStatus};
use crate::spec::{Job, TaskGroup};

/// Why a placement is needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaceReason {
    /// Missing from the desired count.
    New,
    /// Its node is down.
    Lost,
    /// Its node is draining.
    Migrate,
    /// Replaced by a destructive update.
    Destructive,
    /// It failed and the reschedule policy allows another attempt.
    Reschedule,
}

/// One allocation to place.
#[derive(Clone, Debug)]
pub struct PlaceRequest<'s> {
    /// `job.group[index]`.
    pub name: String,
    /// The index.
    pub index: u32,
    /// The allocation it replaces.
    pub previous: Option<&'s Allocation>,
    /// Why.
    pub reason: PlaceReason,
}

/// The reconciler's decision for one group.
#[derive(Debug, Default)]
pub struct GroupReconcile<'s> {
    /// To place.
    pub place: Vec<PlaceRequest<'s>>,
    /// To stop.
    pub stop: Vec<AllocStop>,
    /// To update in place.
    pub in_place: Vec<&'s Allocation>,
    /// Counts for the plan annotations (Place and Stop are final after placement).
    pub updates: DesiredUpdates,
}

/// Nomad's reschedule defaults: service unlimited, batch once per 24 hours.
const BATCH_ATTEMPTS: i64 = 1;
const BATCH_INTERVAL_NANOS: i64 = 24 * 3600 * 1_000_000_000;

/// Reconciles one group of a service or batch job. `allocs` are the job's allocations of
/// this group (any status); `now` is the evaluation's time in Unix nanoseconds.
pub fn reconcile_group<'s, S: SchedulerState + ?Sized>(
    state: &'s S,
    job: &Job,
    group: &TaskGroup,
    allocs: &[&'s Allocation],
    now: i64,
) -> GroupReconcile<'s> {
    let batch = job.job_type() == "batch";
    let count = group.count.unwrap_or(1).max(0) as usize;
    let mut out = GroupReconcile::default();
    let mut live: Vec<&'s Allocation> = Vec::new();
    let mut done: Vec<&'s Allocation> = Vec::new();
    let mut replacements: Vec<PlaceRequest<'s>> = Vec::new();
    let mut draining: Vec<&'s Allocation> = Vec::new();
    let mut sorted: Vec<&'s Allocation> = allocs.to_vec();
    sorted.sort_by_key(|a| (a.index().unwrap_or(u32::MAX), a.create_index, a.id.clone()));

    let version = job.version.unwrap_or(0);
    for &a in &sorted {
        if a.desired_status != DesiredStatus::Run {
            continue;
        }
        // A batch job's finished allocations of an older version are history, as in Nomad:
        // a new version runs the group again.
        if batch
            && a.job_version < version
            && matches!(a.client_status, ClientStatus::Complete | ClientStatus::Failed)
        {
            continue;
        }
        let node = state.node(&a.node_id);
        let node_lost = node.is_none_or(|n| n.status == NodeStatus::Down);
        let replace = |reason| PlaceRequest {
            name: a.name.clone(),
            index: a.index().unwrap_or(0),
            previous: Some(a),
            reason,
        };
        match a.client_status {
            ClientStatus::Complete if batch => done.push(a),
            ClientStatus::Complete => replacements.push(replace(PlaceReason::New)),
            ClientStatus::Failed => {
                if reschedulable(job, group, a, now) {
                    out.stop.push(stop(a, reason::RESCHEDULED, None));
                    replacements.push(replace(PlaceReason::Reschedule));
                } else {
                    done.push(a);
                }
            }
            // Marked lost when its node went down: stop it too, so that a node coming back
            // stops it rather than running it beside its replacement.
            _ if node_lost || a.client_status == ClientStatus::Lost => {
                out.stop.push(stop(a, reason::LOST, Some(ClientStatus::Lost)));
                out.updates.stop += 1;
                replacements.push(replace(PlaceReason::Lost));
            }
            _ if a.desired_transition.migrate == Some(true) => {
                out.stop.push(stop(a, reason::MIGRATING, None));
                replacements.push(replace(PlaceReason::Migrate));
            }
            _ if node.is_some_and(|n| n.is_draining()) => draining.push(a),
            _ => live.push(a),
        }
    }
    // Allocations on draining nodes move `migrate.max_parallel` at a time.
    let migrate_limit = migrate_parallel(job, group);
    for (i, a) in draining.into_iter().enumerate() {
        if i < migrate_limit {
            out.stop.push(stop(a, reason::MIGRATING, None));
            replacements.push(PlaceRequest {
                name: a.name.clone(),
                index: a.index().unwrap_or(0),
                previous: Some(a),
                reason: PlaceReason::Migrate,
            });
        } else {
            live.push(a);
        }
    }

    // Count: keep the lowest `count` indexes; stop the rest (highest index first).
    enum Slot<'s> {
        Live(&'s Allocation),
        Done,
        Replace(PlaceRequest<'s>),
    }
    let mut slots: Vec<(u32, Slot<'s>)> = live
        .iter()
        .map(|a| (a.index().unwrap_or(u32::MAX), Slot::Live(a)))
        .collect();
    slots.extend(done.iter().map(|a| (a.index().unwrap_or(u32::MAX), Slot::Done)));
    slots.extend(replacements.into_iter().map(|r| (r.index, Slot::Replace(r))));
    slots.sort_by_key(|(i, _)| *i);
    let mut kept_indexes = Vec::new();
    let mut kept_live = Vec::new();
    let mut extra_live = Vec::new();
    for (index, slot) in slots {
        let keep = kept_indexes.len() < count && kept_indexes.last() != Some(&index);
        if keep {
            kept_indexes.push(index);
        }
        match (slot, keep) {
            (Slot::Live(a), true) => kept_live.push(a),
            (Slot::Live(a), false) => extra_live.push(a),
            (Slot::Replace(r), true) => out.place.push(r),
            (Slot::Done, _) | (Slot::Replace(_), false) => {}
        }
    }
    for a in extra_live.into_iter().rev() {
        out.stop.push(stop(a, reason::NOT_NEEDED, None));
        out.updates.stop += 1;
    }
    let mut next = 0u32;
    while kept_indexes.len() < count {
        while kept_indexes.contains(&next) {
            next += 1;
        }
        kept_indexes.push(next);
        let name = format!("{}.{}[{next}]", job.id(), group.name());
        out.place.push(PlaceRequest {
            name,
            index: next,
            previous: None,
            reason: PlaceReason::New,
        });
    }

    // Version changes on the allocations kept.
    let version = job.version.unwrap_or(0);
    // Allocations of this version still proving their health hold `max_parallel` slots.
    let in_flight = kept_live
        .iter()
        .filter(|a| a.job_version == version && !a.deployment_id.is_empty())
        .filter(|a| a.deployment_status.as_ref().and_then(|d| d.healthy) != Some(true))
        .count();
    let mut destructive = Vec::new();
    for a in kept_live {
        if a.job_version == version {
            out.updates.ignore += 1;
            continue;
        }
        let old_job = a
            .job
            .as_deref()
            .or_else(|| state.job_version(job.namespace(), job.id(), a.job_version));
        let old_group = old_job.and_then(|j| j.groups().iter().find(|g| g.name() == group.name()));
        let kind = match (old_job, old_group) {
            (Some(oj), Some(og)) => classify(oj, og, job, group, state.node(&a.node_id)),
            _ => UpdateKind::Destructive,
        };
        match kind {
            UpdateKind::None | UpdateKind::InPlace => {
                out.in_place.push(a);
                out.updates.in_place_update += 1;
            }
            UpdateKind::Destructive => destructive.push(a),
        }
    }
    let limit = update_parallel(job, group, batch).map_or(usize::MAX, |n| n.saturating_sub(in_flight));
    for (i, a) in destructive.into_iter().enumerate() {
        if i < limit {
            out.stop.push(stop(a, reason::UPDATING, None));
            out.place.push(PlaceRequest {
                name: a.name.clone(),
                index: a.index().unwrap_or(0),
                previous: Some(a),
                reason: PlaceReason::Destructive,
            });
        } else {
            out.updates.ignore += 1;
        }
    }
    out
}

/// Stops every non-terminal allocation (job stopped, group removed).
pub fn stop_all(allocs: &[&Allocation], description: &str) -> Vec<AllocStop> {
    allocs
        .iter()
        .filter(|a| a.desired_status == DesiredStatus::Run && !a.client_status.is_terminal())
        .map(|a| stop(a, description, None))
        .collect()
}

/// A stop order for `a`.
pub fn stop(a: &Allocation, description: &str, client_status: Option<ClientStatus>) -> AllocStop {
    AllocStop {
        alloc_id: a.id.clone(),
        node_id: a.node_id.clone(),
        description: description.to_string(),
        client_status,
    }
}

/// Whether a failed allocation may be replaced under its reschedule policy.
fn reschedulable(job: &Job, group: &TaskGroup, a: &Allocation, now: i64) -> bool {
    if a.desired_transition.force_reschedule == Some(true) {
        return true;
    }
    let policy = group.reschedule_policy.as_ref().or(job.reschedule.as_ref());
    let batch = job.job_type() == "batch";
    let unlimited = policy.and_then(|p| p.unlimited).unwrap_or(!batch);
    if unlimited {
        return true;
    }
    let attempts = policy
        .and_then(|p| p.attempts)
        .unwrap_or(if batch { BATCH_ATTEMPTS } else { 0 });
    let interval = policy
        .and_then(|p| p.interval)
        .map(|d| d.nanos())
        .unwrap_or(BATCH_INTERVAL_NANOS);
    let recent = a
        .reschedule_tracker
        .iter()
        .flat_map(|t| t.events.iter().flatten())
        .filter(|e| now - e.reschedule_time < interval)
        .count() as i64;
    recent < attempts
}

fn update_parallel(job: &Job, group: &TaskGroup, batch: bool) -> Option<usize> {
    if batch {
        return None;
    }
    let update = group.update.as_ref().or(job.update.as_ref())?;
    match update.max_parallel {
        Some(n) if n > 0 => Some(n as usize),
        _ => None,
    }
}

fn migrate_parallel(job: &Job, group: &TaskGroup) -> usize {
    let m = group.migrate.as_ref().or(job.migrate.as_ref());
    m.and_then(|m| m.max_parallel).filter(|n| *n > 0).unwrap_or(1) as usize
}
