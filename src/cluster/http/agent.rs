//! `/v1/agent/self`: the agent's configuration, membership and Raft figures. The local applied
//! index is `stats.raft.applied_index` (and `X-Nomad-Index`).

use serde_json::json;

use super::query::indexed_json;
use super::{Ctx, error::ApiResult};

/// The agent's self description.
pub async fn agent_self(ctx: Ctx) -> ApiResult {
    let node = &ctx.node;
    let raft = node.raft_stats();
    let leader = node.is_leader();
    let mut body = ctx.agent_self.clone();
    body["stats"] = json!({
        "raft": {
            "state": raft.state,
            "term": raft.term.to_string(),
            "last_log_index": raft.last_log_index.to_string(),
            "applied_index": raft.applied_index.to_string(),
            "snapshot_index": raft.snapshot_index.to_string(),
            "num_peers": raft.num_peers.to_string(),
            "node_id": node.id().to_string(),
        },
        "nomad": {
            "server": "true",
            "leader": leader.to_string(),
            "known_leader": node.leader_addr().is_some().to_string(),
            "leader_addr": node.leader_addr().unwrap_or_default(),
        },
    });
    Ok(indexed_json(node.state().index(), &body))
}
