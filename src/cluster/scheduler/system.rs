//! The system and sysbatch scheduler: one allocation of each group on every feasible node.
//!
//! ```text
//!  every node ─► node set + static checks ─► feasible? ─┬─ no alloc ─► place (fit, ports)
//!                                                       ├─ old version ─► in place / replace
//!                 infeasible, down, draining ─► stop ◄──┘
//! ```

use std::collections::{HashMap, HashSet};

use super::alloc_builder::{NewAlloc, build_alloc};
use super::budget::{Budget, OverBudget};
use super::feasible::{FeasibilityChecker, chain_admits, node_set_chain};
use super::group_spec::GroupSpec;
use super::plan::{PlanResult, reason};
use super::reconcile::{PlaceReason, PlaceRequest, stop, stop_all};
use super::rng::SchedRng;
use super::select::{GroupStack, PlanContext};
use super::state::SchedulerState;
use super::update::{UpdateKind, classify};
use super::usage::ProposedUsage;
use crate::api::{
    AllocMetric, Allocation, ClientStatus, DesiredStatus, DesiredUpdates, Evaluation, Node, NodeStatus,
};
use crate::spec::{Job, TaskGroup};

/// A group's stack and the nodes to place it on (with the allocation each replaces).
type GroupWork<'a> = (GroupStack, Vec<(usize, Option<&'a Allocation>)>);

/// Schedules a system or sysbatch job into `plan`; gives up when `budget` runs out.
pub fn schedule_system<S: SchedulerState + ?Sized>(
    state: &S,
    eval: &Evaluation,
    job: &Job,
    rng: &mut SchedRng,
    plan: &mut PlanResult,
    budget: &Budget,
) -> Result<(), OverBudget> {
    let allocs = state.allocs_by_job(job.namespace(), job.id());
    let removed: Vec<_> = allocs
        .iter()
        .copied()
        .filter(|a| !job.groups().iter().any(|g| g.name() == a.task_group))
        .collect();
    plan.stop.extend(stop_all(&removed, reason::NOT_NEEDED));
    let node_set = node_set_chain(
        job.datacenters.as_deref().unwrap_or(&[]),
        job.node_pool.as_deref().unwrap_or("default"),
    );
    // Pass 1: decide per group and node what stays, stops and needs a placement.
    let mut work: Vec<GroupWork<'_>> = Vec::new();
    for group in job.groups() {
        budget.check()?;
        let decider = NodeDecider {
            state,
            eval,
            job,
            group,
            node_set: &node_set,
        };
        work.push(decider.decide(&allocs, plan));
    }
    // Pass 2: place on each chosen node.
    let stopping: HashSet<String> = plan.stop.iter().map(|s| s.alloc_id.clone()).collect();
    let mut ctx = PlanContext {
        state,
        usage: ProposedUsage::new(&allocs, &stopping),
        job_allocs: Vec::new(),
        rng,
        algorithm: state.config().algorithm,
    };
    for (stack, to_place) in work {
        place_on_nodes(&mut ctx, eval, job, stack, to_place, plan, budget)?;
    }
    Ok(())
}

/// Decides, node by node, what becomes of one group.
struct NodeDecider<'a, S: SchedulerState + ?Sized> {
    state: &'a S,
    eval: &'a Evaluation,
    job: &'a Job,
    group: &'a TaskGroup,
    node_set: &'a [Box<dyn FeasibilityChecker>],
}

impl<'a, S: SchedulerState + ?Sized> NodeDecider<'a, S> {
    /// The group's stack and the nodes to place it on; stops and in-place updates go into
    /// `plan`.
    fn decide(&self, allocs: &[&'a Allocation], plan: &mut PlanResult) -> GroupWork<'a> {
        let nodes = self.state.nodes();
        let mut stack = GroupStack::new(GroupSpec::compile(self.job, self.group), nodes.len(), false);
        let mut by_node: HashMap<&str, Vec<&'a Allocation>> = HashMap::new();
        for a in allocs
            .iter()
            .filter(|a| a.task_group == self.group.name() && a.desired_status == DesiredStatus::Run)
        {
            by_node.entry(a.node_id.as_str()).or_default().push(a);
        }
        let mut updates = plan
            .annotations
            .desired_tg_updates
            .remove(self.group.name())
            .unwrap_or_default();
        let mut to_place = Vec::new();
        for (i, node) in nodes.iter().enumerate() {
            let existing = by_node.remove(node.id.as_str()).unwrap_or_default();
            if let Some(place) = self.decide_node(&mut stack, i, node, &existing, &mut updates, plan) {
                to_place.push(place);
            }
        }
        for (_, rest) in by_node {
            plan.stop.extend(stop_all(&rest, reason::NOT_NEEDED));
        }
        plan.annotations
            .desired_tg_updates
            .insert(self.group.name().to_string(), updates);
        (stack, to_place)
    }

    /// One node: stop what may no longer run there, keep or update what may, and say
    /// whether a placement is needed (with the allocation it replaces).
    fn decide_node(
        &self,
        stack: &mut GroupStack,
        i: usize,
        node: &Node,
        existing: &[&'a Allocation],
        updates: &mut DesiredUpdates,
        plan: &mut PlanResult,
    ) -> Option<(usize, Option<&'a Allocation>)> {
        let sysbatch = self.job.job_type() == "sysbatch";
        let feasible = chain_admits(self.node_set, node, None) && stack.statically_feasible(i, node);
        let live: Vec<&Allocation> = existing
            .iter()
            .copied()
            .filter(|a| !a.client_status.is_terminal())
            .collect();
        let finished = existing.iter().any(|a| {
            a.client_status == ClientStatus::Complete || (sysbatch && a.client_status == ClientStatus::Failed)
        });
        if node.status == NodeStatus::Down {
            for a in &live {
                plan.stop.push(stop(a, reason::LOST, Some(ClientStatus::Lost)));
                updates.stop += 1;
            }
            return None;
        }
        let keeps_running =
            node.status == NodeStatus::Ready && !node.is_draining() && stack.statically_feasible(i, node);
        if !live.is_empty() && !keeps_running {
            let why = if node.is_draining() {
                reason::MIGRATING
            } else {
                reason::NODE_INFEASIBLE
            };
            for a in &live {
                plan.stop.push(stop(a, why, None));
                updates.stop += 1;
            }
            return None;
        }
        if let Some((first, extra)) = live.split_first() {
            for a in extra {
                plan.stop.push(stop(a, reason::NOT_NEEDED, None));
                updates.stop += 1;
            }
            return self.update_kept(i, node, first, updates, plan);
        }
        (feasible && !(sysbatch && finished)).then(|| {
            updates.place += 1;
            (i, None)
        })
    }

    /// The allocation kept on a node: left alone, updated in place, or replaced.
    fn update_kept(
        &self,
        i: usize,
        node: &Node,
        first: &'a Allocation,
        updates: &mut DesiredUpdates,
        plan: &mut PlanResult,
    ) -> Option<(usize, Option<&'a Allocation>)> {
        let (job, group) = (self.job, self.group);
        let version = job.version.unwrap_or(0);
        if first.job_version == version {
            updates.ignore += 1;
            return None;
        }
        let old_job = first.job.as_deref().or_else(|| {
            self.state
                .job_version(job.namespace(), job.id(), first.job_version)
        });
        let old_group = old_job.and_then(|j| j.groups().iter().find(|g| g.name() == group.name()));
        let kind = match (old_job, old_group) {
            (Some(oj), Some(og)) => classify(oj, og, job, group, Some(node)),
            _ => UpdateKind::Destructive,
        };
        if kind == UpdateKind::Destructive {
            plan.stop.push(stop(first, reason::UPDATING, None));
            updates.destructive_update += 1;
            return Some((i, Some(first)));
        }
        let mut updated = first.clone();
        updated.job_version = version;
        updated.eval_id = self.eval.id.clone();
        updated.job = None;
        plan.in_place.push(updated);
        updates.in_place_update += 1;
        None
    }
}

/// Pass 2 for one group: places on each chosen node, or records why the node could not
/// take it.
fn place_on_nodes<S: SchedulerState + ?Sized>(
    ctx: &mut PlanContext<'_, S>,
    eval: &Evaluation,
    job: &Job,
    mut stack: GroupStack,
    to_place: Vec<(usize, Option<&Allocation>)>,
    plan: &mut PlanResult,
    budget: &Budget,
) -> Result<(), OverBudget> {
    let nodes = ctx.state.nodes();
    let mut failed: Option<AllocMetric> = None;
    let mut queued = 0;
    for (i, previous) in to_place {
        budget.check()?;
        let node = &nodes[i];
        let request = PlaceRequest {
            name: format!("{}.{}[0]", job.id(), stack.spec.name),
            index: 0,
            previous,
            reason: if previous.is_some() {
                PlaceReason::Destructive
            } else {
                PlaceReason::New
            },
        };
        match stack.evaluate(ctx, i, None) {
            Ok((ranked, ports)) => {
                stack.commit(ctx, i, &ports);
                let mut metric = AllocMetric {
                    nodes_evaluated: 1,
                    ..AllocMetric::default()
                };
                metric.score_meta_data = Some(vec![crate::api::NodeScoreMeta {
                    node_id: node.id.clone(),
                    scores: ranked.scores.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
                    norm_score: ranked.norm,
                }]);
                let new = NewAlloc {
                    eval,
                    job,
                    spec: &stack.spec,
                    request: &request,
                    node,
                    ports,
                    metric,
                    deployment_id: String::new(),
                };
                plan.place.push(build_alloc(new, ctx.rng));
            }
            Err((r, filtered)) => {
                queued += 1;
                let m = failed.get_or_insert_with(AllocMetric::default);
                m.nodes_evaluated += 1;
                if filtered {
                    m.filter_node(&node.id, &r.key, &r.reason);
                } else {
                    m.exhaust_node(&node.id, &r.key, &r.reason);
                }
            }
        }
    }
    if let Some(mut m) = failed {
        m.coalesced_failures = queued - 1;
        plan.failed_tg_allocs.insert(stack.spec.name.clone(), m);
    }
    plan.queued_allocations.insert(stack.spec.name.clone(), queued);
    Ok(())
}
