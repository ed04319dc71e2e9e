//! How an agent dials other agents: plain HTTP, or TLS with this agent's certificate and the
//! cluster's CA (servers to servers and clients to servers under `tls { rpc = true }`; a
//! server to a client agent's HTTP API under `tls { http = true }`).
//!
//! ```text
//!  Transport ─► url("10.0.0.2:4647", "/v1/internal/...")  http:// or https://
//!           └─► client_builder()  reqwest with the rustls config (CA, own cert, name check)
//! ```

use std::sync::Arc;
use std::time::Duration;

use crate::api::tls::{ClientTlsFiles, client_config};

/// How long an idle pooled connection to another agent is kept: under the listeners' header
/// (and idle) timeout of 10 s.
pub const POOL_IDLE: Duration = Duration::from_secs(5);

/// What a TLS handshake adds to a connect timeout. reqwest's connect timeout covers the
/// handshake too, and on a loaded host a handshake can take far longer than a TCP connect; a
/// TCP-sized timeout would fail every new connection then, and every retry with it.
pub const HANDSHAKE_ALLOWANCE: Duration = Duration::from_secs(2);

/// Plain HTTP or TLS towards other agents.
#[derive(Clone, Debug, Default)]
pub struct Transport {
    tls: Option<Arc<rustls::ClientConfig>>,
}

/// Two transports are equal when they are plain, or share one TLS configuration.
impl PartialEq for Transport {
    fn eq(&self, other: &Self) -> bool {
        match (&self.tls, &other.tls) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Transport {
    /// Plain HTTP.
    pub fn plain() -> Self {
        Self::default()
    }

    /// TLS with `files` (the CA, this agent's certificate and key, and the name to check).
    pub fn tls(files: &ClientTlsFiles) -> Result<Self, String> {
        Ok(Self {
            tls: Some(Arc::new(client_config(files)?)),
        })
    }

    /// Whether calls go over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The connect timeout for a caller that allows `tcp` for a TCP connect: under TLS,
    /// [`HANDSHAKE_ALLOWANCE`] more.
    pub fn connect_timeout(&self, tcp: Duration) -> Duration {
        match self.tls {
            Some(_) => tcp + HANDSHAKE_ALLOWANCE,
            None => tcp,
        }
    }

    /// The URL of `path` on the agent at `addr` (`host:port`).
    pub fn url(&self, addr: &str, path: &str) -> String {
        let scheme = match self.tls {
            Some(_) => "https",
            None => "http",
        };
        format!("{scheme}://{addr}{path}")
    }

    /// A reqwest builder that speaks this transport (add timeouts and headers to it). Idle
    /// pooled connections are dropped well before the listeners' idle timeout closes them, so
    /// a request is never written into a connection the other side is closing.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        let builder = reqwest::Client::builder().pool_idle_timeout(POOL_IDLE);
        match &self.tls {
            Some(config) => builder.use_preconfigured_tls((**config).clone()),
            None => builder,
        }
    }
}
