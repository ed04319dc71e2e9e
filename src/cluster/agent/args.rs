//! `deploy agent` flags (clap), reusable by the main CLI.

use std::path::PathBuf;

use super::{AgentConfig, ConfigError, set, with_default_port};
use crate::cluster::http::query::parse_duration;

/// `deploy agent` flags. Nomad's single-dash spelling (`-dev`) is accepted through
/// `cli::normalize_args`.
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
    /// Address API clients and other agents reach this one's HTTP API at (host:port).
    #[arg(long = "advertise", value_name = "ADDR")]
    pub advertise: Option<String>,
    /// RPC port (servers and clients to servers; default: the HTTP port + 1, 4647).
    #[arg(long = "rpc-port", value_name = "PORT")]
    pub rpc_port: Option<u16>,
    /// Address other servers and clients reach this one's RPC listener at (host:port).
    #[arg(long = "advertise-rpc", value_name = "ADDR")]
    pub advertise_rpc: Option<String>,
    /// The cluster secret every server holds (as `server { encrypt }`); a server that
    /// bootstraps alone without one generates it in its data directory (`server/cluster.key`).
    #[arg(long = "encrypt", value_name = "KEY")]
    pub encrypt: Option<String>,
    /// Run a server.
    #[arg(long)]
    pub server: bool,
    /// Run a client.
    #[arg(long)]
    pub client: bool,
    /// Servers expected before bootstrapping the cluster.
    #[arg(long = "bootstrap-expect", value_name = "N")]
    pub bootstrap_expect: Option<usize>,
    /// Another server's RPC address (port 4647 when omitted); may be repeated.
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
    /// Require ACL tokens on API requests (bootstrap one with `deploy acl bootstrap`).
    #[arg(long = "acl-enabled")]
    pub acl_enabled: bool,
    /// Bootstrap ACLs before serving and keep the management token in FILE (0600).
    #[arg(long = "acl-bootstrap-token-file", value_name = "FILE", hide = true)]
    pub acl_bootstrap_token_file: Option<PathBuf>,
    /// Log entries between Raft snapshots.
    #[arg(long = "raft-snapshot-threshold", value_name = "N", hide = true)]
    pub raft_snapshot_threshold: Option<u64>,
    /// Log entries kept behind a Raft snapshot.
    #[arg(long = "raft-trailing-logs", value_name = "N", hide = true)]
    pub raft_trailing_logs: Option<u64>,
    /// Scale of the Raft timeouts (Nomad's `raft_multiplier`).
    #[arg(long = "raft-multiplier", value_name = "N", hide = true)]
    pub raft_multiplier: Option<u32>,
    /// A server's RPC address for a client to join (port 4647 when omitted); may be repeated.
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
    /// Enable the raw_exec driver on this client (on in -dev, off otherwise, as in Nomad).
    #[arg(long = "raw-exec")]
    pub raw_exec: bool,
    /// Allow privileged docker containers on this client.
    #[arg(long = "docker-privileged")]
    pub docker_privileged: bool,
    /// Heartbeat TTL servers give clients (`10s`, `2s`); a silent client is marked down.
    #[arg(long = "heartbeat-ttl", value_name = "DURATION")]
    pub heartbeat_ttl: Option<String>,
    /// The keyring's key-encryption key (base64 of 32 bytes), the same on every server.
    #[arg(
        long = "keyring-kek",
        value_name = "BASE64",
        env = "DEPLOY_KEYRING_KEK",
        hide_env_values = true
    )]
    pub keyring_kek: Option<String>,
}

impl AgentArgs {
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
        cfg.rpc_port = self.rpc_port.or(cfg.rpc_port);
        cfg.advertise_rpc = self.advertise_rpc.clone().or(cfg.advertise_rpc.take());
        cfg.encrypt = self.encrypt.clone().or(cfg.encrypt.take());
        cfg.server_enabled |= self.server;
        cfg.client_enabled |= self.client;
        cfg.acl_enabled |= self.acl_enabled;
        set(
            &mut cfg.acl_bootstrap_token_file,
            self.acl_bootstrap_token_file.clone().map(Some),
        );
        set(&mut cfg.bootstrap_expect, self.bootstrap_expect);
        cfg.join.extend(self.join.iter().cloned());
        set(&mut cfg.name, self.node.clone());
        set(&mut cfg.datacenter, self.datacenter.clone());
        set(&mut cfg.region, self.region.clone());
        set(
            &mut cfg.raft_compaction.snapshot_threshold,
            self.raft_snapshot_threshold,
        );
        set(&mut cfg.raft_compaction.trailing_logs, self.raft_trailing_logs);
        set(&mut cfg.raft_multiplier, self.raft_multiplier);
        cfg.servers
            .extend(self.servers.iter().map(|s| with_default_port(s)));
        set(&mut cfg.node_class, self.node_class.clone());
        set(&mut cfg.node_pool, self.node_pool.clone());
        for kv in &self.meta {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| ConfigError::Invalid(format!("-meta {kv:?} is not key=value")))?;
            cfg.node_meta.insert(k.to_owned(), v.to_owned());
        }
        cfg.raw_exec_enabled |= self.raw_exec;
        cfg.docker_allow_privileged |= self.docker_privileged;
        if let Some(t) = &self.heartbeat_ttl {
            cfg.heartbeat_ttl = parse_duration(t)
                .ok_or_else(|| ConfigError::Invalid(format!("-heartbeat-ttl {t:?} is not a duration")))?;
        }
        if self.keyring_kek.is_some() {
            cfg.keyring_kek = self.keyring_kek.clone();
        }
        Ok(cfg)
    }
}
