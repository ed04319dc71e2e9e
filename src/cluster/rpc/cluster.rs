//! Server-to-server calls: server info for bootstrap, and the leader side of write
//! forwarding, read index and membership changes. A non-leader answers 421 so the caller
//! looks for the leader again.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::RpcCtx;
use crate::cluster::http::body::JsonBody;
use crate::cluster::http::error::ApiResult;
use crate::cluster::http::query::indexed_json;
use crate::cluster::server::MemberRequest;
use crate::cluster::server::endpoints::{Command, ForwardedRead, ForwardedWrite};

/// Server info path.
pub const INFO: &str = "/v1/internal/cluster/info";
/// Forwarded write path.
pub const WRITE: &str = "/v1/internal/cluster/write";
/// Read index path.
pub const READ_INDEX: &str = "/v1/internal/cluster/read-index";
/// Join path.
pub const JOIN: &str = "/v1/internal/cluster/join";
/// Leave path.
pub const LEAVE: &str = "/v1/internal/cluster/leave";

fn not_leader() -> Response {
    (StatusCode::MISDIRECTED_REQUEST, "not the leader").into_response()
}

/// This server's ID, address, whether it is initialised, and the leader it knows.
pub async fn info(State(node): RpcCtx) -> ApiResult {
    Ok(indexed_json(node.state().index(), &node.info().await))
}

/// Applies a forwarded write if this server is the leader.
pub async fn write(State(node): RpcCtx, JsonBody(cmd): JsonBody<Command>) -> ApiResult {
    match node.apply_forwarded(cmd).await? {
        ForwardedWrite::Applied(resp) => Ok(indexed_json(resp.index, &resp)),
        ForwardedWrite::NotLeader => Ok(not_leader()),
    }
}

/// The leader's read index.
pub async fn read_index(State(node): RpcCtx) -> ApiResult {
    match node.forwarded_read_index().await? {
        ForwardedRead::Index(i) => Ok(indexed_json(i, &i)),
        ForwardedRead::NotLeader => Ok(not_leader()),
    }
}

/// Adds a server (through the leader).
pub async fn join(State(node): RpcCtx, JsonBody(req): JsonBody<MemberRequest>) -> ApiResult {
    node.join_server(req.id, &req.addr).await?;
    Ok(StatusCode::OK.into_response())
}

/// Removes a server (through the leader).
pub async fn leave(State(node): RpcCtx, JsonBody(req): JsonBody<MemberRequest>) -> ApiResult {
    node.leave_server(req.id).await?;
    Ok(StatusCode::OK.into_response())
}
