//! Why state could not be read, written or locked. Every variant names the file involved.

use std::path::PathBuf;

/// A state problem. None of them leaves a state file changed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing a file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`reading`, `writing`, ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a state revision this version understands the shape of.
    #[error("state file {path} is corrupt: {detail}; it was left as it is")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// The file was written by a newer `deploy`.
    #[error(
        "state file {path} has format_version {found}, newer than this deploy understands ({supported}); \
         upgrade deploy to read it (the file was left as it is)"
    )]
    NewerFormat {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: u64,
        /// The newest version this build reads.
        supported: u64,
    },
    /// Another process holds the lock.
    #[error("state {dir} is locked by {holder}; waited {waited}")]
    Locked {
        /// The state directory.
        dir: PathBuf,
        /// Who holds it (pid, host, command, since), as written in the lock file.
        holder: String,
        /// How long this process waited.
        waited: String,
    },
    /// A revision with this serial already exists; revisions are never overwritten.
    #[error("revision file {path} already exists; refusing to overwrite it")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// A revision asked for does not exist.
    #[error("no revision {serial} in {dir}")]
    NoRevision {
        /// The state directory.
        dir: PathBuf,
        /// The serial asked for.
        serial: u64,
    },
    /// The revision's lineage differs from the store's.
    #[error("revision {serial} belongs to lineage {found}, but the state in {dir} has lineage {expected}")]
    LineageMismatch {
        /// The state directory.
        dir: PathBuf,
        /// The serial.
        serial: u64,
        /// The store's lineage.
        expected: String,
        /// The revision's.
        found: String,
    },
    /// A revision holds sealed values and no identity was given to open them.
    #[error(
        "revision {serial} holds encrypted sensitive values; set DEPLOY_AGE_IDENTITY to an age identity \
         (or a file of them) to read it"
    )]
    NoIdentity {
        /// The revision's serial.
        serial: u64,
    },
    /// Encryption or decryption of a sensitive value failed.
    #[error("sensitive values: {0}")]
    Secret(String),
    /// The shared state's cluster could not be reached or refused a request.
    #[error("state in {location}: {detail}")]
    Remote {
        /// `cluster <address>` (and key prefix).
        location: String,
        /// What went wrong.
        detail: String,
    },
    /// The lock's lease in the cluster expired or was revoked while this command held it.
    #[error(
        "the state lock in {location} was lost (its lease expired or was revoked), so this command stopped \
         before writing more; run `deploy plan` to see what remains"
    )]
    LockLost {
        /// `cluster <address> key <prefix>`.
        location: String,
    },
    /// The operation cannot go ahead; the message says why and what to do.
    #[error("{0}")]
    Refused(String),
}
