//! The agent's settings ([`AgentConfig`]) with Nomad's defaults, and the checks that they
//! make sense together.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

use super::{DEFAULT_HTTP_PORT, hostname};
use crate::cluster::client::HostVolume;
use crate::cluster::http::parse::JobParser;
use crate::cluster::raft::Compaction;
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
    /// Address other servers reach this one at (`host:port`); derived from bind and port if unset.
    pub advertise_http: Option<String>,
    /// Run a server.
    pub server_enabled: bool,
    /// Servers expected before bootstrapping.
    pub bootstrap_expect: usize,
    /// Other servers' HTTP addresses.
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
    /// Heartbeat TTL the servers give clients (`server { heartbeat_ttl }` is ours; Nomad
    /// derives it from `min_heartbeat_ttl` and the cluster size).
    pub heartbeat_ttl: Duration,
    /// Require ACL tokens on API requests (`acl { enabled = true }`).
    pub acl_enabled: bool,
    /// Where to keep the management token this agent bootstraps itself before it serves (the
    /// local agent `deploy` starts); none: bootstrapping is left to `deploy acl bootstrap`.
    pub acl_bootstrap_token_file: Option<PathBuf>,
    /// The HCL parser behind `/v1/jobs/parse` (the binary passes its own front end; none:
    /// JSON jobs only).
    pub job_parser: Option<JobParser>,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            name: hostname(),
            data_dir: None,
            bind_addr: "127.0.0.1".into(),
            http_port: DEFAULT_HTTP_PORT,
            advertise_http: None,
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
            heartbeat_ttl: heartbeat::DEFAULT_TTL,
            acl_enabled: false,
            acl_bootstrap_token_file: None,
            job_parser: None,
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
    /// The address other servers reach this one at.
    pub fn advertise(&self, bound: SocketAddr) -> String {
        if let Some(a) = &self.advertise_http {
            return a.clone();
        }
        let host = match bound.ip() {
            ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
            ip => ip.to_string(),
        };
        format!("{host}:{}", bound.port())
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
        Ok(())
    }
}
