//! What every runner of a client shares: configuration, the registered node, the servers,
//! the drivers and an HTTP client for artifacts and checks.

use std::sync::{Arc, RwLock};

use super::config::ClientConfig;
use super::driver::Drivers;
use super::server_api::ServerApi;
use crate::cluster::fsm::Node;

/// Shared client context.
pub struct ClientContext {
    /// Configuration.
    pub config: ClientConfig,
    /// The node as registered (ID, attributes, meta).
    pub node: RwLock<Node>,
    /// The servers.
    pub api: Arc<ServerApi>,
    /// Task drivers.
    pub drivers: Drivers,
    /// HTTP client for artifacts and checks.
    pub http: reqwest::Client,
    /// HTTP client for other agents' HTTP APIs (TLS under `tls { http = true }`).
    pub agents: reqwest::Client,
}

impl ClientContext {
    /// A copy of the node.
    pub fn node(&self) -> Node {
        self.node.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
