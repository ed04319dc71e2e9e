//! Client-to-server calls: node registration, heartbeats, allocation status and health
//! reports, and service registrations.

use axum::Extension;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::json;

use super::auth::Caller;
use super::{RpcCtx, same_node};
use crate::api::{Node, ServiceRegistration};
use crate::cluster::http::body::JsonBody;
use crate::cluster::http::error::ApiError;
use crate::cluster::http::error::ApiResult;
use crate::cluster::http::query::{QueryParams, indexed_json};
use crate::cluster::server::endpoints::AllocClientUpdate;
use crate::cluster::server::heartbeat::HEARTBEAT_PATH;

pub use crate::cluster::server::endpoints::HeartbeatResponse;

/// The node registration path.
pub const REGISTER: &str = "/v1/internal/node/register";
/// Heartbeat path (`/{node_id}` follows).
pub const HEARTBEAT: &str = "/v1/internal/client/heartbeat/{node_id}";
/// Allocation status path.
pub const ALLOC_UPDATE: &str = "/v1/internal/client/allocs";
/// Service registration path (`/{alloc_id}` follows).
pub const SERVICES: &str = "/v1/internal/client/services/{alloc_id}";
/// A client's watch on its allocations (blocking on its node's allocation index).
pub const NODE_ALLOCS: &str = "/v1/internal/client/node/{node_id}/allocs";
/// Allocations by ID, with their jobs (those the watch said changed).
pub const ALLOCS_GET: &str = "/v1/internal/client/allocs/get";
/// Most allocation IDs one `ALLOCS_GET` may name.
pub const MAX_ALLOCS_GET: usize = 4096;

/// Body of `PUT /v1/internal/node/register`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RegisterRequest {
    /// The node.
    pub node: Node,
}

/// `PUT /v1/internal/node/register`: create or replace a node (committed through Raft).
/// Client agents register here and then heartbeat within the `HeartbeatTTL` (nanoseconds)
/// the answer gives; a node that stops heartbeating is marked down.
pub async fn register(
    State(node): RpcCtx,
    Extension(caller): Extension<Caller>,
    JsonBody(req): JsonBody<RegisterRequest>,
) -> ApiResult {
    // A client registers itself only, with the secret it authenticated with.
    if let Some((_, secret)) = caller.node() {
        same_node(&caller, &req.node.id)?;
        if req.node.secret_id != secret {
            return Err(super::forbidden());
        }
    }
    let done = node.register_node(req.node).await?;
    let index = done.index;
    Ok(indexed_json(
        index,
        &json!({"NodeModifyIndex": index, "EvalIDs": [], "EvalCreateIndex": 0, "Index": index,
                "HeartbeatTTL": done.heartbeat_ttl.as_nanos() as u64}),
    ))
}

/// `PUT /v1/internal/client/heartbeat/:node_id`.
pub async fn heartbeat(
    State(node): RpcCtx,
    Extension(caller): Extension<Caller>,
    Path(node_id): Path<String>,
) -> ApiResult {
    same_node(&caller, &node_id)?;
    debug_assert!(HEARTBEAT.starts_with(HEARTBEAT_PATH));
    let beat = node.client_heartbeat(&node_id).await?;
    Ok(indexed_json(beat.index, &beat.value))
}

/// `POST /v1/internal/client/allocs`: allocation status, task states and health.
pub async fn alloc_update(
    State(node): RpcCtx,
    Extension(caller): Extension<Caller>,
    JsonBody(updates): JsonBody<Vec<AllocClientUpdate>>,
) -> ApiResult {
    if let Some((id, _)) = caller.node()
        && !node.allocs_on_node(id, updates.iter().map(|u| u.id.as_str()))
    {
        return Err(super::forbidden());
    }
    let index = node.client_alloc_update(updates).await?;
    Ok(indexed_json(index, &index))
}

/// `PUT /v1/internal/client/services/:alloc_id`: the allocation's services now.
pub async fn services(
    State(node): RpcCtx,
    Extension(caller): Extension<Caller>,
    Path(alloc_id): Path<String>,
    JsonBody(services): JsonBody<Vec<ServiceRegistration>>,
) -> ApiResult {
    if let Some((id, _)) = caller.node()
        && !node.allocs_on_node(id, std::iter::once(alloc_id.as_str()))
    {
        return Err(super::forbidden());
    }
    let index = node.client_services(alloc_id, services).await?;
    Ok(indexed_json(index, &index))
}

/// `GET /v1/internal/client/node/:node_id/allocs`: per allocation of the node, its
/// `AllocModifyIndex` and client status; blocks (`?index=`) until the node's own allocations
/// change, so a write elsewhere wakes no other client.
pub async fn node_allocs(
    State(node): RpcCtx,
    Extension(caller): Extension<Caller>,
    Path(node_id): Path<String>,
    Query(q): Query<QueryParams>,
) -> ApiResult {
    same_node(&caller, &node_id)?;
    let found = node.client_allocs(&q.read_options()?, &node_id).await?;
    Ok(indexed_json(found.index, &found.value))
}

/// `POST /v1/internal/client/allocs/get` with a JSON list of allocation IDs: those
/// allocations with their jobs (a node gets its own only; unknown IDs are left out).
pub async fn allocs_get(
    State(node): RpcCtx,
    Extension(caller): Extension<Caller>,
    JsonBody(ids): JsonBody<Vec<String>>,
) -> ApiResult {
    if ids.len() > MAX_ALLOCS_GET {
        return Err(ApiError::bad_request(format!(
            "{} allocation IDs asked for at once; at most {MAX_ALLOCS_GET}: ask in parts",
            ids.len()
        )));
    }
    let found = node.allocs_for_client(caller.node().map(|(id, _)| id), &ids);
    Ok(indexed_json(found.index, &found.value))
}
