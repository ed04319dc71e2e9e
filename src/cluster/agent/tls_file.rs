//! The agent's `tls {}` and `limits {}` blocks, as Nomad's: which listeners speak TLS, the
//! PEM files, the checks, and how many connections each listener holds and for how long.
//!
//! ```text
//!  tls { http, rpc, ca_file, cert_file, key_file, verify_server_hostname,
//!        verify_https_client, tls_min_version }     ─► AgentTls ─► listeners, transports
//!  limits { http_max_conns_per_client, rpc_max_conns_per_client, http_max_conns,
//!           rpc_max_conns, https_handshake_timeout, rpc_handshake_timeout,
//!           http_header_timeout, http_request_timeout }  ─► AgentLimits ─► listeners
//! ```

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{AgentConfig, ConfigError};
use crate::api::tls::{ClientTlsFiles, NameCheck};
use crate::cluster::http::query::parse_duration;
use crate::cluster::listener::{self, ConnLimits, ServerTlsFiles, TlsVersion};
use crate::cluster::transport::Transport;

/// The agent's `tls {}` block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgentTls {
    /// Serve the HTTP API over HTTPS only.
    pub http: bool,
    /// Serve and call RPC over mutual TLS.
    pub rpc: bool,
    /// The CA certificate (PEM) peers' certificates must chain to.
    pub ca_file: Option<PathBuf>,
    /// This agent's certificate (PEM).
    pub cert_file: Option<PathBuf>,
    /// Its key (PEM).
    pub key_file: Option<PathBuf>,
    /// Check that servers present `server.<region>.nomad` (and RPC callers their role's name).
    pub verify_server_hostname: bool,
    /// Require client certificates on HTTPS.
    pub verify_https_client: bool,
    /// Lowest TLS version accepted.
    pub tls_min_version: TlsVersion,
}

/// The agent's `limits {}` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentLimits {
    /// HTTP connections per client IP (Nomad's default 100; 0 = no limit).
    pub http_max_conns_per_client: usize,
    /// RPC connections per client IP (Nomad's default 100; 0 = no limit).
    pub rpc_max_conns_per_client: usize,
    /// HTTP connections in total (0 = no limit).
    pub http_max_conns: usize,
    /// RPC connections in total (0 = no limit).
    pub rpc_max_conns: usize,
    /// Time for an HTTPS handshake.
    pub https_handshake_timeout: Duration,
    /// Time for an RPC TLS handshake.
    pub rpc_handshake_timeout: Duration,
    /// Time for a request head, and the longest idle time between requests.
    pub http_header_timeout: Duration,
    /// Time to answer a request that is not a blocking query.
    pub http_request_timeout: Duration,
}

impl Default for AgentLimits {
    fn default() -> Self {
        Self {
            http_max_conns_per_client: 100,
            rpc_max_conns_per_client: 100,
            http_max_conns: 4096,
            rpc_max_conns: 4096,
            https_handshake_timeout: listener::DEFAULT_HANDSHAKE_TIMEOUT,
            rpc_handshake_timeout: listener::DEFAULT_HANDSHAKE_TIMEOUT,
            http_header_timeout: listener::DEFAULT_HEADER_TIMEOUT,
            http_request_timeout: listener::DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclFile {
    tls: Option<HclTls>,
    limits: Option<HclLimits>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclTls {
    http: Option<bool>,
    rpc: Option<bool>,
    ca_file: Option<PathBuf>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    verify_server_hostname: Option<bool>,
    verify_https_client: Option<bool>,
    tls_min_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclLimits {
    http_max_conns_per_client: Option<usize>,
    rpc_max_conns_per_client: Option<usize>,
    http_max_conns: Option<usize>,
    rpc_max_conns: Option<usize>,
    https_handshake_timeout: Option<String>,
    rpc_handshake_timeout: Option<String>,
    http_header_timeout: Option<String>,
    http_request_timeout: Option<String>,
}

fn hcl_error(message: String) -> hcl::Error {
    <hcl::Error as serde::de::Error>::custom(message)
}

fn duration(slot: &mut Duration, name: &str, text: Option<String>) -> Result<(), hcl::Error> {
    let Some(t) = text else { return Ok(()) };
    *slot = parse_duration(&t)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| hcl_error(format!("limits {{ {name} }}: {t:?} is not a positive duration")))?;
    Ok(())
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

impl AgentConfig {
    /// Overlays the `tls {}` and `limits {}` blocks of agent HCL text.
    pub(super) fn merge_tls_hcl(&mut self, text: &str) -> Result<(), hcl::Error> {
        let h: HclFile = hcl::from_str(text)?;
        if let Some(t) = h.tls {
            let tls = &mut self.tls;
            set(&mut tls.http, t.http);
            set(&mut tls.rpc, t.rpc);
            tls.ca_file = t.ca_file.or(tls.ca_file.take());
            tls.cert_file = t.cert_file.or(tls.cert_file.take());
            tls.key_file = t.key_file.or(tls.key_file.take());
            set(&mut tls.verify_server_hostname, t.verify_server_hostname);
            set(&mut tls.verify_https_client, t.verify_https_client);
            if let Some(v) = t.tls_min_version {
                tls.tls_min_version = TlsVersion::parse(&v).map_err(hcl_error)?;
            }
        }
        if let Some(l) = h.limits {
            let lim = &mut self.limits;
            set(&mut lim.http_max_conns_per_client, l.http_max_conns_per_client);
            set(&mut lim.rpc_max_conns_per_client, l.rpc_max_conns_per_client);
            set(&mut lim.http_max_conns, l.http_max_conns);
            set(&mut lim.rpc_max_conns, l.rpc_max_conns);
            duration(
                &mut lim.https_handshake_timeout,
                "https_handshake_timeout",
                l.https_handshake_timeout,
            )?;
            duration(
                &mut lim.rpc_handshake_timeout,
                "rpc_handshake_timeout",
                l.rpc_handshake_timeout,
            )?;
            duration(
                &mut lim.http_header_timeout,
                "http_header_timeout",
                l.http_header_timeout,
            )?;
            duration(
                &mut lim.http_request_timeout,
                "http_request_timeout",
                l.http_request_timeout,
            )?;
        }
        Ok(())
    }
}

impl AgentTls {
    /// Whether either listener speaks TLS.
    pub fn enabled(&self) -> bool {
        self.http || self.rpc
    }

    /// The certificate and key, which TLS on either listener needs.
    fn files(&self) -> Result<(PathBuf, PathBuf), ConfigError> {
        match (&self.cert_file, &self.key_file) {
            (Some(c), Some(k)) => Ok((c.clone(), k.clone())),
            _ => Err(ConfigError::Invalid(
                "tls { http or rpc = true } needs cert_file and key_file (make them with `deploy tls cert create`)".into(),
            )),
        }
    }

    /// Checks the block before anything starts: files given where they are needed, and
    /// readable as PEM.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if !self.enabled() {
            return Ok(());
        }
        self.files()?;
        if (self.rpc || self.verify_https_client) && self.ca_file.is_none() {
            return Err(ConfigError::Invalid(
                "tls { rpc = true } and verify_https_client need ca_file, the CA that signed the agents' certificates".into(),
            ));
        }
        Ok(())
    }

    fn server_files(&self, require_client_cert: bool) -> Result<ServerTlsFiles, ConfigError> {
        let (cert_file, key_file) = self.files()?;
        Ok(ServerTlsFiles {
            ca_file: self.ca_file.clone(),
            cert_file,
            key_file,
            require_client_cert,
            min_version: self.tls_min_version,
        })
    }

    /// The HTTP listener's TLS files, under `http = true`.
    pub fn http_server(&self) -> Result<Option<ServerTlsFiles>, ConfigError> {
        match self.http {
            true => self.server_files(self.verify_https_client).map(Some),
            false => Ok(None),
        }
    }

    /// The RPC listener's TLS files, under `rpc = true` (client certificates required).
    pub fn rpc_server(&self) -> Result<Option<ServerTlsFiles>, ConfigError> {
        match self.rpc {
            true => self.server_files(true).map(Some),
            false => Ok(None),
        }
    }

    /// How this agent dials servers' RPC listeners: mutual TLS with its own certificate,
    /// checking `server.<region>.nomad` under `verify_server_hostname`.
    pub fn rpc_transport(&self, region: &str) -> Result<Transport, ConfigError> {
        if !self.rpc {
            return Ok(Transport::plain());
        }
        let name = match self.verify_server_hostname {
            true => NameCheck::Fixed(format!("server.{region}.nomad")),
            false => NameCheck::ChainOnly,
        };
        self.transport(name)
    }

    /// How this agent dials other agents' HTTP APIs (logs and stats of allocations it does
    /// not run): TLS with its own certificate under `http = true`. Agents' certificates name
    /// their role, not their address, so the chain is what is checked.
    pub fn http_transport(&self) -> Result<Transport, ConfigError> {
        match self.http {
            true => self.transport(NameCheck::ChainOnly),
            false => Ok(Transport::plain()),
        }
    }

    fn transport(&self, name: NameCheck) -> Result<Transport, ConfigError> {
        let (cert_file, key_file) = self.files()?;
        Transport::tls(&ClientTlsFiles {
            ca_file: self.ca_file.clone(),
            ca_path: None,
            cert_file: Some(cert_file),
            key_file: Some(key_file),
            name,
        })
        .map_err(|e| ConfigError::Invalid(format!("tls: {e}")))
    }
}

impl AgentLimits {
    /// The HTTP listener's connection limits.
    pub fn http(&self) -> ConnLimits {
        ConnLimits {
            per_client: self.http_max_conns_per_client,
            total: self.http_max_conns,
            loopback_exempt: false,
        }
    }

    /// The RPC listener's connection limits.
    pub fn rpc(&self) -> ConnLimits {
        ConnLimits {
            per_client: self.rpc_max_conns_per_client,
            total: self.rpc_max_conns,
            loopback_exempt: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nomads_tls_and_limits_blocks() {
        let mut cfg = AgentConfig::default();
        cfg.merge_tls_hcl(
            r#"
            tls {
              http = true
              rpc  = true
              ca_file   = "nomad-agent-ca.pem"
              cert_file = "global-server-nomad.pem"
              key_file  = "global-server-nomad-key.pem"
              verify_server_hostname = true
              verify_https_client    = true
              tls_min_version = "tls13"
            }
            limits {
              http_max_conns_per_client = 0
              rpc_max_conns_per_client = 20
              https_handshake_timeout = "2s"
            }
            "#,
        )
        .unwrap();
        let tls = &cfg.tls;
        assert!(tls.http && tls.rpc && tls.verify_server_hostname && tls.verify_https_client);
        assert_eq!(tls.tls_min_version, TlsVersion::Tls13);
        assert_eq!(
            tls.ca_file.as_deref(),
            Some(std::path::Path::new("nomad-agent-ca.pem"))
        );
        assert_eq!(cfg.limits.http().per_client, 0);
        assert_eq!(cfg.limits.rpc().per_client, 20);
        assert_eq!(cfg.limits.https_handshake_timeout, Duration::from_secs(2));
        assert_eq!(
            cfg.limits.rpc_handshake_timeout,
            listener::DEFAULT_HANDSHAKE_TIMEOUT
        );
        let server = tls.rpc_server().unwrap().unwrap();
        assert!(server.require_client_cert);
    }

    #[test]
    fn refuses_what_cannot_work() {
        let mut cfg = AgentConfig::default();
        let err = cfg
            .merge_tls_hcl(r#"tls { tls_min_version = "tls10" }"#)
            .unwrap_err();
        assert!(err.to_string().contains("tls12"), "{err}");
        let err = cfg
            .merge_tls_hcl(r#"limits { rpc_handshake_timeout = "soon" }"#)
            .unwrap_err();
        assert!(err.to_string().contains("rpc_handshake_timeout"), "{err}");
        cfg.tls.rpc = true;
        assert!(cfg.tls.check().unwrap_err().to_string().contains("cert_file"));
        cfg.tls.cert_file = Some("c.pem".into());
        cfg.tls.key_file = Some("k.pem".into());
        assert!(cfg.tls.check().unwrap_err().to_string().contains("ca_file"));
    }
}
