//! Writes and linearizable reads from any server: a follower forwards to the leader over HTTP,
//! retrying briefly while an election is under way, so clients never see "not the leader".
//! A retry waits for the next change of the local Raft metrics (a new term or leader) or
//! [`RETRY_PAUSE`], whichever comes first, so a write lands as soon as a new leader is known.

use std::time::Duration;

use openraft::error::{CheckIsLeaderError, ClientWriteError, RaftError};
use reqwest::StatusCode;
use tokio::time::{Instant, sleep};

use super::ClusterNode;
use crate::cluster::error::ClusterError;
use crate::cluster::fsm::{ClientRequest, Command, CommandResponse};
use crate::cluster::raft::{Node, NodeId};

/// How long a write or read barrier keeps retrying while no leader is reachable.
pub const RETRY_WINDOW: Duration = Duration::from_secs(10);

/// Longest pause between retries while an election is in progress.
const RETRY_PAUSE: Duration = Duration::from_millis(15);

/// Shortest pause between retries, so a burst of metrics changes does not spin the loop.
const MIN_PAUSE: Duration = Duration::from_millis(1);

/// Timeout of one forwarded request (a write waits for commit and apply on the leader).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);

/// The internal path a follower forwards writes to.
pub const WRITE_PATH: &str = "/v1/internal/cluster/write";

/// The internal path a follower asks the leader's read index at.
pub const READ_INDEX_PATH: &str = "/v1/internal/cluster/read-index";

/// The result of trying a write on this server only.
#[derive(Debug)]
pub enum LocalWrite {
    /// Committed and applied here (this server is the leader).
    Applied(CommandResponse),
    /// Not the leader; the leader's address if known.
    NotLeader(Option<String>),
}

/// The result of asking this server only for a read index.
#[derive(Debug)]
pub enum LocalReadIndex {
    /// This server is the leader; reads at or after this index are linearizable.
    Index(u64),
    /// Not the leader; the leader's address if known.
    NotLeader(Option<String>),
}

impl ClusterNode {
    /// Proposes `cmd` on this server; returns once committed and applied, or that it is not
    /// the leader.
    pub async fn write_local(&self, cmd: Command) -> Result<LocalWrite, ClusterError> {
        match self.raft.client_write(cmd).await {
            Ok(resp) => Ok(LocalWrite::Applied(resp.data)),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                Ok(LocalWrite::NotLeader(f.leader_node.map(|n| n.addr)))
            }
            Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(e))) => {
                Err(ClusterError::Membership(e.to_string()))
            }
            Err(RaftError::Fatal(f)) => Err(ClusterError::Raft(f.to_string())),
        }
    }

    /// Proposes `cmd` through the leader, wherever it is; returns once committed and applied.
    ///
    /// This is where client writes enter the cluster: `cmd` gets a request ID here, kept by
    /// every retry, so a write proposed twice (a forwarded reply lost or later than
    /// [`FORWARD_TIMEOUT`]) applies once and both proposals answer with the first outcome.
    pub async fn write(&self, cmd: Command) -> Result<CommandResponse, ClusterError> {
        let cmd = with_request_id(cmd);
        let deadline = Instant::now() + RETRY_WINDOW;
        loop {
            let mut changes = self.raft.metrics();
            match self.write_local(cmd.clone()).await? {
                LocalWrite::Applied(resp) => return Ok(resp),
                LocalWrite::NotLeader(Some(addr)) if addr != self.addr() => {
                    match self.forward_write(&addr, &cmd).await {
                        Ok(Some(resp)) => return Ok(resp),
                        Ok(None) => {}
                        Err(e) => tracing::debug!("forwarding write to {addr}: {e}"),
                    }
                }
                LocalWrite::NotLeader(_) => {}
            }
            if Instant::now() >= deadline {
                return Err(ClusterError::NoLeader);
            }
            pause(&mut changes).await;
        }
    }

    /// Sends `cmd` to `addr`; `Ok(None)` if that server is not the leader.
    async fn forward_write(
        &self,
        addr: &str,
        cmd: &Command,
    ) -> Result<Option<CommandResponse>, ClusterError> {
        let fail = |message: String| ClusterError::Forward {
            addr: addr.to_owned(),
            message,
        };
        let resp = self
            .http
            .post(format!("http://{addr}{WRITE_PATH}"))
            .json(cmd)
            .timeout(FORWARD_TIMEOUT)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        match resp.status() {
            StatusCode::OK => Ok(Some(resp.json().await.map_err(|e| fail(e.to_string()))?)),
            StatusCode::MISDIRECTED_REQUEST => Ok(None),
            status => Err(fail(format!(
                "{status}: {}",
                resp.text().await.unwrap_or_default()
            ))),
        }
    }

    /// The leader's read index if this server is the leader (after confirming leadership with
    /// a quorum and applying up to it).
    pub async fn read_index_local(&self) -> Result<LocalReadIndex, ClusterError> {
        match self.raft.ensure_linearizable().await {
            Ok(log_id) => Ok(LocalReadIndex::Index(log_id.map_or(0, |l| l.index))),
            Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f))) => {
                Ok(LocalReadIndex::NotLeader(f.leader_node.map(|n| n.addr)))
            }
            Err(RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(_))) => {
                Ok(LocalReadIndex::NotLeader(None))
            }
            Err(RaftError::Fatal(f)) => Err(ClusterError::Raft(f.to_string())),
        }
    }

    /// Waits until this server's state reflects every write committed before the call, so a
    /// following local read is linearizable. On a follower this asks the leader for its read
    /// index and waits to apply up to it.
    pub async fn read_barrier(&self) -> Result<(), ClusterError> {
        let deadline = Instant::now() + RETRY_WINDOW;
        loop {
            let mut changes = self.raft.metrics();
            let index = match self.read_index_local().await? {
                LocalReadIndex::Index(i) => Some(i),
                LocalReadIndex::NotLeader(Some(addr)) if addr != self.addr() => {
                    self.forward_read_index(&addr).await.unwrap_or_else(|e| {
                        tracing::debug!("read index from {addr}: {e}");
                        None
                    })
                }
                LocalReadIndex::NotLeader(_) => None,
            };
            if let Some(index) = index {
                let left = deadline.saturating_duration_since(Instant::now());
                if self.state.wait_for_index(index, left).await {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(ClusterError::NoLeader);
            }
            pause(&mut changes).await;
        }
    }

    async fn forward_read_index(&self, addr: &str) -> Result<Option<u64>, ClusterError> {
        let fail = |message: String| ClusterError::Forward {
            addr: addr.to_owned(),
            message,
        };
        let resp = self
            .http
            .get(format!("http://{addr}{READ_INDEX_PATH}"))
            .timeout(FORWARD_TIMEOUT)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        match resp.status() {
            StatusCode::OK => Ok(Some(resp.json().await.map_err(|e| fail(e.to_string()))?)),
            StatusCode::MISDIRECTED_REQUEST => Ok(None),
            status => Err(fail(status.to_string())),
        }
    }
}

/// `cmd` as a [`Command::Request`] with a fresh request ID (unchanged if it already is one).
pub fn with_request_id(cmd: Command) -> Command {
    if matches!(cmd, Command::Request(_)) {
        return cmd;
    }
    let at_millis = super::evals::now_nanos() / 1_000_000;
    Command::Request(Box::new(ClientRequest {
        id: uuid::Uuid::new_v4().to_string(),
        at_millis,
        cmd,
    }))
}

/// Waits for the next change of the Raft metrics `changes` watches, at least [`MIN_PAUSE`] and
/// at most [`RETRY_PAUSE`].
async fn pause(changes: &mut tokio::sync::watch::Receiver<openraft::RaftMetrics<NodeId, Node>>) {
    let started = Instant::now();
    let _ = tokio::time::timeout(RETRY_PAUSE, changes.changed()).await;
    let left = MIN_PAUSE.saturating_sub(started.elapsed());
    if !left.is_zero() {
        sleep(left).await;
    }
}
