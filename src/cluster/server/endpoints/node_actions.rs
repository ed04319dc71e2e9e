//! Node actions beside drain and eligibility: a new evaluation of every job on a node
//! (`POST /v1/node/:id/evaluate`), purging a node (`POST /v1/node/:id/purge`), and
//! re-deriving job statuses (`PUT /v1/system/reconcile/summaries`).

use std::collections::BTreeSet;

use crate::api::{Evaluation, namespace_or_default, triggered_by};
use crate::cluster::fsm::{Command, Outcome, State};
use crate::cluster::server::ClusterNode;
use crate::cluster::server::evals::{new_eval, now_nanos};
use crate::cluster::server::heartbeat::node_update_evals;

use super::EndpointError;

/// What a node evaluation or purge committed (Nomad's `NodeUpdateResponse`).
#[derive(Debug, Clone)]
pub struct NodeEvalsDone {
    /// Index of the node's change (for evaluate: the node's `ModifyIndex`).
    pub node_modify_index: u64,
    /// Evaluations created, one per job.
    pub eval_ids: Vec<String>,
    /// Index they were created at (0 when none).
    pub eval_create_index: u64,
    /// Index of the last write.
    pub index: u64,
}

/// Nomad's `createNodeEvals`: one `node-update` evaluation per job with an allocation live on
/// the node, and one per system job that has none there yet.
pub fn node_evals(state: &State, node_id: &str, now: i64) -> Vec<Evaluation> {
    let mut evals = node_update_evals(state, node_id, now);
    let seen: BTreeSet<(String, String)> = evals
        .iter()
        .map(|e| (namespace_or_default(&e.namespace).to_owned(), e.job_id.clone()))
        .collect();
    let system = state
        .jobs
        .iter()
        .flat_map(|(ns, jobs)| jobs.iter().map(move |(id, r)| (ns, id, r.current())))
        .filter(|(_, _, job)| job.job_type() == "system" && job.stop != Some(true))
        .filter(|(ns, id, _)| !seen.contains(&((*ns).clone(), (*id).clone())));
    let more: Vec<Evaluation> = system
        .map(|(_, _, job)| {
            let mut e = new_eval(job, triggered_by::NODE_UPDATE, 0);
            e.node_id = node_id.to_owned();
            e.create_time = now;
            e.modify_time = now;
            e
        })
        .collect();
    evals.extend(more);
    evals
}

impl ClusterNode {
    /// Creates an evaluation of every job on node `id` (and of every system job).
    pub async fn evaluate_node(&self, id: &str) -> Result<NodeEvalsDone, EndpointError> {
        let (evals, node_modify_index) = self
            .read_now(|state| {
                let node = state
                    .nodes
                    .get(id)
                    .ok_or_else(|| EndpointError::NotFound(format!("node not found: {id}")))?;
                Ok((node_evals(state, id, now_nanos()), node.modify_index))
            })
            .await?;
        let eval_ids: Vec<String> = evals.iter().map(|e| e.id.clone()).collect();
        if evals.is_empty() {
            let index = self.state().index();
            return Ok(NodeEvalsDone {
                node_modify_index,
                eval_ids,
                eval_create_index: 0,
                index,
            });
        }
        let index = self.write(Command::EvalUpsert { evals }).await?.index;
        Ok(NodeEvalsDone {
            node_modify_index,
            eval_ids,
            eval_create_index: index,
            index,
        })
    }

    /// Removes node `id`: its live allocations are marked lost and its jobs evaluated, so
    /// the scheduler replaces them. A live client registers again on its next heartbeat.
    pub async fn purge_node(&self, id: &str) -> Result<NodeEvalsDone, EndpointError> {
        let evals = self
            .read_now(|state| {
                if !state.nodes.contains_key(id) {
                    return Err(EndpointError::NotFound(format!("node not found: {id}")));
                }
                Ok(node_evals(state, id, now_nanos()))
            })
            .await?;
        let eval_ids: Vec<String> = evals.iter().map(|e| e.id.clone()).collect();
        let with_evals = !evals.is_empty();
        let cmd = Command::NodePurge {
            node_id: id.to_owned(),
            evals,
        };
        let resp = self.write(cmd).await?;
        if let Outcome::NotFound { message } = resp.outcome {
            return Err(EndpointError::NotFound(message));
        }
        Ok(NodeEvalsDone {
            node_modify_index: resp.index,
            eval_ids,
            eval_create_index: if with_evals { resp.index } else { 0 },
            index: resp.index,
        })
    }

    /// Re-derives every job's status from its allocations and evaluations; answers the
    /// write's index.
    pub async fn reconcile_summaries(&self) -> Result<u64, EndpointError> {
        Ok(self.write(Command::ReconcileSummaries).await?.index)
    }
}
