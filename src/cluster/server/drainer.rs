//! The node drainer, on the leader: while a node drains, every job with an allocation still
//! live there gets an evaluation (the reconciler moves `migrate.max_parallel` at a time, so
//! one drain takes several rounds); once nothing is left, the drain is marked done and the
//! node stays ineligible, as in Nomad.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use super::evals::new_eval;
use super::{ClusterNode, LocalWrite};
use crate::api::namespace_or_default;
use crate::api::{EvalStatus, Evaluation, triggered_by};
use crate::cluster::fsm::{Command, State};

/// How often draining nodes are looked at.
const TICK: Duration = Duration::from_secs(1);

/// Runs until the task is aborted; does nothing on followers.
pub async fn run(node: Arc<ClusterNode>) {
    loop {
        tokio::time::sleep(TICK).await;
        if !node.is_leader() {
            continue;
        }
        let (evals, done) = {
            let state = node.state().read();
            let draining: Vec<String> = state
                .nodes
                .values()
                .filter(|n| n.drain_strategy.is_some())
                .map(|n| n.id.clone())
                .collect();
            let mut evals = Vec::new();
            let mut done = Vec::new();
            for id in draining {
                let more = drain_evals(&state, &id);
                if more.is_empty() && live_on(&state, &id).is_empty() {
                    done.push(id);
                }
                evals.extend(more);
            }
            (evals, done)
        };
        let mut cmds: Vec<Command> = done
            .into_iter()
            .map(|node_id| Command::NodeDrain {
                node_id,
                strategy: None,
                mark_eligible: false,
            })
            .collect();
        if !evals.is_empty() {
            cmds.push(Command::EvalUpsert { evals });
        }
        for cmd in cmds {
            if !matches!(node.write_local(cmd).await, Ok(LocalWrite::Applied(_))) {
                break;
            }
        }
    }
}

/// (namespace, job) of the allocations still live on node `node_id` that the drain moves.
fn live_on(state: &State, node_id: &str) -> BTreeSet<(String, String)> {
    let ignore_system = state
        .nodes
        .get(node_id)
        .and_then(|n| n.drain_strategy.as_ref())
        .is_some_and(|s| s.ignore_system_jobs);
    state
        .allocs
        .values()
        .filter(|a| a.node_id == node_id && !a.is_terminal())
        .filter_map(|a| {
            let ns = namespace_or_default(&a.namespace);
            let job = state.job(ns, &a.job_id)?.current();
            let system = matches!(job.job_type(), "system" | "sysbatch");
            (!(system && ignore_system)).then(|| (ns.to_owned(), a.job_id.clone()))
        })
        .collect()
}

/// Evaluations for the jobs with allocations to move off `node_id`, skipping jobs that
/// already have an evaluation waiting.
pub fn drain_evals(state: &State, node_id: &str) -> Vec<Evaluation> {
    live_on(state, node_id)
        .into_iter()
        .filter(|(ns, id)| {
            !state.evals.values().any(|e| {
                &e.job_id == id
                    && (e.namespace == *ns || e.namespace.is_empty())
                    && matches!(e.status, EvalStatus::Pending | EvalStatus::Blocked)
            })
        })
        .filter_map(|(ns, id)| {
            let job = state.job(&ns, &id)?.current();
            let mut e = new_eval(job, triggered_by::NODE_DRAIN, 0);
            e.node_id = node_id.to_owned();
            Some(e)
        })
        .collect()
}
