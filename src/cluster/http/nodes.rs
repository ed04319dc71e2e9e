//! `/v1/nodes`, `/v1/node/:id`, `/v1/node/:id/eligibility`, `/v1/node/:id/evaluate` and
//! `/v1/node/:id/purge`. (Clients register through the RPC routes, `rpc::clients`.)

use axum::extract::{Path, Query};
use serde::Deserialize;
use serde_json::{Value, json};

use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json, query_bool};
use super::read::answer;
use super::{ApiContext, Ctx};
use crate::api::StubFields;
use crate::cluster::server::endpoints::NodeEvalsDone;

/// The optional fields of `GET /v1/nodes`.
#[derive(Debug, Default, Deserialize)]
pub struct StubQuery {
    /// Add `NodeResources` and `ReservedResources`.
    resources: Option<String>,
    /// Add the `os.name` and `os.version` attributes.
    os: Option<String>,
}

/// `GET /v1/nodes?prefix=&resources=&os=`: node stubs.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>, Query(f): Query<StubQuery>) -> ApiResult {
    let fields = StubFields {
        resources: query_bool("resources", f.resources.as_deref())?,
        os: query_bool("os", f.os.as_deref())?,
    };
    Ok(answer(
        ctx.node
            .node_stubs(&q.read_options()?, q.prefix(), fields)
            .await?,
    ))
}

/// Nomad's `NodeUpdateResponse` for a node evaluation or purge. An evaluation also tells the
/// node about the servers (leader, voters, how many nodes), as Nomad's `Node.Evaluate` does; a
/// purge leaves them empty, as `Node.Deregister` does.
fn node_update(ctx: &ApiContext, done: NodeEvalsDone, with_servers: bool) -> ApiResult {
    let (leader, servers, nodes) = if with_servers {
        let dc = ctx.agent_self["config"]["Datacenter"].as_str().unwrap_or("dc1");
        let servers: Vec<Value> = (ctx.node.peers().into_iter())
            .map(|a| json!({"Datacenter": dc, "RPCAdvertiseAddr": a, "RPCMajorVersion": 1, "RPCMinorVersion": 1}))
            .collect();
        let nodes = ctx.node.state().read().nodes.len();
        (
            ctx.node.leader_addr().unwrap_or_default(),
            Value::from(servers),
            nodes,
        )
    } else {
        (String::new(), Value::Null, 0)
    };
    Ok(indexed_json(
        done.index,
        &json!({
            "EvalIDs": done.eval_ids,
            "EvalCreateIndex": done.eval_create_index,
            "NodeModifyIndex": done.node_modify_index,
            "HeartbeatTTL": 0,
            "LeaderRPCAddr": leader,
            "NumNodes": nodes,
            "Servers": servers,
            "Index": done.index,
            "KnownLeader": ctx.node.leader_addr().is_some(),
            "LastContact": 0,
        }),
    ))
}

/// `POST /v1/node/:id/evaluate`: a new evaluation of every job on the node.
pub async fn evaluate(ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let done = ctx.node.evaluate_node(&id).await?;
    node_update(&ctx, done, true)
}

/// `POST /v1/node/:id/purge`: remove the node; its allocations are lost and replaced.
pub async fn purge(ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let done = ctx.node.purge_node(&id).await?;
    node_update(&ctx, done, false)
}

/// `GET /v1/node/:id`: the node, without its secret.
pub async fn read(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    Ok(answer(ctx.node.client_node(&q.read_options()?, &id).await?))
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
    let eligible = match req.eligibility.as_str() {
        "eligible" => true,
        "ineligible" => false,
        other => {
            return Err(ApiError::bad_request(format!(
                "invalid scheduling eligibility {other:?}"
            )));
        }
    };
    if !req.node_id.is_empty() && req.node_id != id {
        return Err(ApiError::bad_request("node ID does not match the path"));
    }
    let index = ctx.node.set_node_eligibility(id, eligible).await?;
    Ok(indexed_json(
        index,
        &json!({"NodeModifyIndex": index, "EvalIDs": [], "EvalCreateIndex": 0, "Index": index}),
    ))
}
