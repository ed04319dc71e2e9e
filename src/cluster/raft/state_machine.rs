//! [`RaftStateMachine`]: applies committed entries to the in-memory [`State`], and builds,
//! persists and installs snapshots (the whole state as JSON, stored durably in redb).
//!
//! Snapshots live in their own redb file (`snapshot.redb`), apart from the log: redb has one
//! writer per file, and writing a large snapshot into the log's file held that lock for hundreds
//! of milliseconds, stalling log appends and with them the leader's heartbeats (elections under
//! write load). Encoding runs on the blocking pool for the same reason. A data directory from
//! before the split still has its snapshot in the log's file; it is read from there until the
//! first new snapshot is written.
//!
//! The state itself is not written on apply: on restart it is rebuilt from the last snapshot
//! plus the log from there up to the saved committed index, which openraft replays.
//!
//! An entry is applied only once the local log is on disk up to it ([`Durable`]): a leader's
//! own entries are committed while its flush may still be running (see
//! [`log_store`](super::log_store)), and nothing may be answered from them before it is done.

use std::io::Cursor;

use openraft::storage::RaftStateMachine;
use openraft::{
    AnyError, Entry, EntryPayload, LogId, RaftSnapshotBuilder, Snapshot, SnapshotMeta, StorageError,
    StorageIOError, StoredMembership,
};

use super::db::{RaftDb, SNAPSHOT};
use super::log_store::Durable;
use super::{Node, NodeId, TypeConfig};
use crate::cluster::error::StorageFailure;
use crate::cluster::fsm::{CommandResponse, Outcome, State, StateHandle};

const META_KEY: &str = "meta";
const DATA_KEY: &str = "data";

/// The state machine store: the shared state plus what Raft needs to know about it.
pub struct StateMachineStore {
    db: RaftDb,
    legacy: Option<RaftDb>,
    handle: StateHandle,
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, Node>,
    snapshots_built: u64,
    /// How far the local log is on disk; apply waits for it.
    durable: Option<Durable>,
}

/// Builds a snapshot from a copy of the state taken when the builder was made.
pub struct SnapshotBuilder {
    db: RaftDb,
    state: State,
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, Node>,
    snapshot_id: String,
}

impl StateMachineStore {
    /// Opens the state machine over the snapshot database `db`, restoring the state from the
    /// stored snapshot if there is one. `legacy` is the log's database, where snapshots were
    /// kept before they had a file of their own.
    pub fn open(db: RaftDb, legacy: Option<RaftDb>) -> Result<Self, StorageFailure> {
        let (state, last_applied, membership) = match load_snapshot(&db, legacy.as_ref())? {
            Some((meta, data)) => (
                serde_json::from_slice(&data)?,
                meta.last_log_id,
                meta.last_membership,
            ),
            None => (State::default(), None, StoredMembership::default()),
        };
        Ok(Self {
            db,
            legacy,
            handle: StateHandle::new(state),
            last_applied,
            membership,
            snapshots_built: 0,
            durable: None,
        })
    }

    /// Applies entries only once the local log is on disk up to them.
    pub fn wait_for_durable(mut self, durable: Durable) -> Self {
        self.durable = Some(durable);
        self
    }

    /// The shared handle readers use.
    pub fn handle(&self) -> StateHandle {
        self.handle.clone()
    }
}

type Stored = (SnapshotMeta<NodeId, Node>, Vec<u8>);

fn read_snapshot(db: &RaftDb) -> Result<Option<Stored>, StorageFailure> {
    let meta: Option<SnapshotMeta<NodeId, Node>> = db.get_json(SNAPSHOT, META_KEY)?;
    let data = db.get_bytes(SNAPSHOT, DATA_KEY)?;
    Ok(meta.zip(data))
}

/// The current snapshot: from `db`, or from `legacy` while `db` has none yet.
fn load_snapshot(db: &RaftDb, legacy: Option<&RaftDb>) -> Result<Option<Stored>, StorageFailure> {
    match read_snapshot(db)? {
        Some(s) => Ok(Some(s)),
        None => legacy.map_or(Ok(None), read_snapshot),
    }
}

fn persist_snapshot(
    db: &RaftDb,
    meta: &SnapshotMeta<NodeId, Node>,
    data: &[u8],
) -> Result<(), StorageFailure> {
    let txn = db.inner().begin_write()?;
    {
        let mut table = txn.open_table(SNAPSHOT)?;
        table.insert(META_KEY, serde_json::to_vec(meta)?.as_slice())?;
        table.insert(DATA_KEY, data)?;
    }
    txn.commit()?;
    Ok(())
}

fn snapshot_err(e: StorageFailure) -> StorageError<NodeId> {
    StorageIOError::write_snapshot(None, AnyError::new(&e)).into()
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let meta = SnapshotMeta {
            last_log_id: self.last_applied,
            last_membership: self.membership.clone(),
            snapshot_id: self.snapshot_id.clone(),
        };
        let db = self.db.clone();
        let state = std::mem::take(&mut self.state);
        let meta2 = meta.clone();
        let data = tokio::task::spawn_blocking(move || {
            let data = serde_json::to_vec(&state)?;
            persist_snapshot(&db, &meta2, &data)?;
            Ok::<_, StorageFailure>(data)
        })
        .await
        .map_err(|e| snapshot_err(StorageFailure::Task(e.to_string())))?
        .map_err(snapshot_err)?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, Node>), StorageError<NodeId>> {
        Ok((self.last_applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<CommandResponse>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let entries: Vec<Entry<TypeConfig>> = entries.into_iter().collect();
        if let (Some(durable), Some(last)) = (&mut self.durable, entries.last()) {
            durable
                .wait_for(last.log_id.index)
                .await
                .map_err(|e| StorageError::from(StorageIOError::apply(last.log_id, AnyError::error(e))))?;
        }
        let mut out = Vec::with_capacity(entries.len());
        let last = {
            let mut state = self.handle.write();
            for entry in entries {
                let index = entry.log_id.index;
                self.last_applied = Some(entry.log_id);
                let resp = match entry.payload {
                    EntryPayload::Normal(cmd) => {
                        let resp = state.apply(index, cmd);
                        self.handle.events().record(&mut state, index);
                        resp
                    }
                    EntryPayload::Blank => {
                        state.note_index(index);
                        CommandResponse {
                            index,
                            outcome: Outcome::Done,
                        }
                    }
                    EntryPayload::Membership(m) => {
                        self.membership = StoredMembership::new(Some(entry.log_id), m);
                        state.note_index(index);
                        CommandResponse {
                            index,
                            outcome: Outcome::Done,
                        }
                    }
                };
                out.push(resp);
            }
            state.index
        };
        self.handle.publish(last);
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.snapshots_built += 1;
        let last = self.last_applied.unwrap_or_default();
        SnapshotBuilder {
            db: self.db.clone(),
            state: self.handle.read().clone(),
            last_applied: self.last_applied,
            membership: self.membership.clone(),
            snapshot_id: format!("{}-{}-{}", last.leader_id.term, last.index, self.snapshots_built),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, Node>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let data = snapshot.into_inner();
        let db = self.db.clone();
        let meta2 = meta.clone();
        let (decoded, persisted) = tokio::task::spawn_blocking(move || {
            let decoded = serde_json::from_slice::<State>(&data);
            let persisted = match decoded {
                Ok(_) => persist_snapshot(&db, &meta2, &data),
                Err(_) => Ok(()),
            };
            (decoded, persisted)
        })
        .await
        .map_err(|e| snapshot_err(StorageFailure::Task(e.to_string())))?;
        let new_state = decoded
            .map_err(|e| StorageError::from(StorageIOError::read_snapshot(Some(meta.signature()), &e)))?;
        persisted.map_err(snapshot_err)?;
        let index = new_state.index;
        *self.handle.write() = new_state;
        self.last_applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        self.handle.publish(index);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        let read_err =
            |e: StorageFailure| StorageError::from(StorageIOError::read_snapshot(None, AnyError::new(&e)));
        let stored = load_snapshot(&self.db, self.legacy.as_ref()).map_err(read_err)?;
        Ok(stored.map(|(meta, data)| Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        }))
    }
}
