//! `deploy agent`: configuration (flags and Nomad-style HCL files) and the agent process.
//!
//! ```text
//!  AgentArgs (flags) ─┐
//!  -config FILE.hcl ──┴─► AgentConfig ─► run_agent: ClusterNode and/or Client + HTTP until SIGINT/SIGTERM
//! ```
//!
//! Two listeners, as Nomad's: the HTTP API (4646) and the RPC listener (4647: Raft, forwarding,
//! joins, client-to-server calls; every call authenticated, see `cluster::rpc`). Peer
//! addresses (`-join`, `server_join { retry_join }`) and a client's servers (`-servers`,
//! `client { servers }`) are RPC addresses (`host:port`, port 4647 when omitted).

mod acl_token_file;
mod args;
mod client_acl;
mod config;
mod gc_file;
mod hcl_file;
mod run;
mod tls_file;

pub use args::AgentArgs;
pub use config::{AgentConfig, ConfigError};
pub use run::run_agent;
pub use tls_file::{AgentLimits, AgentTls};

/// Nomad's default HTTP port.
pub const DEFAULT_HTTP_PORT: u16 = 4646;
/// Nomad's default RPC port (servers' `-join` and clients' `-servers` addresses default to it).
pub const DEFAULT_RPC_PORT: u16 = 4647;

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
        format!("{addr}:{DEFAULT_RPC_PORT}")
    }
}
