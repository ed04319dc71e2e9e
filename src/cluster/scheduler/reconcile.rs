//! The reconciler: desired allocations of a group against the existing ones. It decides what
//! to place, stop, migrate, update in place or replace; the placer then finds nodes.
//!
//! ```text
//!  existing allocs ─► terminal? lost? failed? draining? ─► live ─► count (keep lowest indexes)
//!                                                           └───► version changed? in place / destructive
//! ```

use std::collections::BTreeSet;

use super::canary::{CanaryPolicy, CanaryRole, place_canaries, retire_replaced};
use super::plan::{AllocStop, PlanResult, reason};
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
    /// A canary of the new version, placed beside the allocation it will replace.
    Canary,
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

/// The reconciler's decision for one group. Placements are made in field order: `replace`,
/// then `new`, then `update`, then `canary`.
#[derive(Debug, Default)]
pub struct GroupReconcile<'s> {
    /// Replacements of allocations the group keeps (lost, failed, migrating, complete).
    pub replace: Vec<PlaceRequest<'s>>,
    /// Fresh allocations the count still asks for, handed out lazily (a group's count may be
    /// far larger than what any cluster can place).
    pub new: NewIndexes,
    /// Replacements of allocations a destructive update stops.
    pub update: Vec<PlaceRequest<'s>>,
    /// Canaries of the new version, placed beside the allocations they will replace.
    pub canary: Vec<PlaceRequest<'s>>,
    /// To stop.
    pub stop: Vec<AllocStop>,
    /// To update in place.
    pub in_place: Vec<&'s Allocation>,
    /// Counts for the plan annotations (Place and Stop are final after placement).
    pub updates: DesiredUpdates,
}

impl GroupReconcile<'_> {
    /// Whether this decision changes the group's allocations for its current version.
    pub fn changes_version(&self) -> bool {
        !self.in_place.is_empty()
            || !self.new.is_empty()
            || !self.update.is_empty()
            || !self.canary.is_empty()
            || self.replace.iter().any(|p| p.reason == PlaceReason::New)
    }
}

/// The indexes fresh allocations take: the lowest ones no kept allocation holds, each
/// found in O(log n).
#[derive(Clone, Debug, Default)]
pub struct NewIndexes {
    taken: BTreeSet<u32>,
    remaining: usize,
    /// The next candidate; `None` once every `u32` index was handed out or taken.
    next: Option<u32>,
}

impl NewIndexes {
    /// How many indexes are still to hand out.
    pub fn len(&self) -> usize {
        self.remaining
    }

    /// Whether none is left to hand out.
    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }

    /// The placement of a fresh allocation `job.group[index]`.
    pub fn request<'s>(job: &Job, group: &str, index: u32) -> PlaceRequest<'s> {
        PlaceRequest {
            name: format!("{}.{group}[{index}]", job.id()),
            index,
            previous: None,
            reason: PlaceReason::New,
        }
    }
}

impl Iterator for NewIndexes {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if self.remaining == 0 {
            return None;
        }
        let mut index = self.next?;
        // Each taken index is stepped over once in all, so handing out n is O(n log n).
        while self.taken.contains(&index) {
            index = match index.checked_add(1) {
                Some(i) => i,
                None => {
                    self.next = None;
                    return None;
                }
            };
        }
        self.next = index.checked_add(1);
        self.remaining -= 1;
        Some(index)
    }
}

/// Nomad's reschedule defaults: service unlimited, batch once per 24 hours.
const BATCH_ATTEMPTS: i64 = 1;
const BATCH_INTERVAL_NANOS: i64 = 24 * 3600 * 1_000_000_000;

/// The group's allocations sorted into what becomes of them, before the count is applied.
#[derive(Default)]
struct Triage<'s> {
    live: Vec<&'s Allocation>,
    done: Vec<&'s Allocation>,
    replacements: Vec<PlaceRequest<'s>>,
    draining: Vec<&'s Allocation>,
    /// Canaries of the current version awaiting promotion.
    canaries: Vec<&'s Allocation>,
}

/// Reconciles one group of a service or batch job. `allocs` are the job's allocations of
/// this group (any status); `now` is the evaluation's time in Unix nanoseconds.
pub fn reconcile_group<'s, S: SchedulerState + ?Sized>(
    state: &'s S,
    job: &Job,
    group: &TaskGroup,
    allocs: &[&'s Allocation],
    now: i64,
) -> GroupReconcile<'s> {
    let mut out = GroupReconcile::default();
    let canary = CanaryPolicy::of(state, job, group);
    let mut triage = triage(state, job, group, allocs, now, &canary, &mut out);
    migrate_draining(job, group, &mut triage, &mut out);
    if canary.promoted() {
        retire_replaced(&mut triage.live, job.version.unwrap_or(0), &mut out);
    }
    let held = std::mem::take(&mut triage.canaries);
    let kept_live = apply_count(group, triage, &mut out);
    let changes = VersionChanges {
        canary: &canary,
        held: &held,
    };
    version_changes(state, job, group, kept_live, changes, &mut out);
    out
}

/// Phase 1: sorts every allocation that should run into live, done, draining or to be
/// replaced (stopping those it replaces).
fn triage<'s, S: SchedulerState + ?Sized>(
    state: &'s S,
    job: &Job,
    group: &TaskGroup,
    allocs: &[&'s Allocation],
    now: i64,
    canary: &CanaryPolicy<'_>,
    out: &mut GroupReconcile<'s>,
) -> Triage<'s> {
    let batch = job.job_type() == "batch";
    let version = job.version.unwrap_or(0);
    let mut sorted: Vec<(u32, &'s Allocation)> = allocs
        .iter()
        .map(|a| (a.index().unwrap_or(u32::MAX), *a))
        .collect();
    sorted.sort_by(|(ia, a), (ib, b)| (ia, a.create_index, &a.id).cmp(&(ib, b.create_index, &b.id)));
    let mut t = Triage::default();
    for (_, a) in sorted {
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
        match canary.role(a, version) {
            Some(CanaryRole::Held) => {
                // A failed canary fails its deployment; it is not rescheduled.
                if !a.client_status.is_terminal() {
                    t.canaries.push(a);
                }
                continue;
            }
            Some(CanaryRole::Stop) => {
                if !a.client_status.is_terminal() {
                    out.stop.push(stop(a, reason::NOT_NEEDED, None));
                    out.updates.stop += 1;
                }
                continue;
            }
            Some(CanaryRole::Promoted) | None => {}
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
            ClientStatus::Complete if batch => t.done.push(a),
            ClientStatus::Complete => t.replacements.push(replace(PlaceReason::New)),
            ClientStatus::Failed => {
                if reschedulable(job, group, a, now) {
                    out.stop.push(stop(a, reason::RESCHEDULED, None));
                    t.replacements.push(replace(PlaceReason::Reschedule));
                } else {
                    t.done.push(a);
                }
            }
            // Marked lost when its node went down: stop it too, so that a node coming back
            // stops it rather than running it beside its replacement.
            _ if node_lost || a.client_status == ClientStatus::Lost => {
                out.stop.push(stop(a, reason::LOST, Some(ClientStatus::Lost)));
                out.updates.stop += 1;
                t.replacements.push(replace(PlaceReason::Lost));
            }
            _ if a.desired_transition.migrate == Some(true) => {
                out.stop.push(stop(a, reason::MIGRATING, None));
                t.replacements.push(replace(PlaceReason::Migrate));
            }
            _ if node.is_some_and(|n| n.is_draining()) => t.draining.push(a),
            _ => t.live.push(a),
        }
    }
    t
}

/// Phase 2: allocations on draining nodes move `migrate.max_parallel` at a time; the rest
/// stay live for now.
fn migrate_draining<'s>(job: &Job, group: &TaskGroup, t: &mut Triage<'s>, out: &mut GroupReconcile<'s>) {
    let migrate_limit = migrate_parallel(job, group);
    for (i, a) in std::mem::take(&mut t.draining).into_iter().enumerate() {
        if i < migrate_limit {
            out.stop.push(stop(a, reason::MIGRATING, None));
            t.replacements.push(PlaceRequest {
                name: a.name.clone(),
                index: a.index().unwrap_or(0),
                previous: Some(a),
                reason: PlaceReason::Migrate,
            });
        } else {
            t.live.push(a);
        }
    }
}

/// Phase 3: the count keeps the lowest `count` indexes and stops the rest (highest index
/// first); indexes still missing become `new`. Returns the live allocations kept.
fn apply_count<'s>(group: &TaskGroup, t: Triage<'s>, out: &mut GroupReconcile<'s>) -> Vec<&'s Allocation> {
    enum Slot<'s> {
        Live(&'s Allocation),
        Done,
        Replace(PlaceRequest<'s>),
    }
    let count = usize::try_from(group.count.unwrap_or(1).max(0)).unwrap_or(usize::MAX);
    let index_of = |a: &Allocation| a.index().unwrap_or(u32::MAX);
    let mut slots: Vec<(u32, Slot<'s>)> = t.live.iter().map(|a| (index_of(a), Slot::Live(a))).collect();
    slots.extend(t.done.iter().map(|a| (index_of(a), Slot::Done)));
    slots.extend(t.replacements.into_iter().map(|r| (r.index, Slot::Replace(r))));
    slots.sort_by_key(|(i, _)| *i);
    let mut kept = BTreeSet::new();
    let mut last_kept = None;
    let mut kept_live = Vec::new();
    let mut extra_live = Vec::new();
    for (index, slot) in slots {
        let keep = kept.len() < count && last_kept != Some(index);
        if keep {
            kept.insert(index);
            last_kept = Some(index);
        }
        match (slot, keep) {
            (Slot::Live(a), true) => kept_live.push(a),
            (Slot::Live(a), false) => extra_live.push(a),
            (Slot::Replace(r), true) => out.replace.push(r),
            (Slot::Done, _) | (Slot::Replace(_), false) => {}
        }
    }
    for a in extra_live.into_iter().rev() {
        out.stop.push(stop(a, reason::NOT_NEEDED, None));
        out.updates.stop += 1;
    }
    out.new = NewIndexes {
        remaining: count - kept.len(),
        taken: kept,
        next: Some(0),
    };
    kept_live
}

/// What phase 4 needs to know of the group's canaries.
struct VersionChanges<'c, 's> {
    canary: &'c CanaryPolicy<'c>,
    held: &'c [&'s Allocation],
}

/// Phase 4: kept allocations of an older version are updated in place, or replaced
/// `update.max_parallel` at a time, or wait behind canaries until promotion.
fn version_changes<'s, S: SchedulerState + ?Sized>(
    state: &'s S,
    job: &Job,
    group: &TaskGroup,
    kept_live: Vec<&'s Allocation>,
    changes: VersionChanges<'_, 's>,
    out: &mut GroupReconcile<'s>,
) {
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
    if changes.canary.holds_updates(destructive.len()) {
        place_canaries(changes.canary, job, group, changes.held, destructive, out);
        return;
    }
    let batch = job.job_type() == "batch";
    let limit = update_parallel(job, group, batch).map_or(usize::MAX, |n| n.saturating_sub(in_flight));
    for (i, a) in destructive.into_iter().enumerate() {
        if i < limit {
            out.stop.push(stop(a, reason::UPDATING, None));
            out.update.push(PlaceRequest {
                name: a.name.clone(),
                index: a.index().unwrap_or(0),
                previous: Some(a),
                reason: PlaceReason::Destructive,
            });
        } else {
            out.updates.ignore += 1;
        }
    }
}

/// Stops every non-terminal allocation (job stopped, group removed).
pub fn stop_all(allocs: &[&Allocation], description: &str) -> Vec<AllocStop> {
    allocs
        .iter()
        .filter(|a| a.desired_status == DesiredStatus::Run && !a.client_status.is_terminal())
        .map(|a| stop(a, description, None))
        .collect()
}

/// Stops every non-terminal allocation into `plan`, counting each under its group in the
/// annotations.
pub fn stop_all_counted(allocs: &[&Allocation], description: &str, plan: &mut PlanResult) {
    let live = allocs
        .iter()
        .filter(|a| a.desired_status == DesiredStatus::Run && !a.client_status.is_terminal());
    for a in live {
        let group = a.task_group.clone();
        plan.annotations.desired_tg_updates.entry(group).or_default().stop += 1;
        plan.stop.push(stop(a, description, None));
    }
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
