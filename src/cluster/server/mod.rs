//! A running cluster server: Raft over its redb file, the shared state, and the operations the
//! HTTP layer calls (write with leader forwarding, linearizable reads, membership).
//!
//! ```text
//!  ClusterNode::start(cfg) ─► redb file ─► LogStore + StateMachineStore ─► openraft::Raft
//!        ├── proposer: concurrent writes on the leader committed as one log entry
//!        ├── bootstrap task: initialise or join once peers answer
//!        ├── leader watch: on a follower, elect at once when the leader's port refuses
//!        ├── lease task: on the leader, propose expiry of leases past their time
//!        ├── scheduler worker: on the leader, plan pending evaluations
//!        ├── heartbeat tracker: on the leader, mark silent client nodes down
//!        ├── deployment watcher: on the leader, allocation health → deployment status
//!        ├── periodic launcher: on the leader, launch periodic jobs' children when due
//!        ├── drainer: on the leader, evaluate jobs with allocations on draining nodes
//!        └── garbage collector: on the leader, remove finished objects past their age
//! ```

mod bootstrap;
pub mod cluster_key;
pub mod deployment_watcher;
pub mod drainer;
pub mod endpoints;
pub mod eval_broker;
pub mod evals;
mod forward;
pub mod gc;
pub mod heartbeat;
mod leases;
mod membership;
pub mod node_watch;
pub mod periodic;
pub mod proposer;
pub mod sched_view;
pub mod scheduler_worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use openraft::ServerState;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::cluster::error::ClusterError;
use crate::cluster::fsm::StateHandle;
use crate::cluster::keyring::{Kek, Keyring};
use crate::cluster::raft::identity::server_id;
use crate::cluster::raft::rpc::LeaderContact;
use crate::cluster::raft::{
    ClusterRaft, Compaction, LogStore, Network, NodeId, RaftDb, StateMachineStore, leader_watch, raft_config,
    watch_timing,
};
use crate::cluster::transport::Transport;
use cluster_key::{CLUSTER_KEY_HEADER, ClusterKey};

pub use forward::{LocalReadIndex, LocalWrite};
pub use heartbeat::{Beat, Heartbeats};
pub use leases::now_millis;
pub use membership::{LocalChange, MemberRequest};

/// What a server needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Directory for this server's files (`raft.redb`: log and vote; `snapshot.redb`).
    pub data_dir: PathBuf,
    /// The address other servers and clients reach this server's RPC listener at
    /// (`host:port`); also its Raft address.
    pub advertise: String,
    /// Other servers' RPC addresses (`host:port`), for bootstrap and joining.
    pub peers: Vec<String>,
    /// How many servers must be reachable before the cluster is initialised (1 = alone).
    pub bootstrap_expect: usize,
    /// Raft cluster name (the region).
    pub cluster_name: String,
    /// Snapshot and log retention.
    pub compaction: Compaction,
    /// Scale of the Raft timeouts (1 = tuned for loopback and LAN).
    pub raft_multiplier: u32,
    /// A client silent for this long is declared down and its allocations replaced.
    pub heartbeat_ttl: Duration,
    /// The cluster secret, sent on every call to another server and required on every RPC.
    pub cluster_key: ClusterKey,
    /// The keyring's key-encryption key (base64 of 32 bytes); `None` = `keyring.kek` in the
    /// data directory, created on first start.
    pub keyring_kek: Option<String>,
    /// Garbage collection interval and thresholds.
    pub gc: gc::GcConfig,
    /// How this server calls other servers' RPC listeners (plain or mutual TLS).
    pub rpc_transport: Transport,
    /// Under `tls { rpc = true, verify_server_hostname = true }`: the region whose
    /// `server.<region>.nomad` / `client.<region>.nomad` certificate names RPC callers must
    /// present ([`crate::cluster::rpc::auth`]).
    pub verify_peer_region: Option<String>,
}

/// What a server says about itself to peers (`GET /v1/internal/cluster/info`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerInfo {
    /// Raft node ID.
    pub id: NodeId,
    /// Advertised RPC address.
    pub addr: String,
    /// Whether this server has Raft state (is or was part of a cluster).
    pub initialized: bool,
    /// The leader's address, if known.
    pub leader: Option<String>,
}

/// Raft figures for `/v1/agent/self` (`stats.raft`).
#[derive(Debug, Clone, Serialize)]
pub struct RaftStats {
    /// Follower, Candidate, Leader or Learner.
    pub state: String,
    /// Current term.
    pub term: u64,
    /// Last log index.
    pub last_log_index: u64,
    /// Last applied index.
    pub applied_index: u64,
    /// Index of the last snapshot.
    pub snapshot_index: u64,
    /// Number of voters.
    pub num_peers: usize,
}

/// A running server.
pub struct ClusterNode {
    id: NodeId,
    config: ServerConfig,
    raft: ClusterRaft,
    proposer: proposer::Proposer,
    state: StateHandle,
    http: reqwest::Client,
    contact: LeaderContact,
    heartbeats: Heartbeats,
    node_watch: node_watch::NodeWatch,
    keyring: Keyring,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

impl ClusterNode {
    /// Opens storage, starts Raft and the background tasks (bootstrap, lease expiry).
    pub async fn start(config: ServerConfig) -> Result<Arc<Self>, ClusterError> {
        std::fs::create_dir_all(&config.data_dir)?;
        let kek = Kek::load(config.keyring_kek.as_deref(), &config.data_dir)
            .map_err(|e| ClusterError::Startup(e.to_string()))?;
        let id = server_id(&config.data_dir, &config.advertise)?;
        let db = RaftDb::open(&config.data_dir.join("raft.redb"))?;
        let snapshots = RaftDb::open(&config.data_dir.join("snapshot.redb"))?;
        let log = LogStore::new(db.clone(), id)?;
        let sm = StateMachineStore::open(snapshots, Some(db))?.wait_for_durable(log.durable());
        let state = sm.handle();
        let mut key_header = reqwest::header::HeaderMap::new();
        let key = reqwest::header::HeaderValue::from_str(config.cluster_key.as_str())
            .map_err(|e| ClusterError::Startup(format!("cluster key: {e}")))?;
        key_header.insert(CLUSTER_KEY_HEADER, key);
        // Every call this client makes goes to another server's RPC listener, so each carries
        // the cluster key. (Calls to client agents use a client of their own.)
        let http = config
            .rpc_transport
            .client_builder()
            .default_headers(key_header)
            .connect_timeout(config.rpc_transport.connect_timeout(Duration::from_millis(200)))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| ClusterError::Startup(format!("http client: {e}")))?;
        let raft_cfg = raft_config(&config.cluster_name, config.compaction, config.raft_multiplier)
            .validate()
            .map_err(|e| ClusterError::Startup(format!("raft config: {e}")))?;
        let raft = ClusterRaft::new(
            id,
            Arc::new(raft_cfg),
            Network::new(http.clone(), config.rpc_transport.clone(), log.durable()),
            log,
            sm,
        )
        .await
        .map_err(|e| ClusterError::Raft(e.to_string()))?;
        let (proposer, proposer_task) = proposer::Proposer::start(raft.clone());
        let node = Arc::new(Self {
            id,
            config,
            raft,
            proposer,
            state,
            http,
            contact: LeaderContact::default(),
            heartbeats: Heartbeats::default(),
            node_watch: node_watch::NodeWatch::default(),
            keyring: Keyring::new(kek),
            tasks: Default::default(),
        });
        let tasks = vec![
            proposer_task,
            tokio::spawn(bootstrap::run(Arc::clone(&node))),
            tokio::spawn(leader_watch::run(
                node.raft.clone(),
                node.id,
                node.contact.clone(),
                watch_timing(node.config.raft_multiplier),
            )),
            tokio::spawn(leases::run(Arc::clone(&node))),
            tokio::spawn(scheduler_worker::run(Arc::clone(&node))),
            tokio::spawn(node_watch::run(Arc::clone(&node))),
            tokio::spawn(heartbeat::run(Arc::clone(&node))),
            tokio::spawn(deployment_watcher::run(Arc::clone(&node))),
            tokio::spawn(periodic::run(Arc::clone(&node))),
            tokio::spawn(drainer::run(Arc::clone(&node))),
            tokio::spawn(gc::run(Arc::clone(&node))),
        ];
        *node.tasks.lock().unwrap_or_else(|e| e.into_inner()) = tasks;
        Ok(node)
    }

    /// This server's Raft node ID.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// This server's advertised RPC address.
    pub fn addr(&self) -> &str {
        &self.config.advertise
    }

    /// This server's data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.config.data_dir
    }

    /// The Raft handle.
    pub fn raft(&self) -> &ClusterRaft {
        &self.raft
    }

    /// The local replicated state (reads here may lag the leader; see [`Self::read_barrier`]).
    pub fn state(&self) -> &StateHandle {
        &self.state
    }

    /// This server's keyring (its KEK and the root keys unwrapped so far).
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The HTTP client servers use to reach other servers' RPC listeners (it sends the
    /// cluster key: never use it to reach anything else).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The URL of `path` on the RPC listener at `addr` (`https` under `tls { rpc = true }`).
    pub fn rpc_url(&self, addr: &str, path: &str) -> String {
        self.config.rpc_transport.url(addr, path)
    }

    /// The region whose certificate names RPC callers must present, when
    /// `verify_server_hostname` is on.
    pub fn verify_peer_region(&self) -> Option<&str> {
        self.config.verify_peer_region.as_deref()
    }

    /// Last contact from the leader, for the internal routes to update.
    pub fn leader_contact(&self) -> &LeaderContact {
        &self.contact
    }

    /// The leader's RPC address, if one is known.
    pub fn leader_addr(&self) -> Option<String> {
        let m = self.raft.metrics().borrow().clone();
        let leader = m.current_leader?;
        m.membership_config
            .membership()
            .get_node(&leader)
            .map(|n| n.addr.clone())
    }

    /// Whether this server is the leader.
    pub fn is_leader(&self) -> bool {
        self.raft.metrics().borrow().state == ServerState::Leader
    }

    /// Milliseconds since this server last heard from the leader (0 on the leader).
    pub fn last_contact_millis(&self) -> u64 {
        if self.is_leader() {
            return 0;
        }
        self.contact.since().map_or(0, |d| d.as_millis() as u64)
    }

    /// Voting servers' RPC addresses, sorted.
    pub fn peers(&self) -> Vec<String> {
        let m = self.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        let mut out: Vec<String> = membership
            .voter_ids()
            .filter_map(|id| membership.get_node(&id).map(|n| n.addr.clone()))
            .collect();
        out.sort();
        out
    }

    /// Voting servers as (node ID, address).
    pub fn voters(&self) -> Vec<(NodeId, String)> {
        let m = self.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        membership
            .voter_ids()
            .filter_map(|id| membership.get_node(&id).map(|n| (id, n.addr.clone())))
            .collect()
    }

    /// What this server tells peers about itself.
    pub async fn info(&self) -> ServerInfo {
        ServerInfo {
            id: self.id,
            addr: self.config.advertise.clone(),
            initialized: self.raft.is_initialized().await.unwrap_or(false),
            leader: self.leader_addr(),
        }
    }

    /// Raft figures for `/v1/agent/self`.
    pub fn raft_stats(&self) -> RaftStats {
        let m = self.raft.metrics().borrow().clone();
        RaftStats {
            state: format!("{:?}", m.state),
            term: m.current_term,
            last_log_index: m.last_log_index.unwrap_or(0),
            applied_index: m.last_applied.map_or(0, |l| l.index),
            snapshot_index: m.snapshot.map_or(0, |l| l.index),
            num_peers: m.membership_config.membership().voter_ids().count(),
        }
    }

    /// The cluster secret.
    pub fn cluster_key(&self) -> &ClusterKey {
        &self.config.cluster_key
    }

    /// Stops the background tasks and Raft.
    pub async fn shutdown(&self) {
        for t in self.tasks.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            t.abort();
        }
        let _ = self.raft.shutdown().await;
    }
}
