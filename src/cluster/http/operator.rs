//! `/v1/operator/raft/*`: the Raft configuration, and adding or removing servers.
//!
//! `PUT|POST /v1/operator/raft/peer?address=host:port` adds a server (an extension: Nomad adds
//! servers by joining); `DELETE /v1/operator/raft/peer?address=...|id=...` removes one.

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::query::indexed_json;
use super::{Ctx, error::ApiResult};

/// Peer selection.
#[derive(Debug, Deserialize)]
pub struct PeerParams {
    address: Option<String>,
    id: Option<String>,
}

/// The servers in the Raft configuration.
pub async fn configuration(ctx: Ctx) -> ApiResult {
    let node = &ctx.node;
    let leader = node.leader_addr();
    let servers: Vec<_> = node
        .voters()
        .into_iter()
        .map(|(id, addr)| {
            json!({
                "ID": id.to_string(),
                "Node": addr,
                "Address": addr,
                "Leader": leader.as_deref() == Some(addr.as_str()),
                "Voter": true,
                "RaftProtocol": "3",
            })
        })
        .collect();
    let index = node.state().index();
    Ok(indexed_json(
        index,
        &json!({ "Index": index, "Servers": servers }),
    ))
}

/// Adds the server at `?address=`.
pub async fn add_peer(ctx: Ctx, Query(p): Query<PeerParams>) -> ApiResult {
    let addr = p
        .address
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ApiError::bad_request("Must specify ?address"))?;
    let id = ctx.node.peer_id(&addr).await?;
    ctx.node.add_server(id, &addr).await?;
    Ok(StatusCode::OK.into_response())
}

/// Removes the server given by `?id=` or `?address=`.
pub async fn remove_peer(ctx: Ctx, Query(p): Query<PeerParams>) -> ApiResult {
    let id = match (p.id, p.address) {
        (Some(id), _) => id
            .parse()
            .map_err(|_| ApiError::bad_request(format!("Invalid id {id:?}")))?,
        (None, Some(addr)) => ctx
            .node
            .voters()
            .into_iter()
            .find(|(_, a)| *a == addr)
            .map(|(id, _)| id)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "address {addr:?} was not found in the Raft configuration"
                ))
            })?,
        (None, None) => {
            return Err(ApiError::bad_request(
                "Must specify either ?id with the server's ID or ?address",
            ));
        }
    };
    ctx.node.remove_server(id).await?;
    Ok(StatusCode::OK.into_response())
}
