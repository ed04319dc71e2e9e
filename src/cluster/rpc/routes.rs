//! THE table of the RPC listener's routes, with who may call each. The authentication
//! middleware ([`super::auth`]) refuses a call before its body is read unless the caller is one
//! the route admits; `cargo test --lib cluster::rpc` reads the RPC routers' source and checks
//! that every registered route has exactly one entry here and every entry is registered, that
//! the middleware admits what the table says, and that docs/cluster-api.md holds the table as
//! [`render_markdown`] prints it.
//!
//! Adding an RPC route: add its `.route(...)` where it belongs, then one line here.

use super::{clients, cluster};
use crate::cluster::http::ACL_CHECK as CHECK;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callers {
    /// Servers only (the cluster key).
    Servers,
    /// Servers and registered client nodes (their node secret).
    Nodes,
    /// Servers, registered nodes, and a node not registered yet (registration).
    Registration,
}

impl Callers {
    /// The credentials the route accepts, for the doc.
    fn describe(self) -> &'static str {
        match self {
            Callers::Servers => "cluster key",
            Callers::Nodes => "cluster key, or a registered node's ID and secret",
            Callers::Registration => {
                "cluster key, a registered node's ID and secret, or a new node ID with its first secret"
            }
        }
    }
}

/// One RPC route.
#[derive(Debug, Clone, Copy)]
pub struct RpcRoute {
    /// Methods, space-separated.
    pub methods: &'static str,
    /// The route pattern, as registered with axum.
    pub path: &'static str,
    /// Who may call it.
    pub callers: Callers,
}

const fn r(methods: &'static str, path: &'static str, callers: Callers) -> RpcRoute {
    RpcRoute {
        methods,
        path,
        callers,
    }
}

use Callers::{Nodes, Registration, Servers};

/// Every route of the RPC listener (`rpc::router`, `raft::rpc::router`, `http::client_reads`).
/// None is exempt from authentication.
pub const RPC_ROUTES: &[RpcRoute] = &[
    // Raft between servers.
    r("POST", "/v1/internal/raft/append", Servers),
    r("POST", "/v1/internal/raft/vote", Servers),
    r("POST", "/v1/internal/raft/snapshot", Servers),
    // Cluster membership and the leader's side of forwarding.
    r("GET", cluster::INFO, Servers),
    r("POST", cluster::WRITE, Servers),
    r("GET", cluster::READ_INDEX, Servers),
    r("POST", cluster::JOIN, Servers),
    r("POST", cluster::LEAVE, Servers),
    // Clients to servers.
    r("POST PUT", clients::REGISTER, Registration),
    r("PUT", clients::HEARTBEAT, Nodes),
    r("POST", clients::ALLOC_UPDATE, Nodes),
    r("PUT", clients::SERVICES, Nodes),
    r("GET", clients::NODE_ALLOCS, Nodes),
    r("POST", clients::ALLOCS_GET, Nodes),
    r("GET", CHECK, Nodes),
    // The API's reads a client needs (its allocations, templates, log forwarding).
    r("GET", "/v1/node/{id}/allocations", Nodes),
    r("GET", "/v1/allocation/{id}", Nodes),
    r("GET", "/v1/node/{id}", Nodes),
    r("GET", "/v1/vars", Nodes),
    r("GET", "/v1/var/{*path}", Nodes),
    r("GET", "/v1/service/{name}", Nodes),
    r("GET", "/v1/deploy/kv/{*key}", Nodes),
];

/// The entry of `method` on route pattern `path`, if any.
pub fn rpc_route(method: &str, path: &str) -> Option<&'static RpcRoute> {
    RPC_ROUTES
        .iter()
        .find(|e| e.path == path && e.methods.split(' ').any(|m| m == method))
}

/// The table as Markdown, for docs/cluster-api.md (a test checks the doc holds it verbatim).
pub fn render_markdown() -> String {
    let mut out = String::from("| Method | RPC route | Accepted credentials |\n|---|---|---|\n");
    for e in RPC_ROUTES {
        out.push_str(&format!(
            "| {} | `{}` | {} |\n",
            e.methods.replace(' ', ", "),
            e.path,
            e.callers.describe()
        ));
    }
    out
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
