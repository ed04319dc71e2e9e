//! `AllocMetric`: how the scheduler arrived at (or failed) a placement, as Nomad reports it in
//! an allocation's `Metrics` and an evaluation's `FailedTGAllocs`, plus `NodeReasons`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Placement metrics for one task group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AllocMetric {
    /// Nodes the feasibility checks looked at.
    pub nodes_evaluated: u64,
    /// Nodes a constraint or class check rejected.
    pub nodes_filtered: u64,
    /// Nodes in the job's node pool.
    pub nodes_in_pool: u64,
    /// Ready nodes per datacenter of the job.
    pub nodes_available: Option<BTreeMap<String, u64>>,
    /// Filtered per node class.
    pub class_filtered: Option<BTreeMap<String, u64>>,
    /// Filtered per constraint, keyed by its text (`${meta.role} = db`, `distinct_hosts`).
    pub constraint_filtered: Option<BTreeMap<String, u64>>,
    /// Nodes that passed the checks but lacked resources.
    pub nodes_exhausted: u64,
    /// Exhausted per node class.
    pub class_exhausted: Option<BTreeMap<String, u64>>,
    /// Exhausted per dimension (`cpu`, `memory`, `network: reserved port collision`).
    pub dimension_exhausted: Option<BTreeMap<String, u64>>,
    /// Quotas exhausted (enterprise).
    pub quota_exhausted: Option<Vec<String>>,
    /// Resources exhausted per task (free-form).
    pub resources_exhausted: Option<BTreeMap<String, serde_json::Value>>,
    /// Legacy scores, keyed `node.scorer`.
    pub scores: Option<BTreeMap<String, f64>>,
    /// Scores of the best nodes.
    pub score_meta_data: Option<Vec<NodeScoreMeta>>,
    /// Nanoseconds spent placing.
    pub allocation_time: i64,
    /// Further failed placements of the same group folded into this one.
    pub coalesced_failures: u64,
    /// Extension: per node ID, the first reason it was rejected.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub node_reasons: BTreeMap<String, String>,
}

impl AllocMetric {
    /// Counts a node the checks rejected for `constraint`.
    pub fn filter_node(&mut self, node_id: &str, constraint: &str, reason: &str) {
        self.count_filtered(constraint);
        self.note_reason(node_id, reason);
    }

    /// Counts a node that lacked `dimension`.
    pub fn exhaust_node(&mut self, node_id: &str, dimension: &str, reason: &str) {
        self.count_exhausted(dimension);
        self.note_reason(node_id, reason);
    }

    /// Counts a node filtered by `constraint`, without a per-node reason.
    pub fn count_filtered(&mut self, constraint: &str) {
        self.nodes_filtered += 1;
        bump(
            self.constraint_filtered.get_or_insert_with(BTreeMap::new),
            constraint,
        );
    }

    /// Counts a node that lacked `dimension`, without a per-node reason.
    pub fn count_exhausted(&mut self, dimension: &str) {
        self.nodes_exhausted += 1;
        bump(
            self.dimension_exhausted.get_or_insert_with(BTreeMap::new),
            dimension,
        );
    }

    /// Whether some node was rejected for lack of resources, not only filtered out: freed
    /// resources may make room (each dimension exhausted counts its node in `nodes_exhausted`,
    /// here and in Nomad).
    pub fn found_nodes_full(&self) -> bool {
        self.nodes_exhausted > 0
    }

    /// Records why a node was rejected, keeping the first reason.
    pub fn note_reason(&mut self, node_id: &str, reason: &str) {
        if !self.node_reasons.contains_key(node_id) {
            self.node_reasons.insert(node_id.to_string(), reason.to_string());
        }
    }
}

/// Adds one to `key`, allocating the key only the first time.
fn bump(counts: &mut BTreeMap<String, u64>, key: &str) {
    match counts.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.to_owned(), 1);
        }
    }
}

/// A node's scores for one placement.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NodeScoreMeta {
    /// Node ID.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// Score per scorer (`binpack`, `job-anti-affinity`, `node-affinity`, `allocation-spread`).
    pub scores: BTreeMap<String, f64>,
    /// The normalised total.
    pub norm_score: f64,
}
