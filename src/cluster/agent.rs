//! `deploy agent`: configuration (flags and Nomad-style HCL files) and the agent process.
//!
//! ```text
//!  AgentArgs (flags) ─┐
//!  -config FILE.hcl ──┴─► AgentConfig ─► run_agent: ClusterNode + HTTP server until SIGINT/SIGTERM
//! ```
//!
//! Peer addresses (`-join`, `server_join { retry_join }`) are the other servers' HTTP
//! addresses (`host:port`, port 4646 when omitted): the cluster speaks Raft over its HTTP API.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use thiserror::Error;

use crate::cluster::client::{Client, ClientConfig, HostVolume};
use crate::cluster::error::ClusterError;
use crate::cluster::http::query::parse_duration;
use crate::cluster::server::heartbeat;
use crate::cluster::http::{self, ApiContext};
use crate::cluster::server::{ClusterNode, ServerConfig};

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
    /// Servers a client-only agent joins (`client { servers = [...] }`).
    pub servers: Vec<String>,
    /// Client node class.
    pub node_class: String,
    /// Client node pool.
    pub node_pool: String,
    /// Client host volumes.
    pub host_volumes: BTreeMap<String, HostVolume>,
    /// Whether the client's `raw_exec` driver runs tasks (`-dev` turns it on).
    pub raw_exec_enabled: bool,
    /// Whether docker tasks may be privileged.
    pub docker_allow_privileged: bool,
    /// Heartbeat TTL the servers give clients.
    pub heartbeat_ttl: Duration,
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
            servers: Vec::new(),
            node_class: String::new(),
            node_pool: "default".into(),
            host_volumes: BTreeMap::new(),
            raw_exec_enabled: false,
            docker_allow_privileged: false,
            heartbeat_ttl: heartbeat::DEFAULT_TTL,
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
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        self.merge_hcl_str(&text).map_err(|source| ConfigError::Parse { path: path.into(), source })
    }

    /// Overlays the settings of agent HCL text.
    pub fn merge_hcl_str(&mut self, text: &str) -> Result<(), hcl::Error> {
        let h: HclAgent = hcl::from_str(text)?;
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
            if let Some(j) = s.server_join {
                self.join.extend(j.retry_join);
            }
        }
        if let Some(c) = h.client {
            set(&mut self.client_enabled, c.enabled);
            self.node_meta.extend(c.meta);
            self.servers.extend(c.servers);
            set(&mut self.node_class, c.node_class);
            set(&mut self.node_pool, c.node_pool);
            for (name, v) in c.host_volume {
                self.host_volumes.insert(name, HostVolume { path: v.path, read_only: v.read_only });
            }
        }
        let flag = |plugin: &str, key: &str| {
            h.plugin.get(plugin).and_then(|p| p.config.get(key)).and_then(|v| match v {
                hcl::Value::Bool(b) => Some(*b),
                _ => None,
            })
        };
        set(&mut self.raw_exec_enabled, flag("raw_exec", "enabled"));
        set(&mut self.docker_allow_privileged, flag("docker", "allow_privileged"));
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

    fn check(&self) -> Result<(), ConfigError> {
        if !self.server_enabled && !self.client_enabled {
            return Err(ConfigError::Invalid("enable the server, the client, or both (-server, -client, -dev)".into()));
        }
        if !self.server_enabled && self.servers.is_empty() {
            return Err(ConfigError::Invalid("a client-only agent needs servers to join (-servers ADDR)".into()));
        }
        if self.data_dir.is_none() && !self.dev {
            return Err(ConfigError::Invalid("data_dir is required outside -dev mode".into()));
        }
        Ok(())
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
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

fn with_default_port(addr: &str) -> String {
    if addr.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        addr.to_owned()
    } else {
        format!("{addr}:{DEFAULT_HTTP_PORT}")
    }
}

/// `deploy agent` flags. Nomad's single-dash spelling (`-dev`) is accepted after
/// [`AgentArgs::normalize`].
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AgentArgs {
    /// Development mode: a single server (and client), bootstrap 1, data in a temporary directory.
    #[arg(long)]
    pub dev: bool,
    /// Agent configuration file (HCL); may be repeated, later files win.
    #[arg(long = "config", value_name = "FILE")]
    pub config: Vec<PathBuf>,
    /// Data directory.
    #[arg(long = "data-dir", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to bind the HTTP API to.
    #[arg(long = "bind", value_name = "ADDR")]
    pub bind: Option<String>,
    /// HTTP port.
    #[arg(long = "http-port", value_name = "PORT")]
    pub http_port: Option<u16>,
    /// Address other servers reach this one at (host:port).
    #[arg(long = "advertise", value_name = "ADDR")]
    pub advertise: Option<String>,
    /// Run a server.
    #[arg(long)]
    pub server: bool,
    /// Run a client.
    #[arg(long)]
    pub client: bool,
    /// Servers expected before bootstrapping the cluster.
    #[arg(long = "bootstrap-expect", value_name = "N")]
    pub bootstrap_expect: Option<usize>,
    /// Another server's HTTP address; may be repeated.
    #[arg(long = "join", value_name = "ADDR")]
    pub join: Vec<String>,
    /// Node name.
    #[arg(long = "node", value_name = "NAME")]
    pub node: Option<String>,
    /// Datacenter.
    #[arg(long = "dc", value_name = "DC")]
    pub datacenter: Option<String>,
    /// Region.
    #[arg(long = "region", value_name = "REGION")]
    pub region: Option<String>,
    /// A server's HTTP address for a client to join; may be repeated.
    #[arg(long = "servers", value_name = "ADDR")]
    pub servers: Vec<String>,
    /// Client node class.
    #[arg(long = "node-class", value_name = "CLASS")]
    pub node_class: Option<String>,
    /// Client node pool.
    #[arg(long = "node-pool", value_name = "POOL")]
    pub node_pool: Option<String>,
    /// Client node metadata `key=value`; may be repeated.
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    pub meta: Vec<String>,
    /// Enable the raw_exec driver on this client.
    #[arg(long = "raw-exec")]
    pub raw_exec: bool,
    /// Allow privileged docker containers on this client.
    #[arg(long = "docker-privileged")]
    pub docker_privileged: bool,
    /// Heartbeat TTL servers give clients (`10s`, `2s`).
    #[arg(long = "heartbeat-ttl", value_name = "DURATION")]
    pub heartbeat_ttl: Option<String>,
}

impl AgentArgs {
    /// Rewrites Nomad-style single-dash long flags (`-dev`, `-http-port`) to clap's `--` form.
    pub fn normalize(args: impl IntoIterator<Item = String>) -> Vec<String> {
        args.into_iter()
            .map(|a| {
                let long = a.len() > 2 && a.starts_with('-') && !a.starts_with("--");
                if long && a[1..].starts_with(|c: char| c.is_ascii_alphabetic()) { format!("-{a}") } else { a }
            })
            .collect()
    }

    /// The configuration: defaults, then `-dev`, then config files, then flags.
    pub fn to_config(&self) -> Result<AgentConfig, ConfigError> {
        let mut cfg = AgentConfig::default();
        if self.dev {
            cfg.dev = true;
            cfg.server_enabled = true;
            cfg.client_enabled = true;
            cfg.bootstrap_expect = 1;
            cfg.raw_exec_enabled = true;
        }
        for path in &self.config {
            cfg.merge_hcl_file(path)?;
        }
        set(&mut cfg.data_dir, self.data_dir.clone().map(Some));
        set(&mut cfg.bind_addr, self.bind.clone());
        set(&mut cfg.http_port, self.http_port);
        if self.advertise.is_some() {
            cfg.advertise_http = self.advertise.clone();
        }
        cfg.server_enabled |= self.server;
        cfg.client_enabled |= self.client;
        set(&mut cfg.bootstrap_expect, self.bootstrap_expect);
        cfg.join.extend(self.join.iter().cloned());
        set(&mut cfg.name, self.node.clone());
        set(&mut cfg.datacenter, self.datacenter.clone());
        set(&mut cfg.region, self.region.clone());
        cfg.servers.extend(self.servers.iter().map(|s| with_default_port(s)));
        set(&mut cfg.node_class, self.node_class.clone());
        set(&mut cfg.node_pool, self.node_pool.clone());
        for kv in &self.meta {
            let (k, v) = kv.split_once('=').ok_or_else(|| ConfigError::Invalid(format!("-meta {kv:?} is not key=value")))?;
            cfg.node_meta.insert(k.to_owned(), v.to_owned());
        }
        cfg.raw_exec_enabled |= self.raw_exec;
        cfg.docker_allow_privileged |= self.docker_privileged;
        if let Some(t) = &self.heartbeat_ttl {
            cfg.heartbeat_ttl =
                parse_duration(t).ok_or_else(|| ConfigError::Invalid(format!("-heartbeat-ttl {t:?} is not a duration")))?;
        }
        Ok(cfg)
    }
}

/// Runs the agent until SIGINT or SIGTERM.
pub async fn run_agent(cfg: AgentConfig) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    cfg.check()?;
    let (data_dir, temporary) = match &cfg.data_dir {
        Some(d) => (d.clone(), false),
        None => (std::env::temp_dir().join(format!("deploy-agent-{}", uuid::Uuid::new_v4())), true),
    };
    let listener = tokio::net::TcpListener::bind((cfg.bind_addr.as_str(), cfg.http_port))
        .await
        .map_err(|e| ClusterError::Startup(format!("binding {}:{}: {e}", cfg.bind_addr, cfg.http_port)))?;
    let bound = listener.local_addr()?;
    let advertise = cfg.advertise(bound);
    let server = if cfg.server_enabled {
        Some(
            ClusterNode::start(ServerConfig {
                data_dir: data_dir.join("server"),
                advertise: advertise.clone(),
                peers: cfg.join.iter().map(|p| with_default_port(p)).collect(),
                bootstrap_expect: cfg.bootstrap_expect,
                cluster_name: cfg.region.clone(),
                heartbeat_ttl: cfg.heartbeat_ttl,
            })
            .await?,
        )
    } else {
        None
    };
    let client = if cfg.client_enabled {
        let mut servers = cfg.servers.clone();
        if server.is_some() {
            servers.insert(0, advertise.clone());
        }
        Some(Client::start(client_config(&cfg, &data_dir, servers, &advertise)).await?)
    } else {
        None
    };
    let node_id = server.as_ref().map(|n| n.id().to_string()).unwrap_or_default();
    let agent_self = json!({
        "config": {
            "NodeName": cfg.name, "Region": cfg.region, "Datacenter": cfg.datacenter,
            "DataDir": data_dir, "BindAddr": cfg.bind_addr, "Ports": {"HTTP": bound.port()},
            "Server": {"Enabled": cfg.server_enabled, "BootstrapExpect": cfg.bootstrap_expect},
            "Client": {"Enabled": cfg.client_enabled, "Meta": cfg.node_meta, "NodeClass": cfg.node_class},
            "Version": {"Version": env!("CARGO_PKG_VERSION")},
        },
        "member": {
            "Name": format!("{}.{}", cfg.name, cfg.region), "Addr": bound.ip().to_string(), "Port": bound.port(),
            "Status": "alive", "Tags": {"region": cfg.region, "dc": cfg.datacenter, "role": "nomad", "id": node_id},
        },
        "stats": {"client": {"node_id": client.as_ref().map(|c| c.node().id)}},
    });
    let app = match (&server, &client) {
        (Some(node), Some(c)) => http::router(Arc::new(ApiContext { node: Arc::clone(node), agent_self }))
            .merge(crate::cluster::client::http::router(Arc::clone(c))),
        (Some(node), None) => http::router(Arc::new(ApiContext { node: Arc::clone(node), agent_self })),
        (None, Some(c)) => crate::cluster::client::http::router(Arc::clone(c)),
        (None, None) => return Err(ConfigError::Invalid("nothing to run".into()).into()),
    };
    let role = match (&server, &client) {
        (Some(_), Some(_)) => "server and client",
        (Some(_), None) => "server",
        _ => "client",
    };
    eprintln!("==> deploy agent started ({role}): HTTP at http://{advertise} (data {})", data_dir.display());
    if let Some(c) = &client {
        eprintln!("==> client node id {}", c.node().id);
    }
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    if let Some(c) = &client {
        if temporary {
            c.stop_all(Duration::from_secs(10)).await;
        }
        c.shutdown();
    }
    if let Some(node) = &server {
        node.shutdown().await;
    }
    if temporary {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    Ok(())
}

fn client_config(cfg: &AgentConfig, data_dir: &Path, servers: Vec<String>, advertise: &str) -> ClientConfig {
    let mut c = ClientConfig::new(&cfg.name, data_dir.join("client"), servers);
    c.http_addr = advertise.to_owned();
    c.datacenter = cfg.datacenter.clone();
    c.region = cfg.region.clone();
    c.node_class = cfg.node_class.clone();
    c.node_pool = cfg.node_pool.clone();
    c.meta = cfg.node_meta.clone();
    c.host_volumes = cfg.host_volumes.clone();
    c.raw_exec_enabled = cfg.raw_exec_enabled;
    c.docker_allow_privileged = cfg.docker_allow_privileged;
    c
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return ctrl_c.await.unwrap_or(()),
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
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
        assert_eq!(with_default_port("10.0.0.3"), "10.0.0.3:4646");
        assert_eq!(cfg.advertise("0.0.0.0:5646".parse().unwrap()), "127.0.0.1:5646");
    }

    #[test]
    fn single_dash_flags_are_normalised() {
        let args = AgentArgs::normalize(["agent", "-dev", "-http-port", "1", "--server", "-"].map(String::from));
        assert_eq!(args, ["agent", "--dev", "--http-port", "1", "--server", "-"]);
    }
}
