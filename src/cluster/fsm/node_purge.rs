//! Purging a node (`POST /v1/node/:id/purge`, Nomad's `Node.Deregister`): the node leaves the
//! state, its allocations still live are marked lost, and the evaluations created for its jobs
//! replace them elsewhere. A client still alive may register again.

use super::command::Outcome;
use super::state::State;
use crate::api::{ClientStatus, Evaluation};

impl State {
    pub(super) fn apply_node_purge(&mut self, index: u64, node_id: &str, evals: Vec<Evaluation>) -> Outcome {
        if self.nodes.remove(node_id).is_none() {
            return Outcome::NotFound {
                message: format!("node not found: {node_id}"),
            };
        }
        self.bump_table("nodes", index);
        self.mark_allocs_lost(index, node_id, "alloc is lost since its node was purged");
        if !evals.is_empty() {
            self.apply_eval_upsert(index, evals);
        }
        Outcome::Done
    }

    /// Marks every allocation on `node_id` that is not terminal on its client as lost, and
    /// removes its services. Answers how many were.
    pub(super) fn mark_allocs_lost(&mut self, index: u64, node_id: &str, why: &str) -> usize {
        let lost: Vec<String> = self
            .allocs
            .values()
            .filter(|a| a.node_id == node_id && !a.client_status.is_terminal())
            .map(|a| a.id.clone())
            .collect();
        for id in &lost {
            if let Some(a) = self.allocs.get_mut(id) {
                a.client_status = ClientStatus::Lost;
                a.client_description = why.to_owned();
                a.modify_index = index;
            }
            self.remove_services_of(index, id);
        }
        if !lost.is_empty() {
            self.bump_table("allocs", index);
        }
        lost.len()
    }
}
