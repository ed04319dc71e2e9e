//! `/v1/nodes`, `/v1/node/:id`, `/v1/node/:id/eligibility`, and the node registration route
//! clients (and tests) commit nodes through: `PUT /v1/internal/node/register`.

use axum::extract::{Path, Query};
use serde::Deserialize;
use serde_json::json;

use super::Ctx;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json};
use super::read::blocking;
use crate::api::{Node, NodeListStub, SchedulingEligibility};
use crate::cluster::fsm::{Command, Outcome};

/// The node registration path.
pub const REGISTER: &str = "/v1/internal/node/register";

/// `GET /v1/nodes?prefix=`: node stubs.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    let prefix = q.prefix().to_owned();
    blocking(&ctx, &q, "nodes", "", |s| {
        Some(
            s.nodes
                .values()
                .filter(|n| n.id.starts_with(&prefix))
                .map(Node::stub)
                .collect::<Vec<NodeListStub>>(),
        )
    })
    .await
}

/// `GET /v1/node/:id`: the node, without its secret.
pub async fn read(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    blocking(&ctx, &q, "nodes", "node not found", |s| {
        let mut n = s.nodes.get(&id)?.clone();
        n.secret_id.clear();
        Some(n)
    })
    .await
}

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
pub async fn register(ctx: Ctx, JsonBody(req): JsonBody<RegisterRequest>) -> ApiResult {
    if req.node.id.is_empty() {
        return Err(ApiError::bad_request("missing node ID for node registration"));
    }
    if req.node.datacenter.is_empty() {
        return Err(ApiError::bad_request("missing datacenter for node registration"));
    }
    let resp = ctx
        .node
        .write(Command::NodeUpsert {
            node: Box::new(req.node),
        })
        .await?;
    let ttl = ctx.node.heartbeat_ttl().as_nanos() as u64;
    Ok(indexed_json(
        resp.index,
        &json!({"NodeModifyIndex": resp.index, "EvalIDs": [], "EvalCreateIndex": 0, "Index": resp.index,
                "HeartbeatTTL": ttl}),
    ))
}

/// Body of `POST /v1/node/:id/eligibility`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EligibilityRequest {
    /// `eligible` or `ineligible`.
    pub eligibility: String,
    /// The node (may repeat the path's).
    #[serde(default, rename = "NodeID")]
    pub node_id: String,
}

/// `POST /v1/node/:id/eligibility`.
pub async fn eligibility(
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<EligibilityRequest>,
) -> ApiResult {
    let eligibility = match req.eligibility.as_str() {
        "eligible" => SchedulingEligibility::Eligible,
        "ineligible" => SchedulingEligibility::Ineligible,
        other => {
            return Err(ApiError::bad_request(format!(
                "invalid scheduling eligibility {other:?}"
            )));
        }
    };
    if !req.node_id.is_empty() && req.node_id != id {
        return Err(ApiError::bad_request("node ID does not match the path"));
    }
    let resp = ctx
        .node
        .write(Command::NodeEligibility {
            node_id: id,
            eligibility,
        })
        .await?;
    if let Outcome::NotFound { message } = resp.outcome {
        return Err(ApiError::not_found(message));
    }
    Ok(indexed_json(
        resp.index,
        &json!({"NodeModifyIndex": resp.index, "EvalIDs": [], "EvalCreateIndex": 0, "Index": resp.index}),
    ))
}
