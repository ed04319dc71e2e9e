//! `deploy agent`: configuration (flags and Nomad-style HCL files) and the agent process.
//!
//! ```text
//!  AgentArgs (flags) ─┐
//!  -config FILE.hcl ──┴─► AgentConfig ─► run_agent: ClusterNode and/or Client + HTTP until SIGINT/SIGTERM
//! ```
//!
//! Peer addresses (`-join`, `server_join { retry_join }`) are the other servers' HTTP
//! addresses (`host:port`, port 4646 when omitted): the cluster speaks Raft over its HTTP API.

mod args;
mod run;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use crate::cluster::client::{HostVolume, SandboxConfig};
use crate::cluster::http::query::parse_duration;
use crate::cluster::raft::Compaction;
use crate::cluster::server::heartbeat;

pub use args::AgentArgs;
pub use run::run_agent;

/// Nomad's default HTTP port.
pub const DEFAULT_HTTP_PORT: u16 = 4646;

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
    /// The client's sandbox settings (`client { chroot_env, options, artifact }`,
    /// `plugin "docker" { config { ... } }`).
    pub client_sandbox: SandboxConfig,
    /// Heartbeat TTL the servers give clients (`server { heartbeat_ttl }` is ours; Nomad
    /// derives it from `min_heartbeat_ttl` and the cluster size).
    pub heartbeat_ttl: Duration,
    /// Require ACL tokens on API requests (`acl { enabled = true }`).
    pub acl_enabled: bool,
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
            client_sandbox: SandboxConfig::default(),
            heartbeat_ttl: heartbeat::DEFAULT_TTL,
            acl_enabled: false,
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclAgent {
    name: Option<String>,
    data_dir: Option<PathBuf>,
    bind_addr: Option<String>,
    datacenter: Option<String>,
    region: Option<String>,
    ports: Option<HclPorts>,
    advertise: Option<HclAdvertise>,
    server: Option<HclServer>,
    client: Option<HclClient>,
    plugin: BTreeMap<String, HclPlugin>,
    acl: Option<HclAcl>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclPlugin {
    config: BTreeMap<String, hcl::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclHostVolume {
    path: PathBuf,
    read_only: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclAcl {
    enabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclPorts {
    http: Option<u16>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclAdvertise {
    http: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclServer {
    enabled: Option<bool>,
    bootstrap_expect: Option<usize>,
    server_join: Option<HclServerJoin>,
    raft_snapshot_threshold: Option<u64>,
    raft_trailing_logs: Option<u64>,
    raft_multiplier: Option<u32>,
    heartbeat_ttl: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclServerJoin {
    retry_join: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclClient {
    enabled: Option<bool>,
    meta: BTreeMap<String, String>,
    servers: Vec<String>,
    node_class: Option<String>,
    node_pool: Option<String>,
    host_volume: BTreeMap<String, HclHostVolume>,
}

impl AgentConfig {
    /// Reads a Nomad-style agent HCL file over the defaults.
    pub fn from_hcl_file(path: &Path) -> Result<Self, ConfigError> {
        let mut cfg = Self::default();
        cfg.merge_hcl_file(path)?;
        Ok(cfg)
    }

    /// Overlays the settings of an agent HCL file.
    pub fn merge_hcl_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        self.merge_hcl_str(&text).map_err(|source| ConfigError::Parse {
            path: path.into(),
            source,
        })
    }

    /// Overlays the settings of agent HCL text.
    pub fn merge_hcl_str(&mut self, text: &str) -> Result<(), hcl::Error> {
        let h: HclAgent = hcl::from_str(text)?;
        self.client_sandbox.merge_hcl_str(text)?;
        set(&mut self.name, h.name);
        if h.data_dir.is_some() {
            self.data_dir = h.data_dir;
        }
        set(&mut self.bind_addr, h.bind_addr);
        set(&mut self.datacenter, h.datacenter);
        set(&mut self.region, h.region);
        set(&mut self.http_port, h.ports.and_then(|p| p.http));
        if let Some(a) = h.advertise.and_then(|a| a.http) {
            self.advertise_http = Some(a);
        }
        if let Some(s) = h.server {
            set(&mut self.server_enabled, s.enabled);
            set(&mut self.bootstrap_expect, s.bootstrap_expect);
            set(&mut self.raft_multiplier, s.raft_multiplier);
            set(
                &mut self.raft_compaction.snapshot_threshold,
                s.raft_snapshot_threshold,
            );
            set(&mut self.raft_compaction.trailing_logs, s.raft_trailing_logs);
            if let Some(j) = s.server_join {
                self.join.extend(j.retry_join);
            }
            if let Some(t) = s.heartbeat_ttl {
                self.heartbeat_ttl = parse_duration(&t).ok_or_else(|| {
                    <hcl::Error as serde::de::Error>::custom(format!("heartbeat_ttl {t:?} is not a duration"))
                })?;
            }
        }
        if let Some(a) = h.acl {
            set(&mut self.acl_enabled, a.enabled);
        }
        if let Some(c) = h.client {
            set(&mut self.client_enabled, c.enabled);
            self.node_meta.extend(c.meta);
            self.servers
                .extend(c.servers.iter().map(|s| with_default_port(s)));
            set(&mut self.node_class, c.node_class);
            set(&mut self.node_pool, c.node_pool);
            for (name, v) in c.host_volume {
                let volume = HostVolume {
                    path: v.path,
                    read_only: v.read_only,
                };
                self.host_volumes.insert(name, volume);
            }
        }
        let flag = |plugin: &str, key: &str| match h.plugin.get(plugin).and_then(|p| p.config.get(key)) {
            Some(hcl::Value::Bool(b)) => Some(*b),
            _ => None,
        };
        set(&mut self.raw_exec_enabled, flag("raw_exec", "enabled"));
        set(
            &mut self.docker_allow_privileged,
            flag("docker", "allow_privileged"),
        );
        Ok(())
    }

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
        Ok(())
    }
}

pub(crate) fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "deploy-agent".into())
}

pub(crate) fn with_default_port(addr: &str) -> String {
    if addr
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        addr.to_owned()
    } else {
        format!("{addr}:{DEFAULT_HTTP_PORT}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nomad_style_hcl() {
        let mut cfg = AgentConfig::default();
        cfg.merge_hcl_str(
            r#"
            name = "s1"
            data_dir = "/var/lib/deploy"
            bind_addr = "0.0.0.0"
            datacenter = "east"
            ports { http = 5646 }
            server {
              enabled = true
              bootstrap_expect = 3
              server_join { retry_join = ["10.0.0.2:5646", "10.0.0.3"] }
            }
            client {
              enabled = true
              meta { rack = "r1" }
              servers = ["10.0.0.9"]
              node_class = "edge"
              host_volume "data" {
                path = "/srv/data"
                read_only = true
              }
            }
            plugin "raw_exec" {
              config { enabled = true }
            }
            "#,
        )
        .unwrap();
        assert_eq!(cfg.name, "s1");
        assert_eq!(cfg.http_port, 5646);
        assert!(cfg.server_enabled && cfg.client_enabled);
        assert_eq!(cfg.bootstrap_expect, 3);
        assert_eq!(cfg.join, vec!["10.0.0.2:5646", "10.0.0.3"]);
        assert_eq!(cfg.node_meta["rack"], "r1");
        assert_eq!(cfg.servers, vec!["10.0.0.9:4646"]);
        assert_eq!(cfg.node_class, "edge");
        assert!(cfg.host_volumes["data"].read_only);
        assert!(cfg.raw_exec_enabled && !cfg.docker_allow_privileged);
        assert_eq!(with_default_port("10.0.0.3"), "10.0.0.3:4646");
        assert_eq!(cfg.advertise("0.0.0.0:5646".parse().unwrap()), "127.0.0.1:5646");
    }
}
