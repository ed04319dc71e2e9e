//! Internal routes clients call on servers: register a node, heartbeat, report allocation
//! status and health, replace service registrations; and the placement route through which
//! allocations are committed for a node (used by tests and, later, the scheduler's plan
//! applier). Every write goes through Raft.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::Ctx;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::query::indexed_json;
use crate::cluster::fsm::{AllocClientUpdate, Allocation, Command, Deployment, Node, ServiceRegistration};
use crate::cluster::server::Beat;

/// Node registration path.
pub const REGISTER: &str = "/v1/internal/client/register";
/// Heartbeat path (`/{node_id}` follows).
pub const HEARTBEAT: &str = "/v1/internal/client/heartbeat/{node_id}";
/// Allocation status path.
pub const ALLOC_UPDATE: &str = "/v1/internal/client/allocs";
/// Service registration path (`/{alloc_id}` follows).
pub const SERVICES: &str = "/v1/internal/client/services/{alloc_id}";
/// Placement path.
pub const PLACE: &str = "/v1/internal/alloc/place";

/// What registration and heartbeats answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HeartbeatResponse {
    /// Beat again within this many milliseconds.
    #[serde(rename = "HeartbeatTTLMillis")]
    pub heartbeat_ttl_millis: u64,
    /// Raft index of the write, if one happened.
    pub index: u64,
}

/// Body of the placement route.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PlaceRequest {
    /// Allocations to create or replace (with `Job` in their extra fields).
    pub allocs: Vec<Allocation>,
    /// Deployments to create or replace with them.
    pub deployments: Vec<Deployment>,
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `PUT /v1/internal/client/register`: registers (or re-registers) a node as ready.
pub async fn register(ctx: Ctx, JsonBody(mut node): JsonBody<Node>) -> ApiResult {
    if node.id.is_empty() || node.name.is_empty() {
        return Err(ApiError::bad_request("node ID and Name are required"));
    }
    node.status = "ready".into();
    node.status_updated_at = now_secs();
    if node.scheduling_eligibility.is_empty() {
        node.scheduling_eligibility = "eligible".into();
    }
    let id = node.id.clone();
    let resp = ctx.node.write(Command::NodeUpsert { node }).await?;
    ctx.node.note_registered(&id);
    // Registration must reach the leader's tracker too when this server is a follower.
    let _ = ctx.node.heartbeat(&id).await;
    let ttl = ctx.node.heartbeat_ttl().as_millis() as u64;
    Ok(indexed_json(
        resp.index,
        &HeartbeatResponse {
            heartbeat_ttl_millis: ttl,
            index: resp.index,
        },
    ))
}

/// `PUT /v1/internal/client/heartbeat/:node_id`.
pub async fn heartbeat(ctx: Ctx, Path(node_id): Path<String>) -> ApiResult {
    match ctx.node.heartbeat(&node_id).await? {
        Beat::Ok => {
            let ttl = ctx.node.heartbeat_ttl().as_millis() as u64;
            Ok(indexed_json(
                ctx.node.state().index(),
                &HeartbeatResponse {
                    heartbeat_ttl_millis: ttl,
                    index: 0,
                },
            ))
        }
        Beat::UnknownNode => Err(ApiError::not_found(format!("node {node_id} not registered"))),
    }
}

/// `POST /v1/internal/client/allocs`: allocation status, task states and health.
pub async fn alloc_update(ctx: Ctx, JsonBody(updates): JsonBody<Vec<AllocClientUpdate>>) -> ApiResult {
    let resp = ctx.node.write(Command::AllocClientUpdate { updates }).await?;
    Ok(indexed_json(resp.index, &resp.index))
}

/// `PUT /v1/internal/client/services/:alloc_id`: the allocation's services now.
pub async fn services(
    ctx: Ctx,
    Path(alloc_id): Path<String>,
    JsonBody(services): JsonBody<Vec<ServiceRegistration>>,
) -> ApiResult {
    let resp = ctx
        .node
        .write(Command::ServiceRegister { alloc_id, services })
        .await?;
    Ok(indexed_json(resp.index, &resp.index))
}

/// `POST /v1/internal/alloc/place`: commits allocations (and deployments) for nodes.
pub async fn place(ctx: Ctx, JsonBody(req): JsonBody<PlaceRequest>) -> ApiResult {
    if req.allocs.iter().any(|a| a.id.is_empty() || a.node_id.is_empty()) {
        return Err(ApiError::bad_request("every allocation needs an ID and a NodeID"));
    }
    if !req.deployments.is_empty() {
        ctx.node
            .write(Command::DeploymentUpsert {
                deployments: req.deployments,
            })
            .await?;
    }
    let resp = ctx
        .node
        .write(Command::AllocUpsert { allocs: req.allocs })
        .await?;
    let mut r = indexed_json(resp.index, &resp.index);
    *r.status_mut() = StatusCode::OK;
    Ok(r.into_response())
}

/// KV read path for `key` templates.
pub const KV: &str = "/v1/internal/kv/{*key}";

/// `GET /v1/internal/kv/*key`: one key of the cluster KV (404 when absent).
pub async fn kv(ctx: Ctx, Path(key): Path<String>) -> ApiResult {
    ctx.node.read_barrier().await?;
    let state = ctx.node.state().read();
    let entry = state
        .kv_get(&key)
        .ok_or_else(|| ApiError::not_found(format!("key {key} not found")))?;
    Ok(indexed_json(entry.modify_index, entry))
}
