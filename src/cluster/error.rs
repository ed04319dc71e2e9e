//! Typed errors of the built-in cluster.

use thiserror::Error;

/// A failure of the node's local storage (redb or encoding).
#[derive(Debug, Error)]
pub enum StorageFailure {
    /// The database reported an error.
    #[error("raft database: {0}")]
    Db(#[from] redb::Error),
    /// A stored value could not be encoded or decoded.
    #[error("raft database encoding: {0}")]
    Encoding(#[from] serde_json::Error),
    /// A blocking storage task failed to run.
    #[error("raft storage task: {0}")]
    Task(String),
}

macro_rules! storage_from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StorageFailure {
            fn from(e: $t) -> Self {
                StorageFailure::Db(e.into())
            }
        }
    )*};
}
storage_from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// An error of the cluster runtime, as the HTTP layer and the agent see it.
#[derive(Debug, Error)]
pub enum ClusterError {
    /// Local storage failed.
    #[error(transparent)]
    Storage(#[from] StorageFailure),
    /// No leader could be reached within the retry window.
    #[error("No cluster leader")]
    NoLeader,
    /// Raft reported a fatal error or shut down.
    #[error("raft: {0}")]
    Raft(String),
    /// Forwarding a request to the leader failed.
    #[error("forwarding to the leader at {addr}: {message}")]
    Forward {
        /// The leader's address.
        addr: String,
        /// What went wrong.
        message: String,
    },
    /// A membership change was refused.
    #[error("membership change: {0}")]
    Membership(String),
    /// The agent could not start.
    #[error("agent: {0}")]
    Startup(String),
    /// An I/O error (binding, data directory).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
