//! Server-to-server calls on the leader: applying a forwarded write, the read index, and
//! membership changes. A non-leader says so, and the caller looks for the leader again.

use crate::cluster::fsm::{Command, CommandResponse};
use crate::cluster::raft::NodeId;
use crate::cluster::server::{ClusterNode, LocalChange, LocalReadIndex, LocalWrite};

use super::EndpointError;

/// A forwarded write's fate.
#[derive(Debug)]
pub enum ForwardedWrite {
    /// Applied: the response.
    Applied(CommandResponse),
    /// This server is not the leader.
    NotLeader,
}

/// A read-index request's answer.
#[derive(Debug)]
pub enum ForwardedRead {
    /// The leader's read index.
    Index(u64),
    /// This server is not the leader.
    NotLeader,
}

impl ClusterNode {
    /// Applies a write forwarded by a follower, if this server leads.
    pub async fn apply_forwarded(&self, cmd: Command) -> Result<ForwardedWrite, EndpointError> {
        Ok(match self.write_local(cmd).await? {
            LocalWrite::Applied(resp) => ForwardedWrite::Applied(resp),
            LocalWrite::NotLeader(_) => ForwardedWrite::NotLeader,
        })
    }

    /// The leader's read index, if this server leads.
    pub async fn forwarded_read_index(&self) -> Result<ForwardedRead, EndpointError> {
        Ok(match self.read_index_local().await? {
            LocalReadIndex::Index(i) => ForwardedRead::Index(i),
            LocalReadIndex::NotLeader(_) => ForwardedRead::NotLeader,
        })
    }

    /// Adds a server (through the leader).
    pub async fn join_server(&self, id: NodeId, addr: &str) -> Result<(), EndpointError> {
        if addr.is_empty() {
            return Err(EndpointError::bad_request("missing addr"));
        }
        Ok(self.add_server(id, addr).await?)
    }

    /// Removes a server (here if this server leads, else through the leader).
    pub async fn leave_server(&self, id: NodeId) -> Result<(), EndpointError> {
        if let LocalChange::NotLeader(_) = self.remove_server_local(id).await? {
            self.remove_server(id).await?;
        }
        Ok(())
    }
}
