//! Where a stack's state lives: the [`StateStorage`] trait (revisions, the apply journal, the
//! lock), and its local implementation, a directory of files.
//!
//! ```text
//!  StateStore ──► dyn StateStorage ─┬─ LocalStorage    state/<stack>/rev-000001.json, lock, journal
//!                                   ├─ ClusterStorage  deploy/stacks/<stack>/... in the cluster's KV
//!                                   └─ NomadStorage    deploy/stacks/<stack>/... in Nomad Variables
//! ```
//!
//! Storages move bytes; what the bytes mean (format versions, lineage, serials) is decided
//! once, in [`super::StateStore`], so both read and refuse the same way.

use std::fmt::Debug;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::error::StateError;
use super::journal::JOURNAL_FILE;
use super::lock::{LockHolder, StateLock};
use super::store::{revision_file_name, write_atomic};

/// A held state lock, whichever storage gave it; released on drop.
pub trait HeldLock: Debug + Send + Sync {}

/// Storage of one stack's state.
pub trait StateStorage: Debug + Send + Sync {
    /// Where the state is, for messages (a directory, or `cluster <address> key <prefix>`).
    fn location(&self) -> String;
    /// The local directory of this stack's state (the local built-in cluster keeps its data
    /// beside it, whatever the storage).
    fn dir(&self) -> &Path;
    /// The name a revision goes by in messages.
    fn revision_path(&self, serial: u64) -> PathBuf;
    /// Serials of the revisions present, in no particular order.
    fn serials(&self) -> Result<Vec<u64>, StateError>;
    /// A revision's bytes; `None` when there is none with this serial.
    fn read(&self, serial: u64) -> Result<Option<Vec<u8>>, StateError>;
    /// Stores a new revision; one already there is never replaced ([`StateError::Exists`]).
    fn create(&self, serial: u64, bytes: &[u8]) -> Result<(), StateError>;
    /// The apply journal's bytes, if there is one.
    fn journal(&self) -> Result<Option<Vec<u8>>, StateError>;
    /// Replaces the whole journal.
    fn write_journal(&self, bytes: &[u8]) -> Result<(), StateError>;
    /// Removes the journal; one already gone is fine.
    fn remove_journal(&self) -> Result<(), StateError>;
    /// Takes the state lock, waiting up to `timeout` (zero: try once).
    fn lock(&self, holder: &LockHolder, timeout: Duration) -> Result<Box<dyn HeldLock>, StateError>;
    /// True for a local directory (the journal is then appended to in place).
    fn is_local(&self) -> bool;
}

impl HeldLock for StateLock {}

/// Whether a shared store's lock was lost: set by the lock's renewer, checked before every
/// write, so a holder that lost its lock stops at its next write.
#[derive(Clone, Debug, Default)]
pub struct LockFence(Arc<AtomicBool>);

impl LockFence {
    /// Refuses a write once the lock was lost (`location` names the store).
    pub fn check(&self, location: impl FnOnce() -> String) -> Result<(), StateError> {
        if self.0.load(Ordering::SeqCst) {
            return Err(StateError::LockLost { location: location() });
        }
        Ok(())
    }

    /// A new lock is held.
    pub fn reset(&self) {
        self.0.store(false, Ordering::SeqCst);
    }

    /// The lock is lost.
    pub fn set_lost(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A local state directory.
#[derive(Clone, Debug)]
pub struct LocalStorage {
    dir: PathBuf,
}

fn parse_serial(name: &str) -> Option<u64> {
    name.strip_prefix("rev-")?.strip_suffix(".json")?.parse().ok()
}

impl LocalStorage {
    /// The storage at `dir` (created on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LocalStorage { dir: dir.into() }
    }
}

impl StateStorage for LocalStorage {
    fn location(&self) -> String {
        self.dir.display().to_string()
    }

    fn dir(&self) -> &Path {
        &self.dir
    }

    fn revision_path(&self, serial: u64) -> PathBuf {
        self.dir.join(revision_file_name(serial))
    }

    fn serials(&self) -> Result<Vec<u64>, StateError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(StateError::Io {
                    action: "listing",
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut serials = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| StateError::Io {
                action: "listing",
                path: self.dir.clone(),
                source,
            })?;
            if let Some(s) = entry.file_name().to_str().and_then(parse_serial) {
                serials.push(s);
            }
        }
        Ok(serials)
    }

    fn read(&self, serial: u64) -> Result<Option<Vec<u8>>, StateError> {
        let path = self.revision_path(serial);
        match fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Io {
                action: "reading",
                path,
                source,
            }),
        }
    }

    fn create(&self, serial: u64, bytes: &[u8]) -> Result<(), StateError> {
        let path = self.revision_path(serial);
        if path.exists() {
            return Err(StateError::Exists { path });
        }
        fs::create_dir_all(&self.dir).map_err(|source| StateError::Io {
            action: "creating",
            path: self.dir.clone(),
            source,
        })?;
        write_atomic(&path, bytes)
    }

    fn journal(&self) -> Result<Option<Vec<u8>>, StateError> {
        let path = self.dir.join(JOURNAL_FILE);
        match fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Io {
                action: "reading",
                path,
                source,
            }),
        }
    }

    fn write_journal(&self, bytes: &[u8]) -> Result<(), StateError> {
        fs::create_dir_all(&self.dir).map_err(|source| StateError::Io {
            action: "creating",
            path: self.dir.clone(),
            source,
        })?;
        let path = self.dir.join(JOURNAL_FILE);
        write_atomic(&path, bytes)
    }

    fn remove_journal(&self) -> Result<(), StateError> {
        let path = self.dir.join(JOURNAL_FILE);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StateError::Io {
                action: "removing",
                path,
                source,
            }),
        }
    }

    fn lock(&self, holder: &LockHolder, timeout: Duration) -> Result<Box<dyn HeldLock>, StateError> {
        Ok(Box::new(StateLock::acquire(&self.dir, holder, timeout)?))
    }

    fn is_local(&self) -> bool {
        true
    }
}
