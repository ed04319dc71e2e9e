//! The cluster's RPC surface: what servers ask of each other (Raft, forwarded writes, read
//! index, joins and leaves) and what clients ask of servers (registration, heartbeats,
//! allocation updates, services, and the reads a client needs: its allocations, variables,
//! services, keys). It is served on a listener of its own (4647), never on the public API's,
//! and every call is authenticated before its body is read ([`auth`]).
//!
//! ```text
//!  peer server ──► /v1/internal/raft/{append,vote,snapshot}   (raft::rpc)
//!              ──► /v1/internal/cluster/{info,write,read-index,join,leave}   (cluster)
//!  client node ──► /v1/internal/node/register, /v1/internal/client/...       (clients)
//!                   (its allocations: node/:id/allocs, a blocking watch, then allocs/get)
//!              ──► GET /v1/node/:id/allocations, /v1/var/..., ... (http::client_reads)
//!                         │
//!                         └──► ClusterNode endpoints (server::endpoints)
//! ```

pub mod auth;
pub mod clients;
pub mod cluster;
pub mod routes;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post, put};

use crate::cluster::http::body::MAX_BODY;
use crate::cluster::http::error::ApiError;
use crate::cluster::http::{self, ApiContext};
use crate::cluster::raft::rpc as raft_rpc;
use crate::cluster::server::ClusterNode;

/// Handler state of the RPC routes.
pub type RpcCtx = axum::extract::State<Arc<ClusterNode>>;

/// Every RPC route of a server: cluster, client-to-server, the reads clients need and the
/// Raft transport, each behind [`auth::authenticate`]. Bodies are limited per route: 16 MiB,
/// Raft snapshots 1 GiB.
pub fn router(api: Arc<ApiContext>) -> Router {
    let node = Arc::clone(&api.node);
    let calls = Router::new()
        .route(cluster::INFO, get(cluster::info))
        .route(cluster::WRITE, post(cluster::write))
        .route(cluster::READ_INDEX, get(cluster::read_index))
        .route(cluster::JOIN, post(cluster::join))
        .route(cluster::LEAVE, post(cluster::leave))
        .route(clients::REGISTER, post(clients::register).put(clients::register))
        .route(clients::HEARTBEAT, put(clients::heartbeat))
        .route(clients::ALLOC_UPDATE, post(clients::alloc_update))
        .route(clients::SERVICES, put(clients::services))
        .route(clients::NODE_ALLOCS, get(clients::node_allocs))
        .route(clients::ALLOCS_GET, post(clients::allocs_get))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Arc::clone(&node));
    calls
        .merge(http::client_reads(api))
        .merge(raft_rpc::router(
            node.raft().clone(),
            node.leader_contact().clone(),
            node.data_dir().to_path_buf(),
        ))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&node),
            auth::authenticate,
        ))
}

/// The node a caller speaks for must be `node_id` (servers may act for any node).
pub(crate) fn same_node(caller: &auth::Caller, node_id: &str) -> Result<(), ApiError> {
    match caller.node() {
        Some((id, _)) if id != node_id => Err(forbidden()),
        _ => Ok(()),
    }
}

fn forbidden() -> ApiError {
    ApiError {
        status: axum::http::StatusCode::FORBIDDEN,
        message: "Permission denied".into(),
    }
}
