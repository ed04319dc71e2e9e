//! [`RaftLogStorage`] over redb: log entries, vote and committed log id in one file, plus the
//! newest entries in memory and the mark of how far the log is on disk.
//!
//! ```text
//!  append (follower, or anything not this leader's own) ── one durable redb commit ──► done
//!  append (this server's own entries as leader) ── non-durable commit ──► done at once
//!                                                       └──► flusher thread: durable commit
//!                                                            └──► Durable mark advances
//!  reads (replication, apply) ── recent entries from memory, older ones from redb
//! ```
//!
//! **Why the leader may report its own append done before it is on disk.** openraft 0.9 runs
//! the leader's append before it sends the entries to the followers and counts the leader's copy
//! toward the quorum once the append reports done. Reported only after an fsync, each commit
//! waits for two fsyncs in a row (leader, then follower). Here the leader's append reports done
//! once written, and its fsync runs on a thread of its own while the entries are replicated; so
//! openraft may consider an entry committed on the leader's unsynced copy plus one follower's
//! synced one. That is safe because nothing a commit causes leaves the leader before the
//! leader's own copy is on disk ([`Durable`]):
//! - the state machine applies an entry only once the local log is durable up to it
//!   ([`StateMachineStore`](super::StateMachineStore)), so no client is answered, no read
//!   served and no event sent for it before;
//! - the commit index the leader sends its followers is lowered to its durable mark
//!   ([`Network`](super::Network)), so no follower applies it before either.
//!
//! When anything about an entry becomes visible, it is therefore on disk on the leader and on
//! every follower whose acknowledgement counted (followers report an append done only after
//! their fsync, as before): a durable majority, which is all Raft's safety argument assumes of a
//! committed entry. A leader that crashes before its flush loses only entries nothing was told
//! about, as if they had never been committed; whatever it decided internally on them (the next
//! membership step) died with it, and a message it sent meanwhile is one Raft may lose anyway.
//!
//! Which appends are the leader's own: the last saved vote is committed and names this server,
//! and every entry was proposed under that vote. Anything else (a follower's append, a leader's
//! entries coming back to a former leader) is committed durably before it reports done.
//!
//! Writes run on the blocking pool and are serialised by one lock (openraft's single log-IO
//! task, redb's single writer). The committed log id is not written on its own: it is kept in
//! memory and goes into the next write transaction (a stale value is safe; it only says how
//! much of the log to replay on restart). Purges are not fsynced either: a purge lost in a
//! crash leaves old entries behind the snapshot, which the next purge removes.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{AnyError, Entry, LogId, LogState, RaftLogReader, StorageError, StorageIOError, Vote};
use redb::{Durability, ReadableDatabase, ReadableTable, WriteTransaction};
use tokio::sync::watch;

use super::db::{LOG, META, RaftDb};
use super::{NodeId, TypeConfig};
use crate::cluster::error::StorageFailure;

const VOTE: &str = "vote";
const COMMITTED: &str = "committed";
const LAST_PURGED: &str = "last_purged";

/// Most entries kept in memory for replication and apply.
const CACHE_ENTRIES: usize = 4096;
/// Most bytes (as encoded in the log) of entries kept in memory.
const CACHE_BYTES: usize = 64 << 20;

/// How far the local log is on disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DurableMark {
    /// The last log id such that it and every entry before it are on disk.
    pub upto: Option<LogId<NodeId>>,
    /// A flush failed: nothing after `upto` becomes durable any more.
    pub failed: bool,
}

/// Watches the local log's [`DurableMark`]; cheap to clone.
#[derive(Clone)]
pub struct Durable(watch::Receiver<DurableMark>);

impl Durable {
    /// The current mark.
    pub fn mark(&self) -> DurableMark {
        *self.0.borrow()
    }

    /// Waits until every entry up to `index` is on disk; an error if a flush failed first.
    pub async fn wait_for(&mut self, index: u64) -> Result<(), String> {
        let reached = |m: &DurableMark| m.failed || m.upto.is_some_and(|u| u.index >= index);
        let mark = *self
            .0
            .wait_for(reached)
            .await
            .map_err(|_| "the raft log store has stopped".to_owned())?;
        match mark.failed && mark.upto.is_none_or(|u| u.index < index) {
            true => Err("flushing the raft log failed".into()),
            false => Ok(()),
        }
    }
}

/// The newest entries, contiguous, oldest first, each with its encoded size.
#[derive(Default)]
struct Cache {
    entries: VecDeque<(Entry<TypeConfig>, usize)>,
    bytes: usize,
}

impl Cache {
    fn first_index(&self) -> Option<u64> {
        self.entries.front().map(|(e, _)| e.log_id.index)
    }

    fn next_index(&self) -> Option<u64> {
        self.entries.back().map(|(e, _)| e.log_id.index + 1)
    }

    fn push(&mut self, entries: Vec<(Entry<TypeConfig>, usize)>) {
        let Some(start) = entries.first().map(|(e, _)| e.log_id.index) else {
            return;
        };
        if self.next_index() != Some(start) {
            // Overwritten or not contiguous: drop what no longer follows on.
            self.truncate(start);
            if self.next_index().is_some_and(|n| n != start) {
                self.clear();
            }
        }
        for (entry, size) in entries {
            self.bytes += size;
            self.entries.push_back((entry, size));
        }
        while self.entries.len() > CACHE_ENTRIES || (self.bytes > CACHE_BYTES && self.entries.len() > 1) {
            self.pop_front();
        }
    }

    fn pop_front(&mut self) {
        if let Some((_, size)) = self.entries.pop_front() {
            self.bytes -= size;
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// Drops entries from `index` on.
    fn truncate(&mut self, index: u64) {
        while self.next_index().is_some_and(|n| n > index) {
            if let Some((_, size)) = self.entries.pop_back() {
                self.bytes -= size;
            }
        }
    }

    /// Drops entries up to and including `index`.
    fn purge(&mut self, index: u64) {
        while self.first_index().is_some_and(|f| f <= index) {
            self.pop_front();
        }
    }

    /// Entries `start..end`, if all of them are here.
    fn get(&self, start: u64, end: u64) -> Option<Vec<Entry<TypeConfig>>> {
        if start >= end {
            return Some(Vec::new());
        }
        let first = self.first_index()?;
        if start < first || end > self.next_index()? {
            return None;
        }
        let from = usize::try_from(start - first).ok()?;
        let count = usize::try_from(end - start).ok()?;
        Some(
            self.entries
                .iter()
                .skip(from)
                .take(count)
                .map(|(e, _)| e.clone())
                .collect(),
        )
    }
}

/// What the writer knows of the log's tail.
struct Tail {
    /// The last entry's log id.
    last: Option<LogId<NodeId>>,
}

struct Shared {
    db: RaftDb,
    me: NodeId,
    /// The last vote saved.
    vote: Mutex<Option<Vote<NodeId>>>,
    /// Held by every write.
    tail: Mutex<Tail>,
    /// The committed log id still to be written with the next write transaction.
    committed: Mutex<Option<Option<LogId<NodeId>>>>,
    cache: Mutex<Cache>,
    durable: watch::Sender<DurableMark>,
    /// Wakes the flusher thread.
    flush: Mutex<Sender<()>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Writes the pending committed log id (if any) into `txn`.
    fn put_committed(&self, txn: &WriteTransaction) -> Result<(), StorageFailure> {
        if let Some(committed) = lock(&self.committed).take() {
            let mut meta = txn.open_table(META)?;
            meta.insert(COMMITTED, serde_json::to_vec(&committed)?.as_slice())?;
        }
        Ok(())
    }

    /// After a durable commit: everything up to the tail is on disk.
    fn mark_durable(&self, tail: &Tail) {
        self.durable.send_modify(|m| m.upto = tail.last);
    }

    /// Makes every write so far durable (the flusher thread's work).
    fn flush(&self) {
        let tail = lock(&self.tail);
        if self.durable.borrow().upto >= tail.last {
            return;
        }
        let res = (|| {
            let txn = self.db.inner().begin_write()?;
            self.put_committed(&txn)?;
            txn.commit()?;
            Ok::<_, StorageFailure>(())
        })();
        match res {
            Ok(()) => self.mark_durable(&tail),
            Err(e) => {
                tracing::error!("flushing the raft log: {e}");
                self.durable.send_modify(|m| m.failed = true);
            }
        }
    }
}

/// Runs flushes until the store is gone.
fn flusher(shared: Weak<Shared>, wake: Receiver<()>) {
    while wake.recv().is_ok() {
        while wake.try_recv().is_ok() {}
        match shared.upgrade() {
            Some(shared) => shared.flush(),
            None => return,
        }
    }
}

/// The log store (and its readers: clones share everything).
#[derive(Clone)]
pub struct LogStore {
    shared: Arc<Shared>,
}

impl LogStore {
    /// A log store over `db` for server `me`.
    pub fn new(db: RaftDb, me: NodeId) -> Result<Self, StorageFailure> {
        let last = last_entry_id(&db)?;
        let (wake, woken) = std::sync::mpsc::channel();
        let shared = Arc::new(Shared {
            db,
            me,
            vote: Mutex::new(None),
            tail: Mutex::new(Tail { last }),
            committed: Mutex::new(None),
            cache: Mutex::default(),
            // What is on disk when the store opens is durable.
            durable: watch::channel(DurableMark {
                upto: last,
                failed: false,
            })
            .0,
            flush: Mutex::new(wake),
        });
        let weak = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("raft-log-flush".into())
            .spawn(move || flusher(weak, woken))
            .map_err(|e| StorageFailure::Task(e.to_string()))?;
        Ok(Self { shared })
    }

    /// How far this server's log is on disk.
    pub fn durable(&self) -> Durable {
        Durable(self.shared.durable.subscribe())
    }

    fn read_range(&self, start: u64, end: u64) -> Result<Vec<Entry<TypeConfig>>, StorageFailure> {
        if let Some(hit) = lock(&self.shared.cache).get(start, end) {
            return Ok(hit);
        }
        let txn = self.shared.db.inner().begin_read()?;
        let table = txn.open_table(LOG)?;
        let mut out = Vec::new();
        for item in table.range::<u64>(start..end)? {
            let (_, v) = item?;
            out.push(serde_json::from_slice(v.value())?);
        }
        Ok(out)
    }

    /// Whether `entries` are this server's own as the leader (see the module doc).
    fn own_as_leader(&self, entries: &[Entry<TypeConfig>]) -> bool {
        let Some(vote) = *lock(&self.shared.vote) else {
            return false;
        };
        vote.committed
            && vote.leader_id.node_id == self.shared.me
            && entries.iter().all(|e| e.log_id.leader_id == vote.leader_id)
    }

    /// Writes `entries`: this leader's own without waiting for the disk (the flusher is woken
    /// for them), anything else durably.
    async fn append_entries(&self, entries: Vec<Entry<TypeConfig>>) -> Result<(), StorageFailure> {
        let own = self.own_as_leader(&entries);
        let encoded: Result<Vec<Vec<u8>>, _> = entries.iter().map(serde_json::to_vec).collect();
        let encoded = encoded?;
        self.write(move |shared, tail| {
            let Some(last) = entries.last().map(|e| e.log_id) else {
                return Ok(());
            };
            let mut txn = shared.db.inner().begin_write()?;
            if own {
                txn.set_durability(Durability::None)
                    .map_err(|e| StorageFailure::Db(e.into()))?;
            }
            {
                let mut table = txn.open_table(LOG)?;
                for (entry, bytes) in entries.iter().zip(&encoded) {
                    table.insert(entry.log_id.index, bytes.as_slice())?;
                }
            }
            shared.put_committed(&txn)?;
            txn.commit()?;
            tail.last = Some(last);
            let sized = entries.into_iter().zip(encoded.iter().map(Vec::len)).collect();
            lock(&shared.cache).push(sized);
            if !own {
                shared.mark_durable(tail);
            }
            Ok(())
        })
        .await?;
        if own {
            let _ = lock(&self.shared.flush).send(());
        }
        Ok(())
    }

    /// Runs a write on the blocking pool, holding the writer lock.
    async fn write<F>(&self, f: F) -> Result<(), StorageFailure>
    where
        F: FnOnce(&Shared, &mut Tail) -> Result<(), StorageFailure> + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || {
            let mut tail = lock(&shared.tail);
            f(&shared, &mut tail)
        })
        .await
        .map_err(|e| StorageFailure::Task(e.to_string()))?
    }
}

fn last_entry_id(db: &RaftDb) -> Result<Option<LogId<NodeId>>, StorageFailure> {
    let txn = db.inner().begin_read()?;
    let table = txn.open_table(LOG)?;
    match table.last()? {
        Some((_, v)) => Ok(Some(
            serde_json::from_slice::<Entry<TypeConfig>>(v.value())?.log_id,
        )),
        None => Ok(None),
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

/// `range` as the half-open `start..end`.
fn to_half_open(range: impl RangeBounds<u64>) -> (u64, u64) {
    let start = match range.start_bound() {
        Bound::Included(s) => *s,
        Bound::Excluded(s) => s.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(e) => e.saturating_add(1),
        Bound::Excluded(e) => *e,
        Bound::Unbounded => u64::MAX,
    };
    (start, end)
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        let (start, end) = to_half_open(range);
        self.read_range(start, end).map_err(read_err)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let last_purged: Option<LogId<NodeId>> =
            self.shared.db.get_json(META, LAST_PURGED).map_err(read_err)?;
        let last = lock(&self.shared.tail).last;
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last.max(last_purged),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let vote = *vote;
        self.write(move |shared, tail| {
            shared.db.put_meta(&[(VOTE, &vote)])?;
            // A durable commit: whatever was written before is on disk too.
            shared.mark_durable(tail);
            *lock(&shared.vote) = Some(vote);
            Ok(())
        })
        .await
        .map_err(|e| StorageIOError::write_vote(AnyError::new(&e)).into())
    }

    /// The saved vote, always as not committed: see [`restarted_vote`].
    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        let vote: Option<Vote<NodeId>> = self
            .shared
            .db
            .get_json(META, VOTE)
            .map_err(|e| StorageIOError::read_vote(AnyError::new(&e)))?;
        Ok(vote.map(restarted_vote))
    }

    /// Kept for the next write transaction (see the module doc).
    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> Result<(), StorageError<NodeId>> {
        *lock(&self.shared.committed) = Some(committed);
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        Ok(self
            .shared
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
        match self.append_entries(entries.into_iter().collect()).await {
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
        self.write(move |shared, tail| {
            let txn = shared.db.inner().begin_write()?;
            let before = {
                let mut table = txn.open_table(LOG)?;
                table.retain_in::<u64, _>(log_id.index.., |_, _| false)?;
                match table.last()? {
                    Some((_, v)) => Some(serde_json::from_slice::<Entry<TypeConfig>>(v.value())?.log_id),
                    None => None,
                }
            };
            shared.put_committed(&txn)?;
            txn.commit()?;
            lock(&shared.cache).truncate(log_id.index);
            // An empty log keeps the purged id as its last (see get_log_state).
            tail.last = before;
            // A durable commit: the mark is the new tail.
            shared.mark_durable(tail);
            Ok(())
        })
        .await
        .map_err(write_err)
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.write(move |shared, _tail| {
            let mut txn = shared.db.inner().begin_write()?;
            txn.set_durability(Durability::None)
                .map_err(|e| StorageFailure::Db(e.into()))?;
            {
                let mut meta = txn.open_table(META)?;
                meta.insert(LAST_PURGED, serde_json::to_vec(&Some(log_id))?.as_slice())?;
                let mut table = txn.open_table(LOG)?;
                table.retain_in::<u64, _>(..=log_id.index, |_, _| false)?;
            }
            shared.put_committed(&txn)?;
            txn.commit()?;
            lock(&shared.cache).purge(log_id.index);
            Ok(())
        })
        .await
        .map_err(write_err)
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, EntryPayload};

    use super::*;

    fn entry(term: u64, index: u64) -> (Entry<TypeConfig>, usize) {
        let e = Entry {
            log_id: LogId::new(CommittedLeaderId::new(term, 1), index),
            payload: EntryPayload::Blank,
        };
        (e, 10)
    }

    fn indexes(v: Option<Vec<Entry<TypeConfig>>>) -> Option<Vec<u64>> {
        v.map(|v| v.iter().map(|e| e.log_id.index).collect())
    }

    #[test]
    fn the_cache_keeps_a_contiguous_tail() {
        let mut c = Cache::default();
        c.push((1..=5).map(|i| entry(1, i)).collect());
        assert_eq!(indexes(c.get(2, 5)), Some(vec![2, 3, 4]));
        assert_eq!(indexes(c.get(4, 7)), None);
        assert_eq!(indexes(c.get(0, 2)), None);
        // An overwrite from index 4 drops 4 and 5 first.
        c.push(vec![entry(2, 4)]);
        assert_eq!(indexes(c.get(1, 5)), Some(vec![1, 2, 3, 4]));
        assert_eq!(c.get(4, 5).unwrap()[0].log_id.leader_id.term, 2);
        c.purge(2);
        assert_eq!(indexes(c.get(1, 3)), None);
        assert_eq!(indexes(c.get(3, 5)), Some(vec![3, 4]));
        c.truncate(4);
        assert_eq!(indexes(c.get(3, 4)), Some(vec![3]));
        // A gap (after a snapshot) starts over.
        c.push(vec![entry(3, 10)]);
        assert_eq!(indexes(c.get(3, 4)), None);
        assert_eq!(indexes(c.get(10, 11)), Some(vec![10]));
        assert_eq!(c.bytes, 10);
    }

    #[test]
    fn the_cache_is_bounded() {
        let mut c = Cache::default();
        c.push((1..=(CACHE_ENTRIES as u64 + 3)).map(|i| entry(1, i)).collect());
        assert_eq!(c.entries.len(), CACHE_ENTRIES);
        assert_eq!(c.first_index(), Some(4));
        assert_eq!(c.bytes, CACHE_ENTRIES * 10);
    }

    #[tokio::test]
    async fn a_leaders_own_appends_become_durable_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let db = RaftDb::open(&dir.path().join("raft.redb")).unwrap();
        let mut store = LogStore::new(db.clone(), 1).unwrap();
        let mut durable = store.durable();
        assert_eq!(durable.mark().upto, None);
        store.save_vote(&Vote::new_committed(1, 1)).await.unwrap();
        let entries: Vec<_> = (1..=3).map(|i| entry(1, i).0).collect();
        assert!(store.own_as_leader(&entries));
        assert!(!store.own_as_leader(&[entry(2, 4).0]));
        // Appended (as openraft does, less its callback); the flush follows on its own thread.
        store.append_entries(entries).await.unwrap();
        durable.wait_for(3).await.unwrap();
        assert_eq!(durable.mark().upto.map(|u| u.index), Some(3));
        store.save_committed(Some(entries_id(1, 2))).await.unwrap();
        store.truncate(entries_id(1, 3)).await.unwrap();
        assert_eq!(durable.mark().upto.map(|u| u.index), Some(2));
        let got = store.try_get_log_entries(1..3).await.unwrap();
        assert_eq!(got.len(), 2);
        drop(store);
        // Reopened: what was written is there, and the committed id went in with the truncate.
        let mut again = LogStore::new(db, 1).unwrap();
        assert_eq!(again.read_committed().await.unwrap(), Some(entries_id(1, 2)));
        let state = again.get_log_state().await.unwrap();
        assert_eq!(state.last_log_id.map(|l| l.index), Some(2));
        assert_eq!(again.durable().mark().upto.map(|u| u.index), Some(2));
    }

    fn entries_id(term: u64, index: u64) -> LogId<NodeId> {
        LogId::new(CommittedLeaderId::new(term, 1), index)
    }
}
