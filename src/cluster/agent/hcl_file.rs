//! Nomad-style agent HCL files (`name`, `ports`, `server {}`, `client {}`, `plugin {}`,
//! `acl {}`, `tls {}`, `limits {}`) read over an [`AgentConfig`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{AgentConfig, ConfigError, set, with_default_port};
use crate::cluster::client::HostVolume;
use crate::cluster::http::query::parse_duration;

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
    rpc: Option<u16>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclAdvertise {
    http: Option<String>,
    rpc: Option<String>,
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
    encrypt: Option<String>,
    keyring_kek: Option<String>,
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
    cpu_total_compute: Option<u64>,
    memory_total_mb: Option<u64>,
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
        self.merge_gc_hcl(text)?;
        self.merge_tls_hcl(text)?;
        set(&mut self.name, h.name);
        if h.data_dir.is_some() {
            self.data_dir = h.data_dir;
        }
        set(&mut self.bind_addr, h.bind_addr);
        set(&mut self.datacenter, h.datacenter);
        set(&mut self.region, h.region);
        if let Some(p) = h.ports {
            set(&mut self.http_port, p.http);
            self.rpc_port = p.rpc.or(self.rpc_port);
        }
        if let Some(a) = h.advertise {
            self.advertise_http = a.http.or(self.advertise_http.take());
            self.advertise_rpc = a.rpc.or(self.advertise_rpc.take());
        }
        if let Some(s) = h.server {
            set(&mut self.server_enabled, s.enabled);
            set(&mut self.bootstrap_expect, s.bootstrap_expect);
            set(&mut self.raft_multiplier, s.raft_multiplier);
            self.encrypt = s.encrypt.or(self.encrypt.take());
            set(
                &mut self.raft_compaction.snapshot_threshold,
                s.raft_snapshot_threshold,
            );
            set(&mut self.raft_compaction.trailing_logs, s.raft_trailing_logs);
            if s.keyring_kek.is_some() {
                self.keyring_kek = s.keyring_kek;
            }
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
            self.cpu_total_compute = c.cpu_total_compute.or(self.cpu_total_compute);
            self.memory_total_mb = c.memory_total_mb.or(self.memory_total_mb);
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
            ports {
              http = 5646
              rpc = 5647
            }
            server {
              enabled = true
              bootstrap_expect = 3
              encrypt = "k3y-k3y-k3y-k3y-k3y"
              server_join { retry_join = ["10.0.0.2:5646", "10.0.0.3"] }
            }
            client {
              enabled = true
              meta { rack = "r1" }
              servers = ["10.0.0.9"]
              node_class = "edge"
              cpu_total_compute = 24000
              memory_total_mb = 65536
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
        assert_eq!(cfg.servers, vec!["10.0.0.9:4647"]);
        assert_eq!(cfg.rpc_port(), 5647);
        assert_eq!(cfg.encrypt.as_deref(), Some("k3y-k3y-k3y-k3y-k3y"));
        assert_eq!(cfg.node_class, "edge");
        assert!(cfg.host_volumes["data"].read_only);
        assert_eq!(cfg.cpu_total_compute, Some(24000));
        assert_eq!(cfg.memory_total_mb, Some(65536));
        assert!(cfg.raw_exec_enabled && !cfg.docker_allow_privileged);
        assert_eq!(with_default_port("10.0.0.3"), "10.0.0.3:4647");
        assert_eq!(cfg.advertise("0.0.0.0:5646".parse().unwrap()), "127.0.0.1:5646");
    }
}
