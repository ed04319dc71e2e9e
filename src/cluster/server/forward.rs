//! Writes and linearizable reads from any server: a follower forwards to the leader over HTTP,
//! retrying briefly while an election is under way, so clients never see "not the leader".
//! A retry waits for the next change of the local Raft metrics (a new term or leader) or
//! [`RETRY_PAUSE`], whichever comes first, so a write lands as soon as a new leader is known.
//! A forward in flight is abandoned a lease after this server knows another leader: a leader cut
//! off by a partition answers nothing, and waiting out [`FORWARD_TIMEOUT`] would hold every
//! write through a survivor for seconds after the survivors have elected a new one. A
//! check-and-set write whose forward was sent but not answered is not retried: the old leader
//! may have committed it before it was cut off, and the retry would fail its own check, so the
//! client is told the outcome is unknown instead of a false conflict.

use std::time::Duration;

use openraft::error::{CheckIsLeaderError, RaftError};
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
    /// Proposes `cmd` on this server, in a batch with other concurrent writes (see
    /// [`proposer`](super::proposer)); returns once committed and applied, or that it is not
    /// the leader.
    pub async fn write_local(&self, cmd: Command) -> Result<LocalWrite, ClusterError> {
        self.proposer.propose(cmd).await
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
                    match self
                        .unless_leader_moves(&addr, self.forward_write(&addr, &cmd))
                        .await
                    {
                        Ok(Some(resp)) => return Ok(resp),
                        Ok(None) => {}
                        // Sent, but no answer: the leader may have committed it. Retrying is
                        // safe because the request ID makes a second copy answer with the
                        // first one's outcome (a check-and-set write does not fail its own
                        // check).
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

    /// Sends `cmd` to `addr`; `Ok(None)` if that server is not the leader or the request
    /// never left (no connection). An error once it was sent leaves the outcome unknown and
    /// says so.
    async fn forward_write(
        &self,
        addr: &str,
        cmd: &Command,
    ) -> Result<Option<CommandResponse>, ClusterError> {
        let fail = |message: String| ClusterError::Forward {
            addr: addr.to_owned(),
            message: format!(
                "{message}; the write may or may not have been applied: read it back before retrying"
            ),
        };
        let sent = self
            .http
            .post(self.rpc_url(addr, WRITE_PATH))
            .json(cmd)
            .timeout(FORWARD_TIMEOUT)
            .send()
            .await;
        let resp = match sent {
            Ok(resp) => resp,
            Err(e) if e.is_connect() => {
                tracing::debug!("forwarding write to {addr}: {e}");
                return Ok(None);
            }
            Err(e) => return Err(fail(e.to_string())),
        };
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
                    let forward = self.forward_read_index(&addr);
                    self.unless_leader_moves(&addr, forward)
                        .await
                        .unwrap_or_else(|e| {
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

    /// Runs the forward `call` to the leader at `addr`, abandoning it a lease after this server
    /// knows a different leader (or leads itself): [`ClusterError::Forward`] then.
    async fn unless_leader_moves<T>(
        &self,
        addr: &str,
        call: impl Future<Output = Result<T, ClusterError>>,
    ) -> Result<T, ClusterError> {
        let mut changes = self.raft.metrics();
        let moved = async {
            loop {
                let leader = {
                    let m = changes.borrow_and_update();
                    let membership = m.membership_config.membership();
                    m.current_leader
                        .and_then(|l| membership.get_node(&l).map(|n| n.addr.clone()))
                };
                if leader.is_some_and(|l| l != addr) || changes.changed().await.is_err() {
                    break;
                }
            }
            // A deposed leader that still hears the cluster answers within about a lease: it
            // commits the entry through the new leader or drops it ("not the leader"), both
            // definite. Only one that stays silent (cut off, paused) is given up on.
            sleep(Duration::from_millis(self.raft.config().election_timeout_max)).await;
        };
        tokio::select! {
            result = call => result,
            () = moved => Err(ClusterError::Forward {
                addr: addr.to_owned(),
                message: "abandoned: another server leads now, so the outcome is unknown".into(),
            }),
        }
    }

    async fn forward_read_index(&self, addr: &str) -> Result<Option<u64>, ClusterError> {
        let fail = |message: String| ClusterError::Forward {
            addr: addr.to_owned(),
            message,
        };
        let resp = self
            .http
            .get(self.rpc_url(addr, READ_INDEX_PATH))
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
