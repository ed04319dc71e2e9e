//! The Raft core: openraft's type configuration, redb-backed storage, and HTTP transport.
//!
//! ```text
//!  openraft::Raft ──► LogStore (raft.redb: log + vote + committed, one fsync per appended batch)
//!        │       └──► StateMachineStore (fsm::State in memory; snapshots in snapshot.redb)
//!        └──────────► Network ──HTTP──► /v1/internal/raft/{append,vote,snapshot} on each peer's RPC listener
//!  leader_watch: on a follower, elects at once when the leader's port refuses connections
//! ```

pub mod db;
pub mod identity;
pub mod leader_watch;
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

/// A server as Raft knows it: its RPC address (`host:port`).
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

/// Leader heartbeat interval, tuned for loopback and LAN. openraft sends heartbeats on a tick of
/// 1.5 × this, and it is also the timeout of one AppendEntries RPC.
pub const HEARTBEAT: Duration = Duration::from_millis(50);

/// Election timeout range. Its maximum is also openraft's leader lease: a voter that heard from
/// the leader within it rejects vote requests. A follower campaigns on its own after the lease
/// plus its random timeout from the range without leader contact (280–360 ms); when the leader
/// process is gone (its port refuses connections) [`leader_watch`] starts the election as soon
/// as the lease has run out instead (~190 ms). Shorter settings (30 ms heartbeat, 60–120 ms)
/// lost leadership repeatedly when fsync and CPU were starved on a loaded 2-core machine.
pub const ELECTION_TIMEOUT: (Duration, Duration) = (Duration::from_millis(100), Duration::from_millis(180));

/// Default: a snapshot is built after this many log entries since the last one
/// (Nomad's `raft_snapshot_threshold`).
pub const SNAPSHOT_THRESHOLD: u64 = 8192;

/// Default: log entries kept behind a snapshot for slow followers (Nomad's `raft_trailing_logs`).
pub const TRAILING_LOGS: u64 = 10240;

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
/// `multiplier` scales the heartbeat and election timeouts (Nomad's `raft_multiplier`) for
/// slow disks or overloaded hosts, where an fsync can outlast a 150 ms vote round.
pub fn raft_config(cluster_name: &str, compaction: Compaction, multiplier: u32) -> openraft::Config {
    let m = u64::from(multiplier.max(1));
    openraft::Config {
        cluster_name: cluster_name.to_owned(),
        heartbeat_interval: HEARTBEAT.as_millis() as u64 * m,
        election_timeout_min: ELECTION_TIMEOUT.0.as_millis() as u64 * m,
        election_timeout_max: ELECTION_TIMEOUT.1.as_millis() as u64 * m,
        install_snapshot_timeout: 2000,
        // Entries per AppendEntries: one entry may carry a batch of writes (group commit), so
        // a catching-up follower's RPC must stay well inside its timeout (the heartbeat).
        max_payload_entries: 32,
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(compaction.snapshot_threshold.max(1)),
        max_in_snapshot_log_to_keep: compaction.trailing_logs,
        purge_batch_size: 64,
        ..Default::default()
    }
}

/// The failover watch's timing for `multiplier` (see [`raft_config`]).
pub fn watch_timing(multiplier: u32) -> leader_watch::Timing {
    let m = multiplier.max(1);
    leader_watch::Timing {
        heartbeat: HEARTBEAT * m,
        lease: ELECTION_TIMEOUT.1 * m,
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
