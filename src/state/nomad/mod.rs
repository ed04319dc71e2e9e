//! State shared on real Nomad (>= 1.7): a stack's revisions, journal and lock in Nomad
//! Variables (`stack { state { backend = "nomad" } }`), reached with the stack's backend
//! connection (address, token, namespace, TLS).
//!
//! ```text
//!  <prefix>/rev-000001      a revision, the same bytes as a local file, created with cas=0
//!  <prefix>/rev-000001/<set>/<n>   its chunks past the first 60 KiB (see vars.rs)
//!  <prefix>/apply-journal   while an apply runs; rewritten whole at each job's outcome
//!  <prefix>/lock            Nomad's variable lock; its items name the holder
//! ```
//!
//! The prefix is `deploy/stacks/<stack>` unless the state block sets `prefix` (Nomad's path
//! characters only: letters, digits, `-`, `_`, `~`, `/`). Sensitive values are sealed before a
//! revision is built, so they reach Nomad age-encrypted, as in local files (and Nomad encrypts
//! every variable at rest besides). A holder that loses its lock (Nomad refuses a renewal, or
//! none succeeded for a TTL) refuses every later write.

mod lock;
mod vars;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::error::StateError;
use super::lock::LockHolder;
use super::remote::Remote;
use super::storage::{HeldLock, LockFence, StateStorage};
use super::store::revision_file_name;
use crate::api::ClientConfig;
pub use lock::LockTimes;
use vars::Put;

/// The lock variable's name under the prefix.
pub const NOMAD_LOCK: &str = "lock";
/// The journal variable's name under the prefix.
pub const NOMAD_JOURNAL: &str = "apply-journal";

/// Longest prefix accepted: Nomad's paths are at most 128 bytes, and a chunk's path adds
/// about 40 to the prefix.
const MAX_PREFIX: usize = 80;

/// A stack's state in Nomad Variables.
#[derive(Debug)]
pub struct NomadStorage {
    remote: Arc<Remote>,
    prefix: String,
    dir: PathBuf,
    times: LockTimes,
    fence: LockFence,
}

/// Checks a Nomad prefix: `/`-separated segments of Nomad's path characters.
pub fn check_nomad_prefix(prefix: &str) -> Result<(), String> {
    let ok_chars = prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '~' | '/'));
    let ok_segments = prefix.split('/').all(|s| !s.is_empty());
    if prefix.is_empty() || prefix.len() > MAX_PREFIX || !ok_chars || !ok_segments {
        return Err(format!(
            "state prefix {prefix:?} is not a valid Nomad variable path prefix: use up to {MAX_PREFIX} letters, \
             digits, `-`, `_`, `~` in `/`-separated segments (e.g. \"deploy/stacks/web\")"
        ));
    }
    Ok(())
}

/// The default Nomad prefix of a stack: `deploy/stacks/<stack>`, characters Nomad's paths do
/// not allow replaced by `-`.
pub fn default_nomad_prefix(stack: &str) -> String {
    let name: String = stack
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '~') {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("deploy/stacks/{name}")
}

/// The revision variable's name (`rev-000001`).
fn revision_name(serial: u64) -> String {
    revision_file_name(serial).trim_end_matches(".json").to_string()
}

fn serial_of(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("rev-")?;
    (digits.len() >= 6 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

impl NomadStorage {
    /// The state under `prefix` in the Nomad cluster at `config`; `dir` is the stack's local
    /// state directory.
    pub fn new(config: ClientConfig, prefix: &str, dir: &Path, times: LockTimes) -> Result<Self, StateError> {
        check_nomad_prefix(prefix).map_err(|detail| StateError::Remote {
            location: format!("nomad {}", config.address()),
            detail,
        })?;
        Ok(NomadStorage {
            remote: Arc::new(Remote::new(config, "nomad")?),
            prefix: prefix.trim_end_matches('/').to_string(),
            dir: dir.to_path_buf(),
            times,
            fence: LockFence::default(),
        })
    }

    fn path(&self, name: &str) -> String {
        format!("{}/{name}", self.prefix)
    }
}

impl StateStorage for NomadStorage {
    fn location(&self) -> String {
        format!("{} variables {}", self.remote.location(), self.prefix)
    }

    fn dir(&self) -> &Path {
        &self.dir
    }

    fn revision_path(&self, serial: u64) -> PathBuf {
        PathBuf::from(format!(
            "{}:{}",
            self.remote.location(),
            self.path(&revision_name(serial))
        ))
    }

    fn serials(&self) -> Result<Vec<u64>, StateError> {
        let under = format!("{}/", self.prefix);
        Ok(self
            .remote
            .var_list(&format!("{under}rev-"))?
            .iter()
            .filter_map(|p| p.strip_prefix(&under))
            .filter_map(serial_of)
            .collect())
    }

    fn read(&self, serial: u64) -> Result<Option<Vec<u8>>, StateError> {
        self.remote.blob_get(&self.path(&revision_name(serial)))
    }

    fn create(&self, serial: u64, bytes: &[u8]) -> Result<(), StateError> {
        self.fence.check(|| self.location())?;
        match self
            .remote
            .blob_put(&self.path(&revision_name(serial)), bytes, Some(0))?
        {
            Put::Written => Ok(()),
            Put::Conflict => Err(StateError::Exists {
                path: self.revision_path(serial),
            }),
        }
    }

    fn journal(&self) -> Result<Option<Vec<u8>>, StateError> {
        self.remote.blob_get(&self.path(NOMAD_JOURNAL))
    }

    fn write_journal(&self, bytes: &[u8]) -> Result<(), StateError> {
        self.fence.check(|| self.location())?;
        match self.remote.blob_put(&self.path(NOMAD_JOURNAL), bytes, None)? {
            Put::Written => Ok(()),
            Put::Conflict => Err(StateError::Remote {
                location: self.location(),
                detail: "the journal write was refused".into(),
            }),
        }
    }

    fn remove_journal(&self) -> Result<(), StateError> {
        self.fence.check(|| self.location())?;
        self.remote.blob_delete(&self.path(NOMAD_JOURNAL))
    }

    fn lock(&self, holder: &LockHolder, timeout: Duration) -> Result<Box<dyn HeldLock>, StateError> {
        self.fence.reset();
        let held = lock::NomadLock::acquire(
            self.remote.clone(),
            &self.path(NOMAD_LOCK),
            holder,
            (self.times, timeout),
            self.fence.clone(),
        )?;
        Ok(Box::new(held))
    }

    fn is_local(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_follow_nomad_paths() {
        assert!(check_nomad_prefix("deploy/stacks/web").is_ok());
        assert!(check_nomad_prefix("deploy/stacks/web.v2").is_err());
        assert!(check_nomad_prefix("deploy//web").is_err());
        assert!(check_nomad_prefix(&"a".repeat(81)).is_err());
        assert_eq!(default_nomad_prefix("web.v2 prod"), "deploy/stacks/web-v2-prod");
    }

    #[test]
    fn only_revision_heads_are_serials() {
        assert_eq!(serial_of("rev-000012"), Some(12));
        assert_eq!(serial_of("rev-000012/abcd/1"), None);
        assert_eq!(serial_of("rev-12"), None);
        assert_eq!(revision_name(3), "rev-000003");
    }
}
