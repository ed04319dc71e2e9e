//! Cluster formation: once `bootstrap_expect` servers answer, the one with the lowest node ID
//! initialises Raft with all of them. A server that finds an existing cluster asks its leader to
//! add it instead. A server with Raft state on disk does nothing: it is already a member, so
//! restarts are idempotent.

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
            return;
        }
        if let Err(e) = attempt(&node).await {
            tracing::debug!("bootstrap: {e}");
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn attempt(node: &ClusterNode) -> Result<(), ClusterError> {
    let mut found: Vec<ServerInfo> = vec![node.info().await];
    for peer in node
        .config
        .peers
        .iter()
        .filter(|p| p.as_str() != node.addr())
    {
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
    let members: BTreeMap<NodeId, BasicNode> = found
        .iter()
        .map(|i| (i.id, BasicNode::new(&i.addr)))
        .collect();
    tracing::info!(
        "bootstrap: initialising the cluster with {} servers",
        members.len()
    );
    match node.raft.initialize(members).await {
        Ok(()) | Err(RaftError::APIError(InitializeError::NotAllowed(_))) => Ok(()),
        Err(e) => Err(ClusterError::Raft(e.to_string())),
    }
}

async fn fetch_info(node: &ClusterNode, peer: &str) -> Result<ServerInfo, reqwest::Error> {
    node.http
        .get(format!("http://{peer}{INFO_PATH}"))
        .timeout(Duration::from_millis(500))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
}
