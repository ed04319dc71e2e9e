//! The per-node redb file: tables and the small blocking helpers the stores share.
//!
//! The log's file (`raft.redb`) holds the log (`log`: index → entry JSON) and the metadata
//! (`meta`: vote, committed, last purged log id); the snapshot's file (`snapshot.redb`) holds the
//! current snapshot (`snapshot`: meta JSON and data). Both have every table, so either can be
//! opened the same way. Every write transaction commits with redb's default durability, which
//! fsyncs before returning, unless it says otherwise (the log store's own non-durable writes).

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cluster::error::StorageFailure;

/// Log entries by index.
pub(crate) const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
/// Vote, committed and last purged log id, as JSON.
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// The current snapshot: `meta` (JSON) and `data` (bytes).
pub(crate) const SNAPSHOT: TableDefinition<&str, &[u8]> = TableDefinition::new("snapshot");

/// A node's Raft database.
#[derive(Clone)]
pub struct RaftDb {
    db: Arc<Database>,
}

impl RaftDb {
    /// Opens (or creates) `path` and makes sure every table exists.
    pub fn open(path: &Path) -> Result<Self, StorageFailure> {
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        txn.open_table(LOG)?;
        txn.open_table(META)?;
        txn.open_table(SNAPSHOT)?;
        txn.commit()?;
        Ok(Self { db: Arc::new(db) })
    }

    /// The underlying database.
    pub(crate) fn inner(&self) -> &Database {
        &self.db
    }

    /// Reads and decodes a JSON value from a `&str`-keyed table.
    pub(crate) fn get_json<T: DeserializeOwned>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        key: &str,
    ) -> Result<Option<T>, StorageFailure> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(table)?;
        match table.get(key)? {
            Some(v) => Ok(Some(serde_json::from_slice(v.value())?)),
            None => Ok(None),
        }
    }

    /// Reads raw bytes from a `&str`-keyed table.
    pub(crate) fn get_bytes(
        &self,
        table: TableDefinition<&str, &[u8]>,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StorageFailure> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(table)?;
        Ok(table.get(key)?.map(|v| v.value().to_vec()))
    }

    /// Durably writes JSON values into the `meta` table in one transaction.
    pub(crate) fn put_meta<T: Serialize>(&self, pairs: &[(&str, &T)]) -> Result<(), StorageFailure> {
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(META)?;
            for (k, v) in pairs {
                table.insert(*k, serde_json::to_vec(v)?.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }
}
