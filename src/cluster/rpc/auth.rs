//! Authentication of every RPC, before its body is read.
//!
//! ```text
//!  X-Deploy-Cluster-Key = the cluster secret ──────────────► Caller::Server (every route)
//!  X-Deploy-Node-ID + X-Deploy-Node-Secret
//!      node registered, secret matches ────────────────────► Caller::Node (client routes)
//!      node not registered yet ────────────────────────────► Caller::NewNode (registration only)
//!  nothing: 401; a wrong key or secret, or a route the caller may not use: 403
//!
//!  under tls { rpc = true, verify_server_hostname = true }, the TLS peer's certificate too:
//!      Caller::Server needs server.<region>.nomad
//!      Caller::Node / NewNode needs client.<region>.nomad (or the server name: a -dev agent)
//! ```
//!
//! Under mutual TLS the handshake has already refused any peer without a certificate from the
//! cluster's CA; the cluster key and node secrets stay as a second factor, so a leaked client
//! certificate alone never makes its holder a server.
//!
//! Keys and secrets are compared in constant time. Client routes are authorised by the node
//! secret, never by an ACL token, so clients work on clusters with ACLs on.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::clients::REGISTER;
use crate::cluster::listener::PeerCert;
use crate::cluster::server::ClusterNode;
use crate::cluster::server::cluster_key::{CLUSTER_KEY_HEADER, constant_time_eq};

/// Header carrying a client's node ID.
pub const NODE_ID_HEADER: &str = "X-Deploy-Node-ID";
/// Header carrying a client's node secret (Nomad's `Node.SecretID`).
pub const NODE_SECRET_HEADER: &str = "X-Deploy-Node-Secret";

/// Who made an RPC, as the handlers see it (a request extension).
#[derive(Debug, Clone)]
pub enum Caller {
    /// Another server (it holds the cluster key).
    Server,
    /// A registered client node whose secret matched.
    Node {
        /// Node ID.
        id: String,
        /// Its secret.
        secret: String,
    },
    /// A node not registered yet: it may only register, with this ID and secret.
    NewNode {
        /// Node ID.
        id: String,
        /// The secret it presents.
        secret: String,
    },
}

impl Caller {
    /// The node a client caller speaks for (`None` for servers).
    pub fn node(&self) -> Option<(&str, &str)> {
        match self {
            Caller::Server => None,
            Caller::Node { id, secret } | Caller::NewNode { id, secret } => Some((id, secret)),
        }
    }
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, message.to_owned()).into_response()
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

/// Who the headers say the caller is, checked against the cluster key and the node table.
fn identify(node: &ClusterNode, headers: &HeaderMap) -> Result<Caller, (StatusCode, &'static str)> {
    if let Some(key) = headers.get(CLUSTER_KEY_HEADER) {
        return match node.cluster_key().matches(key.as_bytes()) {
            true => Ok(Caller::Server),
            false => Err((StatusCode::FORBIDDEN, "invalid cluster key")),
        };
    }
    let (Some(id), Some(secret)) = (
        header(headers, NODE_ID_HEADER),
        header(headers, NODE_SECRET_HEADER),
    ) else {
        return Err((
            StatusCode::UNAUTHORIZED,
            "RPC needs the cluster key or a node ID and secret",
        ));
    };
    let (id, secret) = (id.to_owned(), secret.to_owned());
    match node.node_secret(&id) {
        Some(stored) if constant_time_eq(stored.as_bytes(), secret.as_bytes()) => {
            Ok(Caller::Node { id, secret })
        }
        Some(_) => Err((StatusCode::FORBIDDEN, "node secret does not match")),
        None => Ok(Caller::NewNode { id, secret }),
    }
}

/// Whether the TLS peer's certificate names the role `caller` claims in `region`.
fn certificate_fits(caller: &Caller, cert: Option<&PeerCert>, region: &str) -> bool {
    let Some(cert) = cert else { return false };
    let server = cert.has_name(&format!("server.{region}.nomad"));
    match caller {
        Caller::Server => server,
        Caller::Node { .. } | Caller::NewNode { .. } => {
            server || cert.has_name(&format!("client.{region}.nomad"))
        }
    }
}

/// Whether `path` is for servers only (Raft and cluster membership, forwarding).
pub(super) fn servers_only(path: &str) -> bool {
    path.starts_with("/v1/internal/raft/") || path.starts_with("/v1/internal/cluster/")
}

/// Authenticates an RPC and records its [`Caller`]; refuses before the body is read.
pub async fn authenticate(State(node): State<Arc<ClusterNode>>, mut req: Request, next: Next) -> Response {
    let caller = match identify(&node, req.headers()) {
        Ok(c) => c,
        Err((status, message)) => return refuse(status, message),
    };
    if let Some(region) = node.verify_peer_region()
        && !certificate_fits(&caller, req.extensions().get::<PeerCert>(), region)
    {
        return refuse(
            StatusCode::FORBIDDEN,
            "TLS certificate does not name this caller's role",
        );
    }
    let path = req.uri().path();
    let allowed = match &caller {
        Caller::Server => true,
        Caller::Node { .. } => !servers_only(path),
        Caller::NewNode { .. } => path == REGISTER,
    };
    if !allowed {
        return refuse(StatusCode::FORBIDDEN, "Permission denied");
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raft_and_cluster_routes_are_for_servers_only() {
        assert!(servers_only("/v1/internal/raft/append"));
        assert!(servers_only("/v1/internal/cluster/write"));
        assert!(!servers_only("/v1/internal/client/allocs"));
        assert!(!servers_only(REGISTER));
    }

    #[test]
    fn certificates_must_name_the_callers_role() {
        let cert = |n: &str| PeerCert {
            dns_names: vec![n.to_owned(), "localhost".to_owned()],
        };
        let node = Caller::Node {
            id: "n".into(),
            secret: "s".into(),
        };
        let server = cert("server.global.nomad");
        let client = cert("client.global.nomad");
        assert!(certificate_fits(&Caller::Server, Some(&server), "global"));
        assert!(!certificate_fits(&Caller::Server, Some(&client), "global"));
        assert!(!certificate_fits(&Caller::Server, Some(&server), "eu"));
        assert!(certificate_fits(&node, Some(&client), "global"));
        assert!(certificate_fits(&node, Some(&server), "global"));
        assert!(!certificate_fits(
            &node,
            Some(&cert("cli.global.nomad")),
            "global"
        ));
        assert!(!certificate_fits(&node, None, "global"));
    }
}
