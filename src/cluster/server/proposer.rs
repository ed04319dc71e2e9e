//! Group commit: concurrent writes on the leader share one Raft log entry.
//!
//! ```text
//!  write_local(cmd) ──► channel ──► proposer task ──► drain up to MAX_BATCH pending writes
//!        ▲                                             │ one: propose it as is
//!        │                                             │ more: propose Command::Batch(cmds)
//!        └──── its own CommandResponse ◄── split ◄─────┴─ client_write (up to MAX_IN_FLIGHT at once)
//! ```
//!
//! Each proposed entry costs every node one fsync (the leader's runs while the entry replicates,
//! see [`log_store`](crate::cluster::raft::log_store), which also holds the argument why that is
//! safe). While [`MAX_IN_FLIGHT`] batches are being committed, new writes wait in the channel and
//! go out together as the next batch: one fsync per node for the whole batch, whatever its size.
//! A lone write is proposed at once, unwrapped, so it pays nothing for batching.
//!
//! Each write keeps its identity inside the batch (its own command and outcome), applied in
//! arrival order at the batch's index; a batch commits or fails as a whole, and on failure
//! every write in it gets the same answer (not the leader, or the error) and its caller
//! retries or forwards it as before. Raft's own guarantees are unchanged: a write is
//! acknowledged only after its entry is committed on a quorum and applied.

use std::sync::Arc;
use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::LocalWrite;
use crate::cluster::error::ClusterError;
use crate::cluster::fsm::{Command, CommandResponse, Outcome};
use crate::cluster::raft::ClusterRaft;

/// Most writes in one log entry.
pub const MAX_BATCH: usize = 128;

/// Most allocation-sized records ([`Command::weight`]) in one log entry, about 1 MB of JSON
/// (an allocation with its task states is 1-2 KB): every follower must receive, decode and
/// write an entry within one append round trip, or the append times out, is sent again, and
/// the followers, hearing nothing else, start elections. A single write over it goes alone.
pub const MAX_BATCH_WEIGHT: usize = 640;

/// Batches being committed at once: while one waits for replication, the next is appended.
pub const MAX_IN_FLIGHT: usize = 2;

/// Writes waiting for the proposer; callers wait for room when it is full.
const QUEUE: usize = 4096;

/// Longest a batch holds its in-flight slot. A batch still unanswered by then (a leader
/// change under way) keeps waiting for its answer, but no longer holds back the next batches.
const SLOT_HOLD: Duration = Duration::from_secs(1);

/// A write waiting to be proposed and the caller waiting for its answer.
struct Pending {
    cmd: Command,
    reply: oneshot::Sender<Result<LocalWrite, ClusterError>>,
}

/// The handle writers use; cheap to clone.
#[derive(Clone)]
pub struct Proposer {
    tx: mpsc::Sender<Pending>,
}

impl Proposer {
    /// Starts the proposer task over `raft`; it ends when every handle is dropped.
    pub fn start(raft: ClusterRaft) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (Self { tx }, tokio::spawn(run(raft, rx)))
    }

    /// Proposes `cmd` with whatever else is pending; returns once its batch is committed and
    /// applied, or that this server is not the leader.
    pub async fn propose(&self, cmd: Command) -> Result<LocalWrite, ClusterError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Pending { cmd, reply })
            .await
            .map_err(|_| ClusterError::Raft("the proposer has stopped".into()))?;
        answer
            .await
            .map_err(|_| ClusterError::Raft("the proposer dropped a write".into()))?
    }
}

/// Takes pending writes in batches and commits up to [`MAX_IN_FLIGHT`] batches at once.
async fn run(raft: ClusterRaft, mut rx: mpsc::Receiver<Pending>) {
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    // A write taken from the queue that would have made the last batch too heavy.
    let mut held: Option<Pending> = None;
    loop {
        let first = match held.take() {
            Some(p) => p,
            None => match rx.recv().await {
                Some(p) => p,
                None => return,
            },
        };
        // Waiting for a slot before draining is what lets a batch grow while others commit.
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let batch = fill(first, &mut rx, &mut held);
        let raft = raft.clone();
        let committing = tokio::spawn(async move { commit(&raft, batch).await });
        tokio::spawn(async move {
            let _ = tokio::time::timeout(SLOT_HOLD, committing).await;
            drop(slot);
        });
    }
}

/// A batch starting with `first` and whatever else is queued, up to [`MAX_BATCH`] writes and
/// [`MAX_BATCH_WEIGHT`]; the write that would have gone over the weight is left in `held`.
fn fill(first: Pending, rx: &mut mpsc::Receiver<Pending>, held: &mut Option<Pending>) -> Vec<Pending> {
    let mut weight = first.cmd.weight();
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        let Ok(p) = rx.try_recv() else { break };
        let w = p.cmd.weight();
        if weight + w > MAX_BATCH_WEIGHT {
            *held = Some(p);
            break;
        }
        weight += w;
        batch.push(p);
    }
    batch
}

/// Proposes `batch` as one entry and answers each write.
async fn commit(raft: &ClusterRaft, mut batch: Vec<Pending>) {
    if batch.len() == 1 {
        let p = batch.remove(0);
        let _ = p.reply.send(write_one(raft, p.cmd).await);
        return;
    }
    let (cmds, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|p| (p.cmd, p.reply)).unzip();
    let count = replies.len();
    match write_one(raft, Command::Batch(cmds)).await {
        Ok(LocalWrite::Applied(resp)) => {
            for (reply, resp) in replies.into_iter().zip(split(resp, count)) {
                let _ = reply.send(Ok(LocalWrite::Applied(resp)));
            }
        }
        Ok(LocalWrite::NotLeader(addr)) => {
            for reply in replies {
                let _ = reply.send(Ok(LocalWrite::NotLeader(addr.clone())));
            }
        }
        Err(e) => {
            let message = e.to_string();
            for reply in replies {
                let _ = reply.send(Err(ClusterError::Raft(message.clone())));
            }
        }
    }
}

/// One response per write of a batch of `count`, from the batch entry's response.
fn split(resp: CommandResponse, count: usize) -> Vec<CommandResponse> {
    let index = resp.index;
    let outcomes = match resp.outcome {
        Outcome::Batch(outcomes) if outcomes.len() == count => outcomes,
        other => {
            let message = format!("a batch of {count} writes was answered with {other:?}");
            vec![Outcome::Refused { message }; count]
        }
    };
    outcomes
        .into_iter()
        .map(|outcome| CommandResponse { index, outcome })
        .collect()
}

/// Proposes one entry on this server.
async fn write_one(raft: &ClusterRaft, cmd: Command) -> Result<LocalWrite, ClusterError> {
    match raft.client_write(cmd).await {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_gives_each_write_its_outcome_at_the_batch_index() {
        let resp = CommandResponse {
            index: 7,
            outcome: Outcome::Batch(vec![Outcome::Done, Outcome::NotFound { message: "x".into() }]),
        };
        let out = split(resp, 2);
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0],
            CommandResponse {
                index: 7,
                outcome: Outcome::Done
            }
        );
        assert!(matches!(&out[1].outcome, Outcome::NotFound { message } if message == "x"));
    }

    fn report(n: usize) -> Pending {
        let cmd = Command::AllocClientUpdate {
            updates: vec![Default::default(); n],
            evals: Vec::new(),
        };
        Pending {
            cmd,
            reply: oneshot::channel().0,
        }
    }

    #[test]
    fn a_batch_stops_before_the_write_that_would_make_it_too_heavy() {
        let (tx, mut rx) = mpsc::channel(16);
        for n in [300, 300, 100, 500] {
            tx.try_send(report(n)).ok().unwrap();
        }
        let mut held = None;
        let weights = |b: &[Pending]| b.iter().map(|p| p.cmd.weight()).collect::<Vec<_>>();
        let first = fill(report(30), &mut rx, &mut held);
        assert_eq!(weights(&first), [30, 300, 300], "the next 100 would pass 640");
        let next = held.take().expect("the write left out is held, not lost");
        let second = fill(next, &mut rx, &mut held);
        assert_eq!(weights(&second), [100, 500]);
        // One write over the bound goes alone.
        tx.try_send(report(5)).ok().unwrap();
        let alone = fill(report(2_000), &mut rx, &mut held);
        assert_eq!(weights(&alone), [2_000]);
        assert_eq!(held.map(|p| p.cmd.weight()), Some(5));
    }

    #[test]
    fn split_refuses_every_write_when_the_answer_does_not_match() {
        let resp = CommandResponse {
            index: 3,
            outcome: Outcome::Done,
        };
        let out = split(resp, 3);
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|r| matches!(r.outcome, Outcome::Refused { .. })));
    }
}
