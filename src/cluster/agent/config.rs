//! The agent's settings ([`AgentConfig`]) with Nomad's defaults, and the checks that they
//! make sense together.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

use super::{AgentLimits, AgentTls, DEFAULT_HTTP_PORT, hostname};
use crate::cluster::client::gc::ClientGcConfig;
use crate::cluster::client::{HostVolume, SandboxConfig};
use crate::cluster::http::parse::JobParser;
use crate::cluster::raft::Compaction;
use crate::cluster::server::gc::GcConfig;
use crate::cluster::server::heartbeat;

/// The agent's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    /// Node name (defaults to the host name).
    pub name: String,
    /// Data directory; `None` with `dev` means a temporary directory.
    pub data_dir: Option<PathBuf>,
    /// Address to bind the HTTP API to.
    pub bind_addr: String,
    /// HTTP port (0 = any free port).
    pub http_port: u16,
    /// Address API clients and other agents reach this one's HTTP API at (`host:port`);
    /// derived from bind and port if unset.
    pub advertise_http: Option<String>,
    /// RPC port (servers and clients to servers); `None`: the HTTP port + 1 (4647 by default,
    /// as Nomad's), or any free port for `-dev` or when the HTTP port is 0.
    pub rpc_port: Option<u16>,
    /// Address other servers and clients reach this one's RPC listener at (`host:port`);
    /// derived from bind and the RPC port if unset.
    pub advertise_rpc: Option<String>,
    /// The cluster secret every server holds (`server { encrypt }`, `-encrypt`); `None`: the
    /// key kept in the data directory, generated there by a server that bootstraps alone.
    pub encrypt: Option<String>,
    /// Run a server.
    pub server_enabled: bool,
    /// Servers expected before bootstrapping.
    pub bootstrap_expect: usize,
    /// Other servers' RPC addresses.
    pub join: Vec<String>,
    /// Datacenter.
    pub datacenter: String,
    /// Region (also the Raft cluster name).
    pub region: String,
    /// Client node metadata.
    pub node_meta: BTreeMap<String, String>,
    /// Run a client.
    pub client_enabled: bool,
    /// Development mode: one server and client, bootstrap 1, temporary data.
    pub dev: bool,
    /// Raft snapshot threshold and trailing logs (`server { raft_snapshot_threshold,
    /// raft_trailing_logs }`).
    pub raft_compaction: Compaction,
    /// Raft timing scale (`server { raft_multiplier }`, default 1).
    pub raft_multiplier: u32,
    /// Servers a client-only agent joins (`client { servers = [...] }`).
    pub servers: Vec<String>,
    /// Client node class.
    pub node_class: String,
    /// Client node pool.
    pub node_pool: String,
    /// Client host volumes.
    pub host_volumes: BTreeMap<String, HostVolume>,
    /// Whether the client's `raw_exec` driver runs tasks (`-dev` turns it on, as Nomad's).
    pub raw_exec_enabled: bool,
    /// Whether docker tasks may be privileged.
    pub docker_allow_privileged: bool,
    /// The client's CPU in MHz, over the fingerprint (`client { cpu_total_compute }`).
    pub cpu_total_compute: Option<u64>,
    /// The client's memory in MB, over the fingerprint (`client { memory_total_mb }`).
    pub memory_total_mb: Option<u64>,
    /// The client's sandbox settings (`client { chroot_env, options, artifact }`,
    /// `plugin "docker" { config { ... } }`).
    pub client_sandbox: SandboxConfig,
    /// Heartbeat TTL the servers give clients (`server { heartbeat_ttl }` is ours; Nomad
    /// derives it from `min_heartbeat_ttl` and the cluster size).
    pub heartbeat_ttl: Duration,
    /// Server garbage collection (`server { job_gc_interval, *_gc_threshold }`).
    pub server_gc: GcConfig,
    /// Client garbage collection (`client { gc_interval, gc_max_allocs,
    /// gc_disk_usage_threshold }`).
    pub client_gc: ClientGcConfig,
    /// Require ACL tokens on API requests (`acl { enabled = true }`).
    pub acl_enabled: bool,
    /// Where to keep the management token this agent bootstraps itself before it serves (the
    /// local agent `deploy` starts); none: bootstrapping is left to `deploy acl bootstrap`.
    pub acl_bootstrap_token_file: Option<PathBuf>,
    /// The HCL parser behind `/v1/jobs/parse` (the binary passes its own front end; none:
    /// JSON jobs only).
    pub job_parser: Option<JobParser>,
    /// The keyring's key-encryption key, base64 (`server { keyring_kek }`); every server of a
    /// cluster needs the same one. Unset: `keyring.kek` in the server's data directory.
    pub keyring_kek: Option<String>,
    /// The `tls {}` block: HTTPS on the API, mutual TLS on RPC.
    pub tls: AgentTls,
    /// The `limits {}` block: connections per listener and their timeouts.
    pub limits: AgentLimits,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            name: hostname(),
            data_dir: None,
            bind_addr: "127.0.0.1".into(),
            http_port: DEFAULT_HTTP_PORT,
            advertise_http: None,
            rpc_port: None,
            advertise_rpc: None,
            encrypt: None,
            server_enabled: false,
            bootstrap_expect: 1,
            join: Vec::new(),
            datacenter: "dc1".into(),
            region: "global".into(),
            node_meta: BTreeMap::new(),
            client_enabled: false,
            dev: false,
            raft_compaction: Compaction::default(),
            raft_multiplier: 1,
            servers: Vec::new(),
            node_class: String::new(),
            node_pool: "default".into(),
            host_volumes: BTreeMap::new(),
            raw_exec_enabled: false,
            docker_allow_privileged: false,
            cpu_total_compute: None,
            memory_total_mb: None,
            client_sandbox: SandboxConfig::default(),
            heartbeat_ttl: heartbeat::DEFAULT_TTL,
            server_gc: GcConfig::default(),
            client_gc: ClientGcConfig::default(),
            acl_enabled: false,
            acl_bootstrap_token_file: None,
            job_parser: None,
            keyring_kek: None,
            tls: AgentTls::default(),
            limits: AgentLimits::default(),
        }
    }
}

/// Reading an agent configuration failed.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid agent HCL.
    #[error("parsing {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: hcl::Error,
    },

    /// The settings contradict each other.
    #[error("invalid agent configuration: {0}")]
    Invalid(String),
}

impl AgentConfig {
    /// The address API clients and other agents reach this one's HTTP API at.
    pub fn advertise(&self, bound: SocketAddr) -> String {
        self.advertise_http.clone().unwrap_or_else(|| reachable(bound))
    }

    /// The address other servers and clients reach this one's RPC listener at.
    pub fn advertise_rpc(&self, bound: SocketAddr) -> String {
        self.advertise_rpc.clone().unwrap_or_else(|| reachable(bound))
    }

    /// The RPC port to bind: as configured, else any free port for `-dev` (its client is in
    /// the same process) or when the HTTP port is 0, else the HTTP port + 1 (4647).
    pub fn rpc_port(&self) -> u16 {
        match (self.rpc_port, self.http_port) {
            (Some(p), _) => p,
            (None, 0) => 0,
            (None, _) if self.dev => 0,
            (None, http) => http.saturating_add(1),
        }
    }

    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if !self.server_enabled && !self.client_enabled {
            return Err(ConfigError::Invalid(
                "enable the server, the client, or both (-server, -client, -dev)".into(),
            ));
        }
        if !self.server_enabled && self.servers.is_empty() {
            return Err(ConfigError::Invalid(
                "a client-only agent needs servers to join (-servers ADDR)".into(),
            ));
        }
        if self.data_dir.is_none() && !self.dev {
            return Err(ConfigError::Invalid(
                "data_dir is required outside -dev mode".into(),
            ));
        }
        if self.acl_bootstrap_token_file.is_some() && !(self.acl_enabled && self.server_enabled) {
            return Err(ConfigError::Invalid(
                "-acl-bootstrap-token-file needs a server with ACLs enabled (-acl-enabled)".into(),
            ));
        }
        self.tls.check()
    }
}

/// `bound` as others reach it: an unspecified bind address means loopback.
fn reachable(bound: SocketAddr) -> String {
    let host = match bound.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        ip => ip.to_string(),
    };
    format!("{host}:{}", bound.port())
}
