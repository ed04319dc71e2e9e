//! Client heartbeats and the leader's TTL tracker.
//!
//! ```text
//!  client ─PUT heartbeat─► any server ─forward─► leader: last_seen[node] = now
//!  leader tick (250 ms): ready node with now - last_seen > TTL ─► Command::NodeDown
//!                         (node down, its allocations lost, one node-update eval per job)
//! ```
//!
//! Heartbeats live in the leader's memory only, as in Nomad: a new leader gives every ready
//! node a full TTL of grace before declaring it down.
//!
//! The TTL grows with the number of nodes, as Nomad's does (`max_heartbeats_per_second`): the
//! configured TTL is the least, and with many nodes it is long enough that all of them beating
//! at a third of it (as clients do) send at most [`MAX_BEATS_PER_SECOND`] beats a second.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;

use super::evals::{new_eval, now_nanos};
use super::{ClusterNode, LocalWrite};
use crate::api::namespace_or_default;
use crate::api::{EvalStatus, NodeStatus, triggered_by};
use crate::cluster::error::ClusterError;
use crate::cluster::fsm::{Command, Evaluation, State};

/// Default heartbeat TTL: a client silent this long is declared down.
pub const DEFAULT_TTL: Duration = Duration::from_secs(10);
/// Path of the heartbeat route (followed by the node ID).
pub const HEARTBEAT_PATH: &str = "/v1/internal/client/heartbeat";

const CHECK_EVERY: Duration = Duration::from_millis(250);

/// Heartbeats a second the servers plan for at most, whatever the number of nodes.
pub const MAX_BEATS_PER_SECOND: f64 = 150.0;

/// The TTL for `nodes` nodes: at least `least`, and long enough that beats every third of it
/// stay within [`MAX_BEATS_PER_SECOND`].
pub fn scaled_ttl(least: Duration, nodes: usize) -> Duration {
    least.max(Duration::from_secs_f64(3.0 * nodes as f64 / MAX_BEATS_PER_SECOND))
}

/// When each node last sent a heartbeat (meaningful on the leader only).
#[derive(Default)]
pub struct Heartbeats {
    last_seen: Mutex<HashMap<String, Instant>>,
}

impl Heartbeats {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Instant>> {
        self.last_seen.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The outcome of a heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beat {
    /// Recorded; the client should beat again within the TTL.
    Ok,
    /// The node is not registered: the client must register first.
    UnknownNode,
}

impl ClusterNode {
    /// The heartbeat TTL clients must honour: the configured one, longer with many nodes.
    pub fn heartbeat_ttl(&self) -> Duration {
        scaled_ttl(self.config.heartbeat_ttl, self.state.read().nodes.len())
    }

    /// Records a heartbeat of `node_id` on the leader (forwarding there if needed). A node
    /// that was down or initializing is marked ready.
    pub async fn heartbeat(&self, node_id: &str) -> Result<Beat, ClusterError> {
        if self.is_leader() {
            return self.heartbeat_local(node_id).await;
        }
        let Some(leader) = self.leader_addr() else {
            return Err(ClusterError::NoLeader);
        };
        let fail = |message: String| ClusterError::Forward {
            addr: leader.clone(),
            message,
        };
        let resp = self
            .http
            .put(self.rpc_url(&leader, &format!("{HEARTBEAT_PATH}/{node_id}")))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        match resp.status() {
            StatusCode::OK => Ok(Beat::Ok),
            StatusCode::NOT_FOUND => Ok(Beat::UnknownNode),
            s => Err(fail(format!("{s}"))),
        }
    }

    async fn heartbeat_local(&self, node_id: &str) -> Result<Beat, ClusterError> {
        let current = self.state.read().nodes.get(node_id).map(|n| n.status);
        let Some(current) = current else {
            return Ok(Beat::UnknownNode);
        };
        self.heartbeats.lock().insert(node_id.to_owned(), Instant::now());
        if current != NodeStatus::Ready {
            let cmd = Command::NodeStatus {
                node_id: node_id.into(),
                status: NodeStatus::Ready,
                updated_at: now_secs(),
            };
            if let LocalWrite::NotLeader(_) = self.write_local(cmd).await? {
                return Err(ClusterError::NoLeader);
            }
        }
        Ok(Beat::Ok)
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The `node-update` evaluations for the jobs with unfinished allocations on `node_id`.
pub fn node_update_evals(state: &State, node_id: &str, now: i64) -> Vec<Evaluation> {
    let mut jobs: Vec<(String, String)> = state
        .allocs
        .values()
        .filter(|a| a.node_id == node_id && !a.client_status.is_terminal())
        .map(|a| (a.namespace.clone(), a.job_id.clone()))
        .collect();
    jobs.sort();
    jobs.dedup();
    jobs.into_iter()
        .map(|(namespace, job_id)| {
            let ns = namespace_or_default(&namespace);
            let mut eval = match state.job(ns, &job_id).map(|r| r.current()) {
                Some(job) => new_eval(job, triggered_by::NODE_UPDATE, 0),
                // A purged job's allocations still need an evaluation that stops them.
                None => Evaluation {
                    id: uuid::Uuid::new_v4().to_string(),
                    namespace,
                    priority: 50,
                    r#type: "service".into(),
                    triggered_by: triggered_by::NODE_UPDATE.into(),
                    job_id,
                    status: EvalStatus::Pending,
                    ..Default::default()
                },
            };
            eval.node_id = node_id.to_owned();
            eval.create_time = now;
            eval.modify_time = now;
            eval
        })
        .collect()
}

/// The leader's TTL tracker: declares down every ready node silent for longer than the TTL.
pub(super) async fn run(node: Arc<ClusterNode>) {
    let mut tick = tokio::time::interval(CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut was_leader = false;
    loop {
        tick.tick().await;
        if !node.is_leader() {
            if was_leader {
                node.heartbeats.lock().clear();
            }
            was_leader = false;
            continue;
        }
        let now = Instant::now();
        let expired: Vec<(String, Vec<Evaluation>)> = {
            let state = node.state.read();
            let ttl = scaled_ttl(node.config.heartbeat_ttl, state.nodes.len());
            let mut seen = node.heartbeats.lock();
            let mut out = Vec::new();
            for n in state.nodes.values().filter(|n| n.status == NodeStatus::Ready) {
                let last = *seen.entry(n.id.clone()).or_insert(now);
                if !was_leader {
                    seen.insert(n.id.clone(), now);
                } else if now.duration_since(last) > ttl {
                    out.push((n.id.clone(), node_update_evals(&state, &n.id, now_nanos())));
                }
            }
            out
        };
        was_leader = true;
        for (node_id, evals) in expired {
            tracing::info!("node {node_id} missed its heartbeat TTL: marking it down");
            let cmd = Command::NodeDown {
                node_id: node_id.clone(),
                updated_at: now_secs(),
                evals,
            };
            if let Err(e) = node.write_local(cmd).await {
                tracing::warn!("marking node {node_id} down: {e}");
            }
            node.heartbeats.lock().remove(&node_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ttl_grows_with_the_nodes_past_the_configured_one() {
        let ten = Duration::from_secs(10);
        assert_eq!(scaled_ttl(ten, 3), ten);
        assert_eq!(scaled_ttl(ten, 500), ten);
        assert_eq!(scaled_ttl(ten, 5000), Duration::from_secs(100));
    }
}
