//! `GroupStack`: finds a node for one allocation of a group (Nomad's GenericStack.Select).
//!
//! ```text
//!  shuffled candidates ─► static checks (cached) ─► plan checks ─► resources ─► ports
//!       (resumes where the last placement stopped)                        │
//!                                       rank ◄────────────────────────────┘
//!                                         └─► best of the first `limit` feasible nodes
//! ```

use std::collections::{BTreeMap, HashMap};

use super::feasible::{
    FeasibilityChecker, PlanView, Rejection, chain_admits, node_set_chain, plan_chain, run_chain,
    static_chain,
};
use super::fit::{assign_ports, check_resources};
use super::group_spec::GroupSpec;
use super::rank::{RankInput, Ranked, SpreadCounts, rank};
use super::rng::SchedRng;
use super::state::{Algorithm, SchedulerState};
use super::static_checks::StaticChecks;
use super::usage::ProposedUsage;
use crate::api::{AllocMetric, AllocatedPortMapping, Node, NodeScoreMeta};
use crate::spec::Job;

/// Nodes with a negative score are passed over this many times before being considered.
const MAX_SKIP: usize = 3;
/// Score metadata kept per placement.
const SCORE_META_KEPT: usize = 5;

/// The nodes a job may use, in the seeded order placements walk them.
pub struct CandidateSet {
    /// Indexes into `SchedulerState::nodes()`, shuffled.
    pub order: Vec<usize>,
    /// Metrics every placement of the job starts from (`NodesInPool`, `NodesAvailable`).
    pub base_metric: AllocMetric,
    /// Nodes left out (their reasons are worked out only when a placement fails).
    pub excluded: Vec<usize>,
    chain: Vec<Box<dyn FeasibilityChecker>>,
}

impl CandidateSet {
    /// Runs the node-set checks over every node and shuffles the survivors.
    pub fn build(nodes: &[Node], job: &Job, rng: &mut SchedRng) -> CandidateSet {
        let dcs = job.datacenters.clone().unwrap_or_default();
        let pool = job.node_pool.as_deref().unwrap_or("default");
        let chain = node_set_chain(&dcs, pool);
        let mut base = AllocMetric::default();
        // Counted under borrowed names, copied once at the end.
        let mut per_dc: BTreeMap<&str, u64> = BTreeMap::new();
        let (mut order, mut excluded) = (Vec::with_capacity(nodes.len()), Vec::new());
        for (i, node) in nodes.iter().enumerate() {
            if pool == "all" || node.pool() == pool {
                base.nodes_in_pool += 1;
            }
            if chain_admits(&chain, node, None) {
                *per_dc.entry(node.datacenter.as_str()).or_default() += 1;
                order.push(i);
            } else {
                excluded.push(i);
            }
        }
        let mut available: BTreeMap<String, u64> =
            per_dc.into_iter().map(|(dc, n)| (dc.to_string(), n)).collect();
        for dc in dcs.iter().filter(|d| !d.contains('*')) {
            available.entry(dc.clone()).or_default();
        }
        base.nodes_available = Some(available);
        rng.shuffle(&mut order);
        CandidateSet {
            order,
            base_metric: base,
            excluded,
            chain,
        }
    }

    /// Why each excluded node was left out: node ID and rejection.
    pub fn exclusion_reasons(&self, nodes: &[Node]) -> Vec<(String, Rejection)> {
        self.excluded
            .iter()
            .filter_map(|i| {
                run_chain(&self.chain, &nodes[*i], None)
                    .err()
                    .map(|r| (nodes[*i].id.clone(), r))
            })
            .collect()
    }
}

/// A node chosen for one placement.
#[derive(Clone, Debug)]
pub struct Selected {
    /// Index into `SchedulerState::nodes()`.
    pub node: usize,
    /// Ports picked.
    pub ports: Vec<AllocatedPortMapping>,
    /// Metrics of the search.
    pub metric: AllocMetric,
}

/// Shared, mutable placement state of one evaluation.
pub struct PlanContext<'s, S: SchedulerState + ?Sized> {
    /// The state.
    pub state: &'s S,
    /// Proposed node usage.
    pub usage: ProposedUsage,
    /// Nodes and groups of the job's live and planned allocations.
    pub job_allocs: Vec<(&'s Node, String)>,
    /// Seeded randomness.
    pub rng: &'s mut SchedRng,
    /// Ranking algorithm.
    pub algorithm: Algorithm,
}

/// Placement machinery for one task group.
pub struct GroupStack {
    /// The group's needs.
    pub spec: GroupSpec,
    /// Drivers, constraints, host volumes: decided per node class, remembered per node.
    static_checks: StaticChecks,
    plan_checks: Vec<Box<dyn FeasibilityChecker>>,
    offset: usize,
    limit: usize,
    spread_counts: SpreadCounts,
}

impl GroupStack {
    /// Wires the checker chains for `spec`; `batch` uses Nomad's smaller candidate limit.
    pub fn new(spec: GroupSpec, candidates: usize, batch: bool) -> GroupStack {
        let log_limit = (candidates.max(1) as f64).log2().ceil() as usize;
        let limit = if spec.wants_all_nodes() {
            candidates.max(1)
        } else if batch {
            2
        } else {
            log_limit.max(2)
        };
        GroupStack {
            static_checks: StaticChecks::new(static_chain(&spec)),
            plan_checks: plan_chain(&spec),
            offset: 0,
            limit,
            spread_counts: vec![HashMap::new(); spec.spreads.len()],
            spec,
        }
    }

    /// Counts an allocation of this group on `node` (existing or planned) for spreads.
    pub fn count_for_spread(&mut self, node: &Node) {
        for (s, counts) in self.spec.spreads.iter().zip(self.spread_counts.iter_mut()) {
            if let Some(v) = s.attribute.resolve(node) {
                *counts.entry(v.to_string()).or_default() += 1;
            }
        }
    }

    /// Static checks only (system jobs ask per node).
    pub fn statically_feasible(&mut self, node_index: usize, node: &Node) -> bool {
        self.static_checks.verdict(node_index, node).is_ok()
    }

    /// Checks one node fully and ranks it; `Err` carries the rejection and whether it was
    /// a filter (true) or an exhaustion (false).
    pub fn evaluate<S: SchedulerState + ?Sized>(
        &mut self,
        ctx: &mut PlanContext<'_, S>,
        node_index: usize,
        penalty_node: Option<&str>,
    ) -> Result<(Ranked, Vec<AllocatedPortMapping>), (Rejection, bool)> {
        let node = &ctx.state.nodes()[node_index];
        if let Err(r) = self.static_checks.verdict(node_index, node) {
            return Err((r.clone(), true));
        }
        self.evaluate_dynamic(ctx, node_index, penalty_node)
    }

    /// The checks that depend on the plan so far (distinct hosts and properties, resources,
    /// ports) and the ranking, for a node that passed the static checks.
    fn evaluate_dynamic<S: SchedulerState + ?Sized>(
        &mut self,
        ctx: &mut PlanContext<'_, S>,
        node_index: usize,
        penalty_node: Option<&str>,
    ) -> Result<(Ranked, Vec<AllocatedPortMapping>), (Rejection, bool)> {
        let node = &ctx.state.nodes()[node_index];
        let usage = ctx.usage.node(ctx.state, node_index, node);
        let view = PlanView {
            usage,
            job_allocs: &ctx.job_allocs,
        };
        run_chain(&self.plan_checks, node, Some(&view)).map_err(|r| (r, true))?;
        check_resources(node, usage, &self.spec.demand).map_err(|r| (r, false))?;
        let ports = assign_ports(node, usage, &self.spec.demand, ctx.rng).map_err(|r| (r, false))?;
        let input = RankInput {
            spec: &self.spec,
            algorithm: ctx.algorithm,
            spread_counts: &self.spread_counts,
            penalty_node,
        };
        Ok((rank(node, usage, &input), ports))
    }

    /// Finds the best node among the first `limit` feasible ones, or the metrics of failure.
    pub fn select<S: SchedulerState + ?Sized>(
        &mut self,
        ctx: &mut PlanContext<'_, S>,
        candidates: &CandidateSet,
        penalty_node: Option<&str>,
    ) -> Result<Selected, Box<AllocMetric>> {
        let nodes = ctx.state.nodes();
        let n = candidates.order.len();
        let mut metric = candidates.base_metric.clone();
        let mut found: Vec<(usize, Ranked, Vec<AllocatedPortMapping>)> = Vec::new();
        let mut skipped = Vec::new();
        let mut steps = n;
        // Per-node reasons are only reported when the placement fails: keep who was rejected
        // (statically: the reason stays in the cache) and write the reasons out then.
        let mut rejected: Vec<(usize, Option<Rejection>)> = Vec::new();
        for step in 0..n {
            let index = candidates.order[(self.offset + step) % n];
            metric.nodes_evaluated += 1;
            if let Err(r) = self.static_checks.verdict(index, &nodes[index]) {
                metric.count_filtered(&r.key);
                rejected.push((index, None));
                continue;
            }
            match self.evaluate_dynamic(ctx, index, penalty_node) {
                Err((r, true)) => {
                    metric.count_filtered(&r.key);
                    rejected.push((index, Some(r)));
                }
                Err((r, false)) => {
                    metric.count_exhausted(&r.key);
                    rejected.push((index, Some(r)));
                }
                Ok((ranked, ports)) if ranked.norm < 0.0 && skipped.len() < MAX_SKIP => {
                    skipped.push((index, ranked, ports));
                }
                Ok((ranked, ports)) => {
                    found.push((index, ranked, ports));
                    if found.len() >= self.limit {
                        steps = step + 1;
                        break;
                    }
                }
            }
        }
        if n > 0 {
            self.offset = (self.offset + steps) % n;
        }
        if found.is_empty() {
            found = skipped;
        }
        let Some(best) =
            (0..found.len()).reduce(|b, i| if found[i].1.norm > found[b].1.norm { i } else { b })
        else {
            for (index, r) in rejected {
                let reason = match &r {
                    Some(r) => Some(r.reason.as_str()),
                    None => self.static_checks.rejection(index).map(|r| r.reason.as_str()),
                };
                if let Some(reason) = reason {
                    metric.note_reason(&nodes[index].id, reason);
                }
            }
            for (node_id, r) in candidates.exclusion_reasons(nodes) {
                metric.note_reason(&node_id, &r.reason);
            }
            return Err(Box::new(metric));
        };
        let mut by_score: Vec<&(usize, Ranked, Vec<AllocatedPortMapping>)> = found.iter().collect();
        by_score.sort_by(|a, b| b.1.norm.total_cmp(&a.1.norm));
        metric.score_meta_data = Some(
            by_score
                .iter()
                .take(SCORE_META_KEPT)
                .map(|(i, r, _)| NodeScoreMeta {
                    node_id: nodes[*i].id.clone(),
                    scores: r.scores.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
                    norm_score: r.norm,
                })
                .collect(),
        );
        let (node, _, ports) = found.swap_remove(best);
        Ok(Selected { node, ports, metric })
    }

    /// Records a placement on `node` in the proposed usage and spread counts.
    pub fn commit<'s, S: SchedulerState + ?Sized>(
        &mut self,
        ctx: &mut PlanContext<'s, S>,
        node_index: usize,
        ports: &[AllocatedPortMapping],
    ) {
        let node = &ctx.state.nodes()[node_index];
        let values: Vec<i64> = ports.iter().map(|p| p.value).collect();
        ctx.usage.node(ctx.state, node_index, node).add_placement(
            &self.spec.name,
            &self.spec.demand,
            &values,
        );
        ctx.job_allocs.push((node, self.spec.name.clone()));
        self.count_for_spread(node);
    }
}
