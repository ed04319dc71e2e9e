//! Following a step's evaluation to its end: what it placed, what waits for capacity (a
//! blocked evaluation places it once resources are freed), and what no node can take.

use std::collections::BTreeMap;
use std::time::Duration;

use super::gate::short;
use super::job_watch::Follower;
use crate::api::{AllocMetric, EvalStatus};
use crate::backend::Backend;

/// What an evaluation placed.
pub(super) enum Placed {
    /// Every allocation it was asked for.
    All,
    /// Not all: nodes were full, and a blocked evaluation places the rest once resources are
    /// freed (the step's gate, bounded by its timeout, waits for them). What was full.
    Blocked(String),
}

/// Waits for the evaluation to finish. A placement that found no room waits for capacity, as
/// Nomad's blocked evaluations do; one that no node could take whatever it frees (every node
/// filtered out by constraints, none exhausted) is an error naming the group and what
/// filtered the nodes.
pub(super) async fn follow_evaluation<B: Backend>(
    backend: &B,
    eval_id: &str,
    follower: &mut Follower,
) -> Result<Placed, String> {
    let mut index = None;
    loop {
        let (opts, live) = follower.options(index);
        let (eval, meta) = match backend.evaluation(eval_id, opts).await {
            Ok(x) => x,
            // Gone (garbage-collected) before its outcome was read: waiting on the allocations
            // would only run into the timeout when nothing was placed, so stop here and say so.
            Err(e) if e.status() == Some(404) => return Err(evaluation_gone(eval_id)),
            Err(e) if e.status().is_none() => {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            Err(e) => return Err(format!("reading evaluation {}: {e}", short(eval_id))),
        };
        index = Some(meta.last_index);
        match eval.status {
            EvalStatus::Pending => {
                if live {
                    follower.wait_past(meta.last_index).await;
                }
                continue;
            }
            EvalStatus::Failed => {
                return Err(format!(
                    "evaluation {} failed: {}",
                    short(eval_id),
                    eval.status_description
                ));
            }
            _ => {}
        }
        let Some(failures) = eval.failed_tg_allocs.filter(|f| !f.is_empty()) else {
            return Ok(Placed::All);
        };
        let exhausted = failures.values().any(AllocMetric::found_nodes_full);
        return if exhausted && !eval.blocked_eval.is_empty() {
            Ok(Placed::Blocked(format!(
                "{}; waiting for capacity (evaluation {} is blocked until resources are freed)",
                placement_failure(&failures),
                short(&eval.blocked_eval)
            )))
        } else {
            Err(placement_failure(&failures))
        };
    }
}

/// The end of a wait on an evaluation the server no longer has.
fn evaluation_gone(eval_id: &str) -> String {
    format!(
        "evaluation {} is gone (garbage-collected) before its outcome could be read; whether \
         the job was placed is unknown: check it with `deploy status`",
        short(eval_id)
    )
}

/// A placement failure in a sentence: per group, what filtered or exhausted the nodes.
fn placement_failure(failures: &BTreeMap<String, AllocMetric>) -> String {
    let parts: Vec<String> = failures
        .iter()
        .map(|(group, m)| {
            let mut why: Vec<String> = Vec::new();
            for (c, n) in m.constraint_filtered.iter().flatten() {
                why.push(format!("{c} filtered {n} nodes"));
            }
            for (d, n) in m.dimension_exhausted.iter().flatten() {
                why.push(format!("{d} exhausted on {n} nodes"));
            }
            for (node, r) in &m.node_reasons {
                why.push(format!("node {}: {r}", short(node)));
            }
            format!(
                "group {group}: no node fits ({} evaluated; {})",
                m.nodes_evaluated,
                why.join("; ")
            )
        })
        .collect();
    format!("placement failed: {}", parts.join(" / "))
}
