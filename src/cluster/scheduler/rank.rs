//! Ranking: each scorer gives a node a score in [-1, 1]; the node's rank is their mean
//! (Nomad's ScoreNormalizationIterator).
//!
//! ```text
//!  binpack (or spread) ─► job anti-affinity ─► node affinity ─► allocation spread ─► reschedule penalty
//! ```

use std::collections::HashMap;

use super::fit::Capacity;
use super::group_spec::{Demand, GroupSpec, SpreadSpec};
use super::state::Algorithm;
use super::usage::NodeUsage;
use crate::api::Node;

/// Nomad's highest raw fit score (`20 - (10^0 + 10^0)`).
const MAX_FIT_SCORE: f64 = 18.0;

/// A node's scores for one placement.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ranked {
    /// Per scorer.
    pub scores: Vec<(&'static str, f64)>,
    /// The mean.
    pub norm: f64,
}

/// Nomad's fit score after placing `demand`: bin-pack prefers full nodes, spread empty ones.
pub fn fit_score(node: &Node, usage: &NodeUsage, demand: &Demand, algorithm: Algorithm) -> f64 {
    let cap = Capacity::of(node);
    let free = |used: i64, cap: i64| if cap <= 0 { 0.0 } else { 1.0 - (used as f64 / cap as f64) };
    let free_cpu = free(usage.cpu + demand.cpu, cap.cpu);
    let free_mem = free(usage.memory_mb + demand.memory_mb, cap.memory_mb);
    let total = 10f64.powf(free_cpu) + 10f64.powf(free_mem);
    let raw = match algorithm {
        Algorithm::Binpack => 20.0 - total,
        Algorithm::Spread => total - 2.0,
    };
    raw.clamp(0.0, MAX_FIT_SCORE) / MAX_FIT_SCORE
}

/// Penalty for co-locating allocations of the same group: `-(n + 1) / count`.
pub fn anti_affinity(usage: &NodeUsage, group: &str, count: u32) -> Option<f64> {
    let n = usage.group_count(group);
    (n > 0).then(|| -(f64::from(n) + 1.0) / f64::from(count.max(1)))
}

/// Sum of matched affinity weights over the sum of all weights.
pub fn node_affinity(node: &Node, spec: &GroupSpec) -> Option<f64> {
    if spec.affinities.is_empty() {
        return None;
    }
    let total: f64 = spec.affinities.iter().map(|a| a.weight.abs()).sum();
    let matched: f64 = spec.affinities.iter().filter(|a| a.rule.matches(node)).map(|a| a.weight).sum();
    Some(matched / total)
}

/// Per spread, the group's allocations per attribute value (existing and planned).
pub type SpreadCounts = Vec<HashMap<String, u32>>;

/// How much placing here would improve the spread, weighted across spread blocks.
pub fn spread(node: &Node, spreads: &[SpreadSpec], counts: &SpreadCounts, count: u32) -> Option<f64> {
    if spreads.is_empty() {
        return None;
    }
    let total_weight: f64 = spreads.iter().map(|s| s.weight).sum::<f64>().max(1.0);
    let mut sum = 0.0;
    for (s, counts) in spreads.iter().zip(counts) {
        let Some(value) = s.attribute.resolve(node) else {
            sum -= s.weight;
            continue;
        };
        let used = f64::from(counts.get(value).copied().unwrap_or(0));
        let score = if s.targets.is_empty() {
            even_spread(used, counts)
        } else {
            let pct = s.targets.iter().find(|(v, _)| v == value).map(|(_, p)| *p).unwrap_or_else(|| {
                let named: f64 = s.targets.iter().map(|(_, p)| p).sum();
                (100.0 - named).max(0.0)
            });
            let desired = pct / 100.0 * f64::from(count);
            if desired <= 0.0 { -1.0 } else { ((desired - used) / desired).clamp(-1.0, 1.0) }
        };
        sum += s.weight * score;
    }
    Some(sum / total_weight)
}

/// Boosts values with fewer allocations than the busiest one, penalises the busiest.
fn even_spread(used: f64, counts: &HashMap<String, u32>) -> f64 {
    let max = f64::from(counts.values().copied().max().unwrap_or(0));
    if max == 0.0 {
        return 0.0;
    }
    let min = f64::from(counts.values().copied().min().unwrap_or(0)).min(used);
    if used < max {
        (max - used) / max
    } else if min == max {
        0.0
    } else {
        -(used - min) / max
    }
}

/// All scorers for one candidate.
pub struct RankInput<'a> {
    /// The group.
    pub spec: &'a GroupSpec,
    /// Bin-pack or spread.
    pub algorithm: Algorithm,
    /// Spread counts for the group.
    pub spread_counts: &'a SpreadCounts,
    /// A node to avoid (a rescheduled allocation's previous node).
    pub penalty_node: Option<&'a str>,
}

/// Ranks one node.
pub fn rank(node: &Node, usage: &NodeUsage, input: &RankInput<'_>) -> Ranked {
    let spec = input.spec;
    let mut scores = vec![("binpack", fit_score(node, usage, &spec.demand, input.algorithm))];
    if let Some(s) = anti_affinity(usage, &spec.name, spec.count) {
        scores.push(("job-anti-affinity", s));
    }
    if let Some(s) = node_affinity(node, spec) {
        scores.push(("node-affinity", s));
    }
    if let Some(s) = spread(node, &spec.spreads, input.spread_counts, spec.count) {
        scores.push(("allocation-spread", s));
    }
    if input.penalty_node == Some(node.id.as_str()) {
        scores.push(("node-reschedule-penalty", -1.0));
    }
    let norm = scores.iter().map(|(_, s)| s).sum::<f64>() / scores.len() as f64;
    Ranked { scores, norm }
}
