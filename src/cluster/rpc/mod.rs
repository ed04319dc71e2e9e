//! The cluster's RPC surface: what servers ask of each other (Raft, forwarded writes, read
//! index, joins and leaves) and what clients ask of servers (registration, heartbeats,
//! allocation updates, services). It is a router of its own, never part of the public API's.
//!
//! ```text
//!  peer server ──► /v1/internal/raft/{append,vote,snapshot}   (raft::rpc)
//!              ──► /v1/internal/cluster/{info,write,read-index,join,leave}   (cluster)
//!  client node ──► /v1/internal/node/register, /v1/internal/client/...       (clients)
//!                         │
//!                         └──► ClusterNode endpoints (server::endpoints)
//! ```

pub mod clients;
pub mod cluster;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};

use crate::cluster::http::body::MAX_BODY;
use crate::cluster::raft::rpc as raft_rpc;
use crate::cluster::server::ClusterNode;

/// Handler state of the RPC routes.
pub type RpcCtx = axum::extract::State<Arc<ClusterNode>>;

/// Every RPC route of a server: cluster, client-to-server and the Raft transport.
pub fn router(node: Arc<ClusterNode>) -> Router {
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
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Arc::clone(&node));
    calls.merge(raft_rpc::router(
        node.raft().clone(),
        node.leader_contact().clone(),
    ))
}
