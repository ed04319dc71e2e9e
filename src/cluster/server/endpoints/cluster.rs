//! Server-to-server calls on the leader: applying a forwarded write, the read index, and
//! membership changes. A non-leader says so, and the caller looks for the leader again.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

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

/// Fault injection for tests: with `DEPLOY_TEST_LOSE_FORWARDED_REPLIES=1` this leader applies
/// every forwarded write but answers every other one (the first, third, ...) with a 500 instead
/// of its response, as a reply lost on the network looks to the follower, which then proposes
/// the same write again.
fn lose_this_reply() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    static SEEN: AtomicU64 = AtomicU64::new(0);
    let on = *ON.get_or_init(|| std::env::var("DEPLOY_TEST_LOSE_FORWARDED_REPLIES").is_ok_and(|v| v == "1"));
    if !on || !SEEN.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
        return false;
    }
    tracing::warn!("dropping the reply to a forwarded write (DEPLOY_TEST_LOSE_FORWARDED_REPLIES)");
    true
}

impl ClusterNode {
    /// Applies a write forwarded by a follower, if this server leads.
    pub async fn apply_forwarded(&self, cmd: Command) -> Result<ForwardedWrite, EndpointError> {
        Ok(match self.write_local(cmd).await? {
            LocalWrite::Applied(_) if lose_this_reply() => {
                return Err(EndpointError::Internal(
                    "forwarded write applied; reply dropped by DEPLOY_TEST_LOSE_FORWARDED_REPLIES".into(),
                ));
            }
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
