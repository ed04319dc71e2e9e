//! [`RaftLogStorage`] over redb: log entries, vote and committed log id in one file.
//!
//! Appends of one batch are one write transaction (one fsync); openraft is told the batch is
//! flushed only after that commit returns. All writes run on the blocking pool, serialised by
//! openraft's single log-IO task and redb's single writer.

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{AnyError, Entry, LogId, LogState, RaftLogReader, StorageError, StorageIOError, Vote};
use redb::{ReadableDatabase, ReadableTable};

use super::db::{LOG, META, RaftDb};
use super::{NodeId, TypeConfig};
use crate::cluster::error::StorageFailure;

const VOTE: &str = "vote";
const COMMITTED: &str = "committed";
const LAST_PURGED: &str = "last_purged";

/// The log store (and its readers: clones share the database).
#[derive(Clone)]
pub struct LogStore {
    db: RaftDb,
}

impl LogStore {
    /// A log store over `db`.
    pub fn new(db: RaftDb) -> Self {
        Self { db }
    }

    fn read_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageFailure> {
        let txn = self.db.inner().begin_read()?;
        let table = txn.open_table(LOG)?;
        let mut out = Vec::new();
        for item in table.range::<u64>((start, end))? {
            let (_, v) = item?;
            out.push(serde_json::from_slice(v.value())?);
        }
        Ok(out)
    }

    fn last_entry_id(&self) -> Result<Option<LogId<NodeId>>, StorageFailure> {
        let txn = self.db.inner().begin_read()?;
        let table = txn.open_table(LOG)?;
        match table.last()? {
            Some((_, v)) => Ok(Some(
                serde_json::from_slice::<Entry<TypeConfig>>(v.value())?.log_id,
            )),
            None => Ok(None),
        }
    }

    /// Runs a write on the blocking pool.
    async fn write<F>(&self, f: F) -> Result<(), StorageFailure>
    where
        F: FnOnce(&RaftDb) -> Result<(), StorageFailure> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| StorageFailure::Task(e.to_string()))?
    }
}

/// A saved vote as a restarted server may use it: the same term and candidate (so it never
/// votes twice in a term), but not committed.
///
/// openraft 0.9 restarts a server whose saved vote is its own committed one as the leader of
/// that term at once, without an election and without a new blank entry, and answers read
/// indexes from the committed index it saved (lazily, so possibly behind what it had
/// acknowledged) until its followers answer. After every server was killed at once, such a
/// leader answered consistent reads with a state older than acknowledged writes. As not
/// committed, the vote makes the server a follower that campaigns for a new term, and a new
/// leader answers reads only once the blank entry of its own term is applied (Raft §6.4).
/// A follower's vote for another server is upgraded again by that leader's first append.
pub(crate) fn restarted_vote(vote: Vote<NodeId>) -> Vote<NodeId> {
    Vote {
        committed: false,
        ..vote
    }
}

fn read_err(e: StorageFailure) -> StorageError<NodeId> {
    StorageIOError::read_logs(AnyError::new(&e)).into()
}

fn write_err(e: StorageFailure) -> StorageError<NodeId> {
    StorageIOError::write_logs(AnyError::new(&e)).into()
}

fn to_bounds(range: impl RangeBounds<u64>) -> (Bound<u64>, Bound<u64>) {
    (range.start_bound().cloned(), range.end_bound().cloned())
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        let (start, end) = to_bounds(range);
        self.read_range(start, end).map_err(read_err)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let last_purged: Option<LogId<NodeId>> = self.db.get_json(META, LAST_PURGED).map_err(read_err)?;
        let last = self.last_entry_id().map_err(read_err)?;
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last.or(last_purged),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let vote = *vote;
        self.write(move |db| db.put_meta(&[(VOTE, &vote)]))
            .await
            .map_err(|e| StorageIOError::write_vote(AnyError::new(&e)).into())
    }

    /// The saved vote, always as not committed: see [`restarted_vote`].
    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        let vote: Option<Vote<NodeId>> = self
            .db
            .get_json(META, VOTE)
            .map_err(|e| StorageIOError::read_vote(AnyError::new(&e)))?;
        Ok(vote.map(restarted_vote))
    }

    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> Result<(), StorageError<NodeId>> {
        // Not fsynced: the committed id is an optimisation (replay on restart), and a stale
        // value is safe; the next durable log append makes it durable anyway.
        self.write(move |db| db.put_meta_lazy(COMMITTED, &committed))
            .await
            .map_err(write_err)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        Ok(self
            .db
            .get_json::<Option<LogId<NodeId>>>(META, COMMITTED)
            .map_err(read_err)?
            .flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let encoded: Result<Vec<(u64, Vec<u8>)>, _> = entries
            .into_iter()
            .map(|e| serde_json::to_vec(&e).map(|b| (e.log_id.index, b)))
            .collect();
        let encoded = encoded.map_err(|e| write_err(e.into()))?;
        let res = self
            .write(move |db| {
                let txn = db.inner().begin_write()?;
                {
                    let mut table = txn.open_table(LOG)?;
                    for (index, bytes) in &encoded {
                        table.insert(*index, bytes.as_slice())?;
                    }
                }
                txn.commit()?;
                Ok(())
            })
            .await;
        match res {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(io::Error::other(e.to_string())));
                Err(write_err(e))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.write(move |db| {
            let txn = db.inner().begin_write()?;
            {
                let mut table = txn.open_table(LOG)?;
                table.retain_in::<u64, _>(log_id.index.., |_, _| false)?;
            }
            txn.commit()?;
            Ok(())
        })
        .await
        .map_err(write_err)
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.write(move |db| {
            let txn = db.inner().begin_write()?;
            {
                let mut meta = txn.open_table(META)?;
                meta.insert(LAST_PURGED, serde_json::to_vec(&Some(log_id))?.as_slice())?;
                let mut table = txn.open_table(LOG)?;
                table.retain_in::<u64, _>(..=log_id.index, |_, _| false)?;
            }
            txn.commit()?;
            Ok(())
        })
        .await
        .map_err(write_err)
    }
}
