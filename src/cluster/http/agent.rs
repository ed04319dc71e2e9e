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

/// `GET /v1/agent/members`: the servers of the cluster (its Raft voters), as Nomad's gossip
/// members. Every voter is reported `alive` while it is in the configuration; peers are
/// named by their address, this server by its node name.
pub async fn members(ctx: Ctx) -> ApiResult {
    let node = &ctx.node;
    let me = &ctx.agent_self["member"];
    let region = me["Tags"]["region"].as_str().unwrap_or("global").to_owned();
    let dc = me["Tags"]["dc"].as_str().unwrap_or("dc1").to_owned();
    let members: Vec<_> = node
        .voters()
        .into_iter()
        .map(|(id, addr)| {
            if id == node.id() {
                return me.clone();
            }
            let (host, port) = addr.rsplit_once(':').unwrap_or((addr.as_str(), "4646"));
            json!({
                "Name": format!("{addr}.{region}"),
                "Addr": host,
                "Port": port.parse::<u16>().unwrap_or(4646),
                "Status": "alive",
                "Tags": {"region": region, "dc": dc, "role": "nomad", "id": id.to_string()},
            })
        })
        .collect();
    let body = json!({
        "ServerName": ctx.agent_self["config"]["NodeName"],
        "ServerRegion": region,
        "ServerDC": dc,
        "Members": members,
    });
    Ok(indexed_json(node.state().index(), &body))
}
