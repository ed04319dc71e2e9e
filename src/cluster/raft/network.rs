//! [`RaftNetworkFactory`] over HTTP: each RPC is a JSON POST to the peer's
//! `/v1/internal/raft/{append,vote,snapshot}` on its RPC listener (the server's HTTP client adds
//! the cluster key), answered with `Result<Response, RaftError>`.
//!
//! The commit index a leader sends is lowered to how far its own log is on disk (see
//! [`log_store`](super::log_store)): a follower applies nothing the leader has not flushed.
//! An append carries a bounded prefix of the entries openraft hands over
//! ([`MAX_APPEND_WEIGHT`]); the follower's success is reported as a partial success up to the
//! last entry sent, and openraft sends the rest next.
//!
//! A refused connection is reported as `Unreachable` (openraft backs off), anything else as a
//! network error (retried at once). A snapshot is sent whole in one request: its bytes as the
//! body, its vote and metadata in a header.

use std::future::Future;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use openraft::error::{
    Fatal, InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, ReplicationClosed,
    StreamingError, Unreachable,
};
use openraft::network::{Backoff, RPCOption};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::{Entry, EntryPayload, RaftNetwork, RaftNetworkFactory, Snapshot, SnapshotMeta, Vote};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::log_store::Durable;
use super::{Node, NodeId, TypeConfig};
use crate::cluster::transport::Transport;

/// Header of `/v1/internal/raft/snapshot` carrying [`SnapshotHeader`] (JSON, base64); the
/// body is the snapshot's bytes as they are, so the receiver can spool them to a file.
pub const SNAPSHOT_META_HEADER: &str = "X-Deploy-Snapshot-Meta";

/// What travels beside a snapshot's bytes.
#[derive(Debug, Serialize, Deserialize)]
pub struct SnapshotHeader {
    /// The leader's vote.
    pub vote: Vote<NodeId>,
    /// Snapshot metadata.
    pub meta: SnapshotMeta<NodeId, Node>,
}

impl SnapshotHeader {
    /// The header value: JSON, base64.
    pub fn encode(&self) -> Result<String, serde_json::Error> {
        Ok(B64.encode(serde_json::to_vec(self)?))
    }

    /// Reads a header value.
    pub fn decode(value: &[u8]) -> Option<Self> {
        serde_json::from_slice(&B64.decode(value).ok()?).ok()
    }
}

/// Most allocation-sized records ([`Command::weight`](crate::cluster::fsm::Command::weight))
/// one AppendEntries carries: what one
/// log entry may carry (the proposer's bound), so a follower catching up receives about 1 MB
/// per round trip however many entries openraft hands over at once (`max_payload_entries`
/// entries of up to that each would be tens of MB, which a loaded follower cannot take within
/// the append's timeout, so the same request timed out again at every retry).
pub const MAX_APPEND_WEIGHT: usize = crate::cluster::server::proposer::MAX_BATCH_WEIGHT;

/// How many of `entries`, from the first, go in one AppendEntries: at least one, then while
/// their weights (at least 1 each) stay within `max`.
fn bounded_prefix(entries: &[Entry<TypeConfig>], max: usize) -> usize {
    let mut total = 0;
    for (i, e) in entries.iter().enumerate() {
        total += match &e.payload {
            EntryPayload::Normal(cmd) => cmd.weight().max(1),
            _ => 1,
        };
        if total > max && i > 0 {
            return i;
        }
    }
    entries.len()
}

/// Creates one [`PeerClient`] per target server, sharing an HTTP connection pool.
#[derive(Clone)]
pub struct Network {
    http: reqwest::Client,
    transport: Transport,
    durable: Durable,
}

impl Network {
    /// A network using `http` (configure small connect timeouts on it), built for
    /// `transport` (plain or TLS); the commit index it sends never passes `durable`.
    pub fn new(http: reqwest::Client, transport: Transport, durable: Durable) -> Self {
        Self {
            http,
            transport,
            durable,
        }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> PeerClient {
        PeerClient {
            target,
            addr: node.addr.clone(),
            http: self.http.clone(),
            transport: self.transport.clone(),
            durable: self.durable.clone(),
        }
    }
}

/// The connection to one peer.
pub struct PeerClient {
    target: NodeId,
    addr: String,
    http: reqwest::Client,
    transport: Transport,
    durable: Durable,
}

fn send_error(e: reqwest::Error) -> RPCError<NodeId, Node, RaftError<NodeId>> {
    if e.is_connect() {
        Unreachable::new(&e).into()
    } else {
        NetworkError::new(&e).into()
    }
}

impl PeerClient {
    async fn post<Req, Resp, E>(
        &self,
        path: &str,
        req: &Req,
        timeout: Duration,
    ) -> Result<Result<Resp, RaftError<NodeId, E>>, reqwest::Error>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let url = self
            .transport
            .url(&self.addr, &format!("/v1/internal/raft/{path}"));
        let resp = self.http.post(url).json(req).timeout(timeout).send().await?;
        resp.error_for_status()?.json().await
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        mut rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        rpc.leader_commit = rpc.leader_commit.min(self.durable.mark().upto);
        // A bounded prefix goes; openraft sends the rest next, from where this one ended.
        let sent = bounded_prefix(&rpc.entries, MAX_APPEND_WEIGHT);
        let cut = (sent < rpc.entries.len()).then(|| rpc.entries[sent - 1].log_id);
        rpc.entries.truncate(sent);
        let res = self
            .post("append", &rpc, option.hard_ttl())
            .await
            .map_err(send_error)?;
        match res {
            Ok(AppendEntriesResponse::Success) if cut.is_some() => {
                Ok(AppendEntriesResponse::PartialSuccess(cut))
            }
            Ok(other) => Ok(other),
            Err(e) => Err(RemoteError::new(self.target, e).into()),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        let res = self
            .post("vote", &rpc, option.hard_ttl())
            .await
            .map_err(send_error)?;
        res.map_err(|e| RemoteError::new(self.target, e).into())
    }

    /// Not used: snapshots travel whole through [`Self::full_snapshot`].
    async fn install_snapshot(
        &mut self,
        _rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, Node, RaftError<NodeId, InstallSnapshotError>>,
    > {
        let e = std::io::Error::other("chunked snapshot transfer is not supported; snapshots are sent whole");
        Err(NetworkError::new(&e).into())
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote<NodeId>,
        snapshot: Snapshot<TypeConfig>,
        cancel: impl Future<Output = ReplicationClosed> + Send + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<NodeId>, StreamingError<TypeConfig, Fatal<NodeId>>> {
        let header = SnapshotHeader {
            vote,
            meta: snapshot.meta,
        };
        let header = header
            .encode()
            .map_err(|e| -> StreamingError<TypeConfig, Fatal<NodeId>> { NetworkError::new(&e).into() })?;
        let url = self.transport.url(&self.addr, "/v1/internal/raft/snapshot");
        let send = async {
            let resp = self
                .http
                .post(url)
                .header(SNAPSHOT_META_HEADER, header)
                .body(snapshot.snapshot.into_inner())
                .timeout(option.hard_ttl())
                .send()
                .await?;
            resp.error_for_status()?
                .json::<Result<SnapshotResponse<NodeId>, RaftError<NodeId, Fatal<NodeId>>>>()
                .await
        };
        let res = tokio::select! {
            closed = cancel => return Err(closed.into()),
            res = send => res,
        };
        let res = res.map_err(|e| -> StreamingError<TypeConfig, Fatal<NodeId>> {
            if e.is_connect() {
                Unreachable::new(&e).into()
            } else {
                NetworkError::new(&e).into()
            }
        })?;
        match res {
            Ok(r) => Ok(r),
            Err(RaftError::Fatal(f)) => Err(RemoteError::new(self.target, f).into()),
            Err(RaftError::APIError(f)) => Err(RemoteError::new(self.target, f).into()),
        }
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(std::iter::repeat(Duration::from_millis(100)))
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, LogId};

    use super::*;
    use crate::cluster::fsm::{AllocClientUpdate, Command};

    fn entry(index: u64, payload: EntryPayload<TypeConfig>) -> Entry<TypeConfig> {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload,
        }
    }

    fn reports(n: usize) -> EntryPayload<TypeConfig> {
        let updates = (0..n).map(|_| AllocClientUpdate::default()).collect();
        EntryPayload::Normal(Command::AllocClientUpdate {
            updates,
            evals: Vec::new(),
        })
    }

    #[test]
    fn an_append_carries_entries_up_to_the_bound_and_always_at_least_one() {
        let entries = vec![
            entry(1, EntryPayload::Blank),
            entry(2, reports(300)),
            entry(3, reports(300)),
            entry(4, reports(300)),
        ];
        assert_eq!(bounded_prefix(&entries, 640), 3);
        assert_eq!(bounded_prefix(&entries[2..], 640), 2);
        assert_eq!(bounded_prefix(&entries, 10_000), 4);
        // One entry over the bound still goes, alone.
        assert_eq!(bounded_prefix(&entries[1..], 100), 1);
        assert_eq!(bounded_prefix(&[], 640), 0);
    }
}
