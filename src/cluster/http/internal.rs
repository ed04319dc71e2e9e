//! Internal cluster routes: server info for bootstrap, and the leader side of write
//! forwarding, read index and membership changes. A non-leader answers 421 so the caller
//! looks for the leader again.

use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::body::JsonBody;
use super::query::indexed_json;
use super::{Ctx, error::ApiResult};
use crate::cluster::fsm::Command;
use crate::cluster::server::{LocalChange, LocalReadIndex, LocalWrite, MemberRequest};

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

fn not_leader() -> axum::response::Response {
    (StatusCode::MISDIRECTED_REQUEST, "not the leader").into_response()
}

/// This server's ID, address, whether it is initialised, and the leader it knows.
pub async fn info(ctx: Ctx) -> ApiResult {
    Ok(indexed_json(
        ctx.node.state().index(),
        &ctx.node.info().await,
    ))
}

/// Applies a forwarded write if this server is the leader.
pub async fn write(ctx: Ctx, JsonBody(cmd): JsonBody<Command>) -> ApiResult {
    match ctx.node.write_local(cmd).await? {
        LocalWrite::Applied(resp) => Ok(indexed_json(resp.index, &resp)),
        LocalWrite::NotLeader(_) => Ok(not_leader()),
    }
}

/// The leader's read index.
pub async fn read_index(ctx: Ctx) -> ApiResult {
    match ctx.node.read_index_local().await? {
        LocalReadIndex::Index(i) => Ok(indexed_json(i, &i)),
        LocalReadIndex::NotLeader(_) => Ok(not_leader()),
    }
}

/// Adds a server (through the leader).
pub async fn join(ctx: Ctx, JsonBody(req): JsonBody<MemberRequest>) -> ApiResult {
    if req.addr.is_empty() {
        return Err(super::error::ApiError::bad_request("missing addr"));
    }
    ctx.node.add_server(req.id, &req.addr).await?;
    Ok(StatusCode::OK.into_response())
}

/// Removes a server (through the leader).
pub async fn leave(ctx: Ctx, JsonBody(req): JsonBody<MemberRequest>) -> ApiResult {
    match ctx.node.remove_server_local(req.id).await? {
        LocalChange::Done => Ok(StatusCode::OK.into_response()),
        LocalChange::NotLeader(_) => {
            ctx.node.remove_server(req.id).await?;
            Ok(StatusCode::OK.into_response())
        }
    }
}
