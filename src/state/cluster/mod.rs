//! State shared by a team: a stack's revisions, journal and lock in the built-in cluster's
//! replicated KV (`stack { state { backend = "cluster" } }`).
//!
//! ```text
//!  <prefix>/rev-000001.json        a revision, the same bytes as a local file; created with
//!  <prefix>/rev-000002.json        cas=0, so of two writers of one serial the second is refused
//!  <prefix>/apply-journal.ndjson   while an apply runs; rewritten whole at each job's outcome
//!  <prefix>/lock                   who holds the lock, tied to a lease renewed at TTL/3
//! ```
//!
//! The prefix is `deploy/stacks/<stack>` unless the state block sets `prefix`. Sensitive values
//! are sealed before a revision is built, so they leave the machine age-encrypted exactly as
//! they are in local files. A holder that dies stops renewing: its lease expires, the cluster
//! deletes the lock key, and the next waiter takes it and recovers the journal. A holder that
//! loses its lease (a partition longer than the TTL) refuses every later write.

mod kv;
mod lock;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::error::StateError;
use super::journal::JOURNAL_FILE;
use super::lock::LockHolder;
use super::storage::{HeldLock, LockFence, StateStorage};
use super::store::revision_file_name;
use crate::api::ClientConfig;
use kv::{Kv, Put};

/// The lock's key under the prefix.
pub const LOCK_KEY: &str = "lock";

/// The default lease TTL of the lock.
pub const DEFAULT_LOCK_TTL: Duration = Duration::from_secs(15);

/// Longest prefix accepted.
const MAX_PREFIX: usize = 256;

/// A stack's state in the cluster's KV.
#[derive(Debug)]
pub struct ClusterStorage {
    kv: Arc<Kv>,
    prefix: String,
    dir: PathBuf,
    ttl: Duration,
    fence: LockFence,
}

/// The default prefix of a stack's keys.
pub fn default_prefix(stack: &str) -> String {
    format!("deploy/stacks/{stack}")
}

/// Checks a prefix: letters, digits, `-_.` and `/`-separated segments, none empty or `..`.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    let ok_chars = prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    let ok_segments = prefix.split('/').all(|s| !s.is_empty() && s != "." && s != "..");
    if prefix.is_empty() || prefix.len() > MAX_PREFIX || !ok_chars || !ok_segments {
        return Err(format!(
            "state prefix {prefix:?} is not valid: use up to {MAX_PREFIX} letters, digits, `-`, `_`, `.` in \
             `/`-separated segments (e.g. \"deploy/stacks/web\")"
        ));
    }
    Ok(())
}

impl ClusterStorage {
    /// The state under `prefix` in the cluster at `config`; `dir` is the stack's local state
    /// directory (where a local built-in cluster keeps its data), `ttl` the lock lease's.
    pub fn new(config: ClientConfig, prefix: &str, dir: &Path, ttl: Duration) -> Result<Self, StateError> {
        check_prefix(prefix).map_err(|detail| StateError::Remote {
            location: format!("cluster {}", config.address()),
            detail,
        })?;
        Ok(ClusterStorage {
            kv: Arc::new(Kv::new(config)?),
            prefix: prefix.trim_end_matches('/').to_string(),
            dir: dir.to_path_buf(),
            ttl,
            fence: LockFence::default(),
        })
    }

    fn key(&self, name: &str) -> String {
        format!("{}/{name}", self.prefix)
    }
}

fn serial_of(name: &str) -> Option<u64> {
    name.strip_prefix("rev-")?.strip_suffix(".json")?.parse().ok()
}

impl StateStorage for ClusterStorage {
    fn location(&self) -> String {
        format!("{} key {}", self.kv.location(), self.prefix)
    }

    fn dir(&self) -> &Path {
        &self.dir
    }

    fn revision_path(&self, serial: u64) -> PathBuf {
        PathBuf::from(format!(
            "{}:{}",
            self.kv.location(),
            self.key(&revision_file_name(serial))
        ))
    }

    fn serials(&self) -> Result<Vec<u64>, StateError> {
        let under = format!("{}/", self.prefix);
        Ok(self
            .kv
            .list(&under)?
            .iter()
            .filter_map(|e| e.key.strip_prefix(&under))
            .filter_map(serial_of)
            .collect())
    }

    fn read(&self, serial: u64) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self
            .kv
            .get(&self.key(&revision_file_name(serial)))?
            .map(|e| e.value.into_bytes()))
    }

    fn create(&self, serial: u64, bytes: &[u8]) -> Result<(), StateError> {
        self.fence.check(|| self.location())?;
        let key = self.key(&revision_file_name(serial));
        let value = String::from_utf8_lossy(bytes).into_owned();
        match self.kv.put(&key, value, Some(0), None)? {
            Put::Written => Ok(()),
            Put::Conflict(_) => Err(StateError::Exists {
                path: self.revision_path(serial),
            }),
        }
    }

    fn journal(&self) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self
            .kv
            .get(&self.key(JOURNAL_FILE))?
            .map(|e| e.value.into_bytes()))
    }

    fn write_journal(&self, bytes: &[u8]) -> Result<(), StateError> {
        self.fence.check(|| self.location())?;
        let value = String::from_utf8_lossy(bytes).into_owned();
        match self.kv.put(&self.key(JOURNAL_FILE), value, None, None)? {
            Put::Written => Ok(()),
            Put::Conflict(_) => Err(StateError::Remote {
                location: self.location(),
                detail: "the journal write was refused".into(),
            }),
        }
    }

    fn remove_journal(&self) -> Result<(), StateError> {
        self.fence.check(|| self.location())?;
        self.kv.delete(&self.key(JOURNAL_FILE))
    }

    fn lock(&self, holder: &LockHolder, timeout: Duration) -> Result<Box<dyn HeldLock>, StateError> {
        self.fence.reset();
        let held = lock::ClusterLock::acquire(
            self.kv.clone(),
            &self.key(LOCK_KEY),
            &self.location(),
            holder,
            (self.ttl, timeout),
            self.fence.clone(),
        )?;
        Ok(Box::new(held))
    }

    fn is_local(&self) -> bool {
        false
    }
}
