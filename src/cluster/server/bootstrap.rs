//! Cluster formation: once `bootstrap_expect` servers answer, the one with the lowest node ID
//! initialises Raft with all of them. A server that finds an existing cluster asks its leader to
//! add it instead. A server with Raft state on disk is already a member, so restarts are
//! idempotent; one restarted on a new address has the cluster record that address.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use openraft::BasicNode;
use openraft::error::{InitializeError, RaftError};

use super::{ClusterNode, ServerInfo};
use crate::cluster::error::ClusterError;
use crate::cluster::raft::NodeId;

/// Where a server describes itself.
pub const INFO_PATH: &str = "/v1/internal/cluster/info";

const POLL: Duration = Duration::from_millis(150);

pub(super) async fn run(node: Arc<ClusterNode>) {
    loop {
        if node.raft.is_initialized().await.unwrap_or(true) {
            break;
        }
        if let Err(e) = attempt(&node).await {
            tracing::debug!("bootstrap: {e}");
        }
        tokio::time::sleep(POLL).await;
    }
    follow_address(&node).await;
}

/// How long a restarted server waits to learn its membership from its own log.
const MEMBERSHIP_WAIT: Duration = Duration::from_secs(10);

/// A member restarted on a new address (same data, same ID) has the cluster record its new
/// address: through the leader, asked via any other member, or, when it is the only voter, by
/// itself once it has elected itself. Until then the others could not reach it.
async fn follow_address(node: &ClusterNode) {
    let deadline = tokio::time::Instant::now() + MEMBERSHIP_WAIT;
    loop {
        match node.voters().into_iter().find(|(id, _)| *id == node.id) {
            Some((_, recorded)) if recorded == node.addr() => return,
            Some((_, recorded)) => {
                if let Err(e) = announce_move(node, &recorded).await {
                    tracing::debug!("moving from {recorded}: {e}");
                }
            }
            // Not (or not yet known to be) a voter: nothing recorded to correct.
            None if tokio::time::Instant::now() >= deadline => return,
            None => {}
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn announce_move(node: &ClusterNode, recorded: &str) -> Result<(), ClusterError> {
    let others: Vec<String> = node
        .voters()
        .into_iter()
        .filter(|(id, _)| *id != node.id)
        .map(|(_, addr)| addr)
        .collect();
    if others.is_empty() {
        if node.is_leader() {
            tracing::info!("recording this server's new address (was {recorded})");
            node.move_server_local(node.id, node.addr()).await?;
        }
        return Ok(());
    }
    let mut last = ClusterError::NoLeader;
    for peer in others.iter().chain(&node.config.peers) {
        match node.request_join(peer).await {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

async fn attempt(node: &ClusterNode) -> Result<(), ClusterError> {
    let mut found: Vec<ServerInfo> = vec![node.info().await];
    for peer in node.config.peers.iter().filter(|p| p.as_str() != node.addr()) {
        match fetch_info(node, peer).await {
            Ok(info) => found.push(info),
            Err(e) => tracing::debug!("bootstrap: peer {peer}: {e}"),
        }
    }
    if let Some(member) = found.iter().skip(1).find(|i| i.initialized) {
        let target = member.leader.clone().unwrap_or_else(|| member.addr.clone());
        return node.request_join(&target).await;
    }
    if found.len() < node.config.bootstrap_expect.max(1) {
        return Ok(());
    }
    let lowest: NodeId = found.iter().map(|i| i.id).min().unwrap_or(node.id);
    if lowest != node.id {
        return Ok(());
    }
    let members: BTreeMap<NodeId, BasicNode> =
        found.iter().map(|i| (i.id, BasicNode::new(&i.addr))).collect();
    tracing::info!(
        "bootstrap: initialising the cluster with {} servers",
        members.len()
    );
    match node.raft.initialize(members).await {
        Ok(()) | Err(RaftError::APIError(InitializeError::NotAllowed(_))) => Ok(()),
        Err(e) => Err(ClusterError::Raft(e.to_string())),
    }
}

impl ClusterNode {
    /// The Raft node ID of the server at `addr`, as it reports it (IDs are chosen once by
    /// each server, not derived from its address).
    pub async fn peer_id(&self, addr: &str) -> Result<NodeId, ClusterError> {
        fetch_info(self, addr)
            .await
            .map(|i| i.id)
            .map_err(|e| ClusterError::Forward {
                addr: addr.to_owned(),
                message: e.to_string(),
            })
    }
}

async fn fetch_info(node: &ClusterNode, peer: &str) -> Result<ServerInfo, reqwest::Error> {
    node.http
        .get(node.rpc_url(peer, INFO_PATH))
        .timeout(Duration::from_millis(500))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
}
