//! Adding and removing servers through openraft's joint-consensus membership changes.
//! Both run on the leader; other servers forward them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use openraft::error::{ChangeMembershipError, ClientWriteError, RaftError};
use openraft::{BasicNode, ChangeMembers};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use super::ClusterNode;
use crate::cluster::error::ClusterError;
use crate::cluster::raft::{NodeId, TypeConfig};

/// Where a server asks the leader to add it.
pub const JOIN_PATH: &str = "/v1/internal/cluster/join";
/// Where a server asks the leader to remove a server.
pub const LEAVE_PATH: &str = "/v1/internal/cluster/leave";

/// A membership change request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberRequest {
    /// Raft node ID.
    pub id: NodeId,
    /// RPC address (for joins).
    #[serde(default)]
    pub addr: String,
}

/// The outcome of a membership change tried on this server only.
#[derive(Debug)]
pub enum LocalChange {
    /// Done (or nothing to do).
    Done,
    /// Not the leader; the leader's address if known.
    NotLeader(Option<String>),
}

/// How long a change waits for an earlier one (or a new leader's first commit) to finish.
const IN_PROGRESS_WAIT: Duration = Duration::from_secs(10);

type ChangeResult = Result<
    openraft::raft::ClientWriteResponse<TypeConfig>,
    RaftError<NodeId, ClientWriteError<NodeId, BasicNode>>,
>;

fn classify(e: RaftError<NodeId, ClientWriteError<NodeId, BasicNode>>) -> Result<LocalChange, ClusterError> {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => {
            Ok(LocalChange::NotLeader(f.leader_node.map(|n| n.addr)))
        }
        other => Err(ClusterError::Membership(other.to_string())),
    }
}

/// Runs a membership change, retrying while another one is still being committed.
async fn retry_in_progress<F, Fut>(mut change: F) -> ChangeResult
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ChangeResult>,
{
    let deadline = tokio::time::Instant::now() + IN_PROGRESS_WAIT;
    loop {
        match change().await {
            Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(
                ChangeMembershipError::InProgress(_),
            ))) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

impl ClusterNode {
    /// On the leader: adds server `id` at `addr` as a learner, waits for it to catch up, then
    /// makes it a voter. A voter that asks again from a new address has its address updated
    /// (it restarted elsewhere with the same data); one at the same address is left alone.
    pub async fn add_server_local(&self, id: NodeId, addr: &str) -> Result<LocalChange, ClusterError> {
        if let Some((_, known)) = self.voters().into_iter().find(|(v, _)| *v == id) {
            if known == addr {
                return Ok(LocalChange::Done);
            }
            return self.move_server_local(id, addr).await;
        }
        if let Err(e) = retry_in_progress(|| self.raft.add_learner(id, BasicNode::new(addr), true)).await {
            return classify(e);
        }
        let voters = || {
            self.raft
                .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), false)
        };
        match retry_in_progress(voters).await {
            Ok(_) => Ok(LocalChange::Done),
            Err(e) => classify(e),
        }
    }

    /// On the leader: records that server `id` is now reached at `addr` (the voters stay
    /// the same, so this is one committed membership entry, not a joint change).
    pub async fn move_server_local(&self, id: NodeId, addr: &str) -> Result<LocalChange, ClusterError> {
        tracing::info!("server {id} moved to {addr}");
        let nodes = BTreeMap::from([(id, BasicNode::new(addr))]);
        let set = || {
            self.raft
                .change_membership(ChangeMembers::SetNodes(nodes.clone()), false)
        };
        match retry_in_progress(set).await {
            Ok(_) => Ok(LocalChange::Done),
            Err(e) => classify(e),
        }
    }

    /// On the leader: removes server `id` from the voters and from replication.
    pub async fn remove_server_local(&self, id: NodeId) -> Result<LocalChange, ClusterError> {
        if !self.voters().iter().any(|(v, _)| *v == id) {
            return Ok(LocalChange::Done);
        }
        let remove = || {
            self.raft
                .change_membership(ChangeMembers::RemoveVoters(BTreeSet::from([id])), false)
        };
        match retry_in_progress(remove).await {
            Ok(_) => Ok(LocalChange::Done),
            Err(e) => classify(e),
        }
    }

    /// Adds a server, through the leader wherever it is.
    pub async fn add_server(&self, id: NodeId, addr: &str) -> Result<(), ClusterError> {
        match self.add_server_local(id, addr).await? {
            LocalChange::Done => Ok(()),
            LocalChange::NotLeader(leader) => {
                let leader = leader.ok_or(ClusterError::NoLeader)?;
                self.post_member(
                    &leader,
                    JOIN_PATH,
                    &MemberRequest {
                        id,
                        addr: addr.to_owned(),
                    },
                )
                .await
            }
        }
    }

    /// Removes a server, through the leader wherever it is.
    pub async fn remove_server(&self, id: NodeId) -> Result<(), ClusterError> {
        match self.remove_server_local(id).await? {
            LocalChange::Done => Ok(()),
            LocalChange::NotLeader(leader) => {
                let leader = leader.ok_or(ClusterError::NoLeader)?;
                self.post_member(
                    &leader,
                    LEAVE_PATH,
                    &MemberRequest {
                        id,
                        addr: String::new(),
                    },
                )
                .await
            }
        }
    }

    /// Asks the server at `target` (which forwards to its leader) to add this server.
    pub(super) async fn request_join(&self, target: &str) -> Result<(), ClusterError> {
        self.post_member(
            target,
            JOIN_PATH,
            &MemberRequest {
                id: self.id,
                addr: self.addr().to_owned(),
            },
        )
        .await
    }

    async fn post_member(&self, target: &str, path: &str, req: &MemberRequest) -> Result<(), ClusterError> {
        let fail = |message: String| ClusterError::Forward {
            addr: target.to_owned(),
            message,
        };
        let resp = self
            .http
            .post(self.rpc_url(target, path))
            .json(req)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        match resp.status() {
            StatusCode::OK => Ok(()),
            status => Err(fail(format!(
                "{status}: {}",
                resp.text().await.unwrap_or_default()
            ))),
        }
    }
}
