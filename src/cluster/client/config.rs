//! What a client agent is configured with: identity, placement attributes, servers, volumes
//! and driver switches.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::sandbox_config::SandboxConfig;
use crate::cluster::transport::Transport;

/// A host volume the client offers to jobs (`client { host_volume "name" { ... } }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostVolume {
    /// Path on the host.
    pub path: PathBuf,
    /// Whether jobs may only mount it read-only.
    pub read_only: bool,
}

/// A client agent's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// Node name (unique in the cluster).
    pub node_name: String,
    /// Directory for allocation directories and persisted task handles.
    pub data_dir: PathBuf,
    /// Servers' HTTP addresses (`host:port`); the client uses the first that answers.
    pub servers: Vec<String>,
    /// This client's own HTTP address (`host:port`), where servers and users reach its logs.
    pub http_addr: String,
    /// Datacenter.
    pub datacenter: String,
    /// Region.
    pub region: String,
    /// Node class.
    pub node_class: String,
    /// Node pool.
    pub node_pool: String,
    /// Node metadata (`meta.*`).
    pub meta: BTreeMap<String, String>,
    /// Host volumes by name.
    pub host_volumes: BTreeMap<String, HostVolume>,
    /// Whether the `raw_exec` driver runs tasks (off by default, as in Nomad).
    pub raw_exec_enabled: bool,
    /// Whether docker tasks may ask for `privileged = true`.
    pub docker_allow_privileged: bool,
    /// The node's CPU in MHz when set (`client { cpu_total_compute }`), else fingerprinted.
    pub cpu_total_compute: Option<u64>,
    /// The node's memory in MB when set (`client { memory_total_mb }`), else fingerprinted.
    pub memory_total_mb: Option<u64>,
    /// What tasks may do beyond their sandbox (chroot_env, user denylist, docker policy,
    /// artifact limits).
    pub sandbox: SandboxConfig,
    /// How the client calls the servers' RPC listeners (plain or mutual TLS).
    pub rpc_transport: Transport,
    /// How the client calls other agents' HTTP APIs (plain or TLS).
    pub http_transport: Transport,
}

impl ClientConfig {
    /// A configuration with Nomad's defaults for everything but the name, data dir and servers.
    pub fn new(node_name: &str, data_dir: PathBuf, servers: Vec<String>) -> Self {
        Self {
            node_name: node_name.into(),
            data_dir,
            servers,
            http_addr: String::new(),
            datacenter: "dc1".into(),
            region: "global".into(),
            node_class: String::new(),
            node_pool: "default".into(),
            meta: BTreeMap::new(),
            host_volumes: BTreeMap::new(),
            raw_exec_enabled: false,
            docker_allow_privileged: false,
            cpu_total_compute: None,
            memory_total_mb: None,
            sandbox: SandboxConfig::default(),
            rpc_transport: Transport::plain(),
            http_transport: Transport::plain(),
        }
    }

    /// Where allocation directories live.
    pub fn alloc_root(&self) -> PathBuf {
        self.data_dir.join("allocs")
    }

    /// Where the client keeps its own state (node ID, task handles).
    pub fn state_dir(&self) -> PathBuf {
        self.data_dir.join("client-state")
    }
}
