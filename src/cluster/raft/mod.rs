//! The Raft core: openraft's type configuration, redb-backed storage, and HTTP transport.
//!
//! ```text
//!  openraft::Raft ──► LogStore (redb: log + vote + committed, one fsync per appended batch)
//!        │       └──► StateMachineStore (fsm::State in memory; snapshots persisted in redb)
//!        └──────────► Network ──HTTP──► /v1/internal/raft/{append,vote,snapshot} on each peer
//! ```

pub mod db;
pub mod log_store;
pub mod network;
pub mod rpc;
pub mod state_machine;

use std::io::Cursor;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::cluster::fsm::{Command, CommandResponse};

pub use db::RaftDb;
pub use log_store::LogStore;
pub use network::Network;
pub use state_machine::StateMachineStore;

/// A server's Raft node ID.
pub type NodeId = u64;

/// A server as Raft knows it: its HTTP address (`host:port`).
pub type Node = openraft::BasicNode;

openraft::declare_raft_types!(
    /// openraft type configuration of the built-in cluster.
    pub TypeConfig:
        D = Command,
        R = CommandResponse,
        NodeId = NodeId,
        Node = Node,
        SnapshotData = Cursor<Vec<u8>>,
);

/// The Raft handle of the built-in cluster.
pub type ClusterRaft = openraft::Raft<TypeConfig>;

/// Leader heartbeat interval, tuned for loopback and LAN.
pub const HEARTBEAT: Duration = Duration::from_millis(30);

/// Election timeout range. openraft waits the leader lease (the range's maximum) plus a
/// random timeout from the range after the last leader contact before campaigning, so a dead
/// leader is replaced after 180 to 240 ms, well above the heartbeat interval.
pub const ELECTION_TIMEOUT: (Duration, Duration) = (Duration::from_millis(60), Duration::from_millis(120));

/// Default: a snapshot is built after this many log entries since the last one
/// (Nomad's `raft_snapshot_threshold`).
pub const SNAPSHOT_THRESHOLD: u64 = 1024;

/// Default: log entries kept behind a snapshot for slow followers (Nomad's `raft_trailing_logs`).
pub const TRAILING_LOGS: u64 = 1024;

/// Snapshot and log retention settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compaction {
    /// Entries since the last snapshot that trigger a new one.
    pub snapshot_threshold: u64,
    /// Entries kept in the log behind the snapshot.
    pub trailing_logs: u64,
}

impl Default for Compaction {
    fn default() -> Self {
        Self {
            snapshot_threshold: SNAPSHOT_THRESHOLD,
            trailing_logs: TRAILING_LOGS,
        }
    }
}

/// The openraft configuration used by every server.
pub fn raft_config(cluster_name: &str, compaction: Compaction) -> openraft::Config {
    openraft::Config {
        cluster_name: cluster_name.to_owned(),
        heartbeat_interval: HEARTBEAT.as_millis() as u64,
        election_timeout_min: ELECTION_TIMEOUT.0.as_millis() as u64,
        election_timeout_max: ELECTION_TIMEOUT.1.as_millis() as u64,
        install_snapshot_timeout: 2000,
        max_payload_entries: 256,
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(
            compaction.snapshot_threshold.max(1),
        ),
        max_in_snapshot_log_to_keep: compaction.trailing_logs,
        purge_batch_size: 64,
        ..Default::default()
    }
}

/// A stable node ID derived from a server's advertised address: the first 8 bytes of its
/// SHA-256, with the top bit cleared so it prints the same in every JSON reader.
pub fn node_id_for(addr: &str) -> NodeId {
    let digest = Sha256::digest(addr.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(bytes) >> 12
}
