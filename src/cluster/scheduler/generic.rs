//! The service and batch scheduler: reconcile each group, then place what is missing.
//!
//! ```text
//!  allocs of job ─► reconcile per group ─► stops ─► ProposedUsage
//!                                   └─► place requests ─► GroupStack::select ─► allocations
//!                                        (budget checked        └─(no node)─► FailedTGAllocs
//!                                         before each)
//! ```

use std::collections::{BTreeMap, HashSet};

use super::alloc_builder::{NewAlloc, build_alloc, build_deployment};
use super::budget::{Budget, OverBudget};
use super::group_spec::GroupSpec;
use super::plan::{PlanResult, reason};
use super::reconcile::{
    GroupReconcile, NewIndexes, PlaceReason, PlaceRequest, reconcile_group, stop_all_counted,
};
use super::rng::SchedRng;
use super::select::{CandidateSet, GroupStack, PlanContext};
use super::state::SchedulerState;
use super::usage::ProposedUsage;
use crate::api::{AllocMetric, Allocation, DeploymentStatus, DesiredUpdates, Evaluation};
use crate::spec::{Job, TaskGroup};

/// Schedules a service or batch job into `plan`; gives up when `budget` runs out.
pub fn schedule_generic<S: SchedulerState + ?Sized>(
    state: &S,
    eval: &Evaluation,
    job: &Job,
    rng: &mut SchedRng,
    plan: &mut PlanResult,
    budget: &Budget,
) -> Result<(), OverBudget> {
    let allocs = state.allocs_by_job(job.namespace(), job.id());
    let recs = reconcile_groups(state, eval, job, &allocs, plan);
    let stopping: HashSet<String> = plan.stop.iter().map(|s| s.alloc_id.clone()).collect();
    let job_allocs = allocs
        .iter()
        .filter(|a| !a.is_terminal() && !stopping.contains(&a.id))
        .filter_map(|a| state.node(&a.node_id).map(|n| (n, a.task_group.clone())))
        .collect();
    let candidates = CandidateSet::build(state.nodes(), job, rng);
    let canaries: BTreeMap<String, i64> = job
        .groups()
        .iter()
        .zip(&recs)
        .filter(|(_, r)| !r.canary.is_empty())
        .map(|(g, _)| (g.name().to_string(), canary_count(job, g)))
        .collect();
    let deployment = wants_deployment(state, job, &recs).then(|| build_deployment(job, &canaries, rng));
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
    record_in_place(eval, job, &recs, &deployment_id, plan);
    let mut ctx = PlanContext {
        state,
        usage: ProposedUsage::new(&allocs, &stopping),
        job_allocs,
        rng,
        algorithm: state.config().algorithm,
    };
    let mut placed_per_group = BTreeMap::new();
    for (group, rec) in job.groups().iter().zip(recs) {
        let mut placer = GroupPlacer {
            eval,
            job,
            group,
            candidates: &candidates,
            deployment_id: &deployment_id,
            budget,
            stack: group_stack(&ctx, job, group, candidates.order.len()),
            updates: rec.updates.clone(),
            failed: None,
            placed: 0,
        };
        placer.place_all(&mut ctx, rec, plan)?;
        placed_per_group.insert(group.name().to_string(), placer.placed);
        placer.finish(plan);
    }
    plan.deployment = deployment.map(|mut d| {
        for (g, state) in d.task_groups.iter_mut() {
            state.placed_allocs = placed_per_group.get(g).copied().unwrap_or(0);
            let placed_canaries: Vec<String> = plan
                .place
                .iter()
                .filter(|a| &a.task_group == g && a.deployment_status.as_ref().is_some_and(|s| s.canary))
                .map(|a| a.id.clone())
                .collect();
            state.placed_canaries = (!placed_canaries.is_empty()).then_some(placed_canaries);
        }
        d
    });
    Ok(())
}

/// The group's `update.canary`.
fn canary_count(job: &Job, group: &TaskGroup) -> i64 {
    let update = group.update.as_ref().or(job.update.as_ref());
    update.and_then(|u| u.canary).unwrap_or(0)
}

/// Phase 1: reconciles every group and records the stops, including those of groups the
/// job no longer has.
fn reconcile_groups<'s, S: SchedulerState + ?Sized>(
    state: &'s S,
    eval: &Evaluation,
    job: &Job,
    allocs: &[&'s Allocation],
    plan: &mut PlanResult,
) -> Vec<GroupReconcile<'s>> {
    let names: HashSet<&str> = job.groups().iter().map(TaskGroup::name).collect();
    let mut by_group: BTreeMap<&str, Vec<&'s Allocation>> = BTreeMap::new();
    let mut removed = Vec::new();
    for a in allocs {
        match names.contains(a.task_group.as_str()) {
            true => by_group.entry(a.task_group.as_str()).or_default().push(a),
            false => removed.push(*a),
        }
    }
    let recs: Vec<_> = job
        .groups()
        .iter()
        .map(|group| {
            let mine = by_group.remove(group.name()).unwrap_or_default();
            reconcile_group(state, job, group, &mine, eval.create_time)
        })
        .collect();
    stop_all_counted(&removed, reason::NOT_NEEDED, plan);
    for rec in &recs {
        plan.stop.extend(rec.stop.iter().cloned());
    }
    recs
}

/// Phase 2: allocations updated in place join the deployment with the health they have:
/// their tasks keep running, so a deployment of in-place changes completes on its own.
fn record_in_place(
    eval: &Evaluation,
    job: &Job,
    recs: &[GroupReconcile<'_>],
    deployment_id: &str,
    plan: &mut PlanResult,
) {
    for a in recs.iter().flat_map(|r| &r.in_place) {
        let mut updated = (*a).clone();
        updated.job_version = job.version.unwrap_or(0);
        updated.eval_id = eval.id.clone();
        updated.job = None;
        if !deployment_id.is_empty() {
            updated.deployment_id = deployment_id.to_owned();
        }
        plan.in_place.push(updated);
    }
}

/// The group's stack, told where the job's other allocations of the group already run.
fn group_stack<S: SchedulerState + ?Sized>(
    ctx: &PlanContext<'_, S>,
    job: &Job,
    group: &TaskGroup,
    candidates: usize,
) -> GroupStack {
    let spec = GroupSpec::compile(job, group);
    let mut stack = GroupStack::new(spec, candidates, job.job_type() == "batch");
    for (n, _) in ctx.job_allocs.iter().filter(|(_, g)| g == group.name()) {
        stack.count_for_spread(n);
    }
    stack
}

/// Phase 3: places one group's requests in order, coalescing every request after the
/// first failure into it, as Nomad does.
struct GroupPlacer<'a> {
    eval: &'a Evaluation,
    job: &'a Job,
    group: &'a TaskGroup,
    candidates: &'a CandidateSet,
    deployment_id: &'a str,
    budget: &'a Budget,
    stack: GroupStack,
    updates: DesiredUpdates,
    failed: Option<AllocMetric>,
    placed: i64,
}

impl GroupPlacer<'_> {
    /// Replacements, then fresh allocations, then destructive updates.
    fn place_all<S: SchedulerState + ?Sized>(
        &mut self,
        ctx: &mut PlanContext<'_, S>,
        rec: GroupReconcile<'_>,
        plan: &mut PlanResult,
    ) -> Result<(), OverBudget> {
        for req in &rec.replace {
            self.request(ctx, req, plan)?;
        }
        let mut new: NewIndexes = rec.new;
        while self.failed.is_none() {
            let Some(index) = new.next() else { break };
            self.request(
                ctx,
                &NewIndexes::request(self.job, self.group.name(), index),
                plan,
            )?;
        }
        // Whatever is left after a failure fails the same way: counted, not searched.
        self.updates.place += new.len() as u64;
        if let Some(m) = self.failed.as_mut() {
            m.coalesced_failures += new.len() as u64;
        }
        for req in rec.update.iter().chain(&rec.canary) {
            self.request(ctx, req, plan)?;
        }
        Ok(())
    }

    fn request<S: SchedulerState + ?Sized>(
        &mut self,
        ctx: &mut PlanContext<'_, S>,
        req: &PlaceRequest<'_>,
        plan: &mut PlanResult,
    ) -> Result<(), OverBudget> {
        match req.reason {
            PlaceReason::New | PlaceReason::Lost | PlaceReason::Reschedule => self.updates.place += 1,
            PlaceReason::Migrate => self.updates.migrate += 1,
            PlaceReason::Destructive => self.updates.destructive_update += 1,
            PlaceReason::Canary => self.updates.canary += 1,
        }
        if let Some(m) = self.failed.as_mut() {
            m.coalesced_failures += 1;
            return Ok(());
        }
        self.budget.check()?;
        let penalty = (req.reason == PlaceReason::Reschedule)
            .then(|| req.previous.map(|p| p.node_id.as_str()))
            .flatten();
        match self.stack.select(ctx, self.candidates, penalty) {
            Ok(sel) => {
                self.stack.commit(ctx, sel.node, &sel.ports);
                let new = NewAlloc {
                    eval: self.eval,
                    job: self.job,
                    spec: &self.stack.spec,
                    request: req,
                    node: &ctx.state.nodes()[sel.node],
                    ports: sel.ports,
                    metric: sel.metric,
                    deployment_id: self.deployment_id.to_owned(),
                };
                plan.place.push(build_alloc(new, ctx.rng));
                self.placed += 1;
            }
            Err(metric) => self.failed = Some(*metric),
        }
        Ok(())
    }

    /// Writes the group's queued count, failure and annotations into `plan`.
    fn finish(self, plan: &mut PlanResult) {
        let name = self.group.name().to_string();
        if let Some(m) = self.failed {
            plan.queued_allocations
                .insert(name.clone(), m.coalesced_failures + 1);
            plan.failed_tg_allocs.insert(name.clone(), m);
        } else {
            plan.queued_allocations.insert(name.clone(), 0);
        }
        plan.annotations.desired_tg_updates.insert(name, self.updates);
    }
}

/// A service job gets a deployment when this plan changes its allocations and no deployment
/// of its current version is under way or done.
fn wants_deployment<S: SchedulerState + ?Sized>(state: &S, job: &Job, recs: &[GroupReconcile<'_>]) -> bool {
    if job.job_type() != "service" || !recs.iter().any(GroupReconcile::changes_version) {
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
