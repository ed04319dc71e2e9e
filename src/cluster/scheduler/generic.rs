//! The service and batch scheduler: reconcile each group, then place what is missing.
//!
//! ```text
//!  allocs of job ─► reconcile per group ─► stops ─► ProposedUsage
//!                                   └─► place requests ─► GroupStack::select ─► allocations
//!                                                              └─(no node)─► FailedTGAllocs
//! ```

use std::collections::{BTreeMap, HashSet};

use super::alloc_builder::{NewAlloc, build_alloc, build_deployment};
use super::group_spec::GroupSpec;
use super::plan::{PlanResult, reason};
use super::reconcile::{PlaceReason, reconcile_group, stop_all};
use super::rng::SchedRng;
use super::select::{CandidateSet, GroupStack, PlanContext};
use super::state::SchedulerState;
use super::usage::ProposedUsage;
use crate::api::{AllocMetric, DeploymentStatus, Evaluation};
use crate::spec::Job;

/// Schedules a service or batch job into `plan`.
pub fn schedule_generic<S: SchedulerState + ?Sized>(
    state: &S,
    eval: &Evaluation,
    job: &Job,
    rng: &mut SchedRng,
    plan: &mut PlanResult,
) {
    let batch = job.job_type() == "batch";
    let allocs = state.allocs_by_job(job.namespace(), job.id());
    let now = eval.create_time;
    let mut recs = Vec::new();
    for group in job.groups() {
        let mine: Vec<_> = allocs
            .iter()
            .copied()
            .filter(|a| a.task_group == group.name())
            .collect();
        recs.push(reconcile_group(state, job, group, &mine, now));
    }
    let removed: Vec<_> = allocs
        .iter()
        .copied()
        .filter(|a| !job.groups().iter().any(|g| g.name() == a.task_group))
        .collect();
    for s in stop_all(&removed, reason::NOT_NEEDED) {
        let group = removed
            .iter()
            .find(|a| a.id == s.alloc_id)
            .map(|a| a.task_group.clone())
            .unwrap_or_default();
        plan.annotations.desired_tg_updates.entry(group).or_default().stop += 1;
        plan.stop.push(s);
    }
    for rec in &recs {
        plan.stop.extend(rec.stop.iter().cloned());
    }

    let stopping: HashSet<String> = plan.stop.iter().map(|s| s.alloc_id.clone()).collect();
    let job_allocs = allocs
        .iter()
        .filter(|a| !a.is_terminal() && !stopping.contains(&a.id))
        .filter_map(|a| state.node(&a.node_id).map(|n| (n, a.task_group.clone())))
        .collect();
    let candidates = CandidateSet::build(state.nodes(), job, rng);
    let deployment =
        wants_deployment(state, job, &recs).then(|| build_deployment(job, &BTreeMap::new(), rng));
    // Placements while this version's deployment runs (the next batch of a rolling update,
    // replacements) belong to it, so its health counts and pacing see them.
    let running = state
        .latest_deployment(job.namespace(), job.id())
        .filter(|d| d.job_version == job.version.unwrap_or(0) && d.status == DeploymentStatus::Running);
    let deployment_id = deployment
        .as_ref()
        .or(running)
        .map(|d| d.id.clone())
        .unwrap_or_default();
    // Allocations updated in place join the deployment with the health they have: their tasks
    // keep running, so a deployment of in-place changes completes on its own.
    for rec in &recs {
        for a in &rec.in_place {
            let mut updated = (*a).clone();
            updated.job_version = job.version.unwrap_or(0);
            updated.eval_id = eval.id.clone();
            updated.job = None;
            if !deployment_id.is_empty() {
                updated.deployment_id = deployment_id.clone();
            }
            plan.in_place.push(updated);
        }
    }
    let mut ctx = PlanContext {
        state,
        usage: ProposedUsage::new(&allocs, &stopping),
        job_allocs,
        rng,
        algorithm: state.config().algorithm,
    };
    let mut placed_per_group = BTreeMap::new();
    for (group, rec) in job.groups().iter().zip(&recs) {
        let spec = GroupSpec::compile(job, group);
        let mut stack = GroupStack::new(spec, candidates.order.len(), batch);
        let existing: Vec<_> = ctx
            .job_allocs
            .iter()
            .filter(|(_, g)| g == group.name())
            .map(|(n, _)| *n)
            .collect();
        existing.into_iter().for_each(|n| stack.count_for_spread(n));
        let mut updates = rec.updates.clone();
        let mut failed: Option<AllocMetric> = None;
        for req in &rec.place {
            match req.reason {
                PlaceReason::New | PlaceReason::Lost | PlaceReason::Reschedule => updates.place += 1,
                PlaceReason::Migrate => updates.migrate += 1,
                PlaceReason::Destructive => updates.destructive_update += 1,
            }
            if let Some(m) = failed.as_mut() {
                m.coalesced_failures += 1;
                continue;
            }
            let penalty = (req.reason == PlaceReason::Reschedule)
                .then(|| req.previous.map(|p| p.node_id.as_str()))
                .flatten();
            match stack.select(&mut ctx, &candidates, penalty) {
                Ok(sel) => {
                    stack.commit(&mut ctx, sel.node, &sel.ports);
                    let node = &state.nodes()[sel.node];
                    let alloc = build_alloc(
                        NewAlloc {
                            eval,
                            job,
                            spec: &stack.spec,
                            request: req,
                            node,
                            ports: sel.ports,
                            metric: sel.metric,
                            deployment_id: deployment_id.clone(),
                        },
                        ctx.rng,
                    );
                    *placed_per_group.entry(group.name().to_string()).or_insert(0i64) += 1;
                    plan.place.push(alloc);
                }
                Err(metric) => failed = Some(*metric),
            }
        }
        if let Some(m) = failed {
            plan.queued_allocations
                .insert(group.name().to_string(), m.coalesced_failures + 1);
            plan.failed_tg_allocs.insert(group.name().to_string(), m);
        } else {
            plan.queued_allocations.insert(group.name().to_string(), 0);
        }
        plan.annotations
            .desired_tg_updates
            .insert(group.name().to_string(), updates);
    }
    plan.deployment = deployment.map(|mut d| {
        for (g, state) in d.task_groups.iter_mut() {
            state.placed_allocs = placed_per_group.get(g).copied().unwrap_or(0);
        }
        d
    });
}

/// A service job gets a deployment when this plan changes its allocations and no deployment
/// of its current version is under way or done.
fn wants_deployment<S: SchedulerState + ?Sized>(
    state: &S,
    job: &Job,
    recs: &[super::reconcile::GroupReconcile<'_>],
) -> bool {
    let changes = |r: &super::reconcile::GroupReconcile<'_>| {
        !r.in_place.is_empty()
            || r.place
                .iter()
                .any(|p| matches!(p.reason, PlaceReason::New | PlaceReason::Destructive))
    };
    if job.job_type() != "service" || !recs.iter().any(changes) {
        return false;
    }
    let version = job.version.unwrap_or(0);
    !state
        .latest_deployment(job.namespace(), job.id())
        .is_some_and(|d| {
            d.job_version == version
                && matches!(
                    d.status,
                    DeploymentStatus::Running | DeploymentStatus::Successful | DeploymentStatus::Paused
                )
        })
}
