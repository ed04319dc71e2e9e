//! Internal routes clients call on servers: heartbeat, allocation status and health reports,
//! and service registrations. Node registration is `nodes::register`. Every write goes
//! through Raft; allocations themselves come only from the scheduler.

use axum::extract::Path;
use serde::{Deserialize, Serialize};

use super::Ctx;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::query::indexed_json;
use crate::api::namespace_or_default;
use crate::api::{ClientStatus, DesiredStatus, ServiceRegistration, triggered_by};
use crate::cluster::fsm::{AllocClientUpdate, Command, Evaluation, State};
use crate::cluster::server::Beat;
use crate::cluster::server::evals::new_eval;
use crate::cluster::server::heartbeat::HEARTBEAT_PATH;

/// Heartbeat path (`/{node_id}` follows).
pub const HEARTBEAT: &str = "/v1/internal/client/heartbeat/{node_id}";
/// Allocation status path.
pub const ALLOC_UPDATE: &str = "/v1/internal/client/allocs";
/// Service registration path (`/{alloc_id}` follows).
pub const SERVICES: &str = "/v1/internal/client/services/{alloc_id}";

/// What registration and heartbeats answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HeartbeatResponse {
    /// Beat again within this long (nanoseconds, as Nomad's `HeartbeatTTL`).
    #[serde(rename = "HeartbeatTTL")]
    pub heartbeat_ttl: u64,
    /// Raft index of the write, if one happened.
    pub index: u64,
}

/// `PUT /v1/internal/client/heartbeat/:node_id`.
pub async fn heartbeat(ctx: Ctx, Path(node_id): Path<String>) -> ApiResult {
    debug_assert!(HEARTBEAT.starts_with(HEARTBEAT_PATH));
    match ctx.node.heartbeat(&node_id).await? {
        Beat::Ok => Ok(indexed_json(
            ctx.node.state().index(),
            &HeartbeatResponse {
                heartbeat_ttl: ctx.node.heartbeat_ttl().as_nanos() as u64,
                index: 0,
            },
        )),
        Beat::UnknownNode => Err(ApiError::not_found(format!("node {node_id} not registered"))),
    }
}

/// `POST /v1/internal/client/allocs`: allocation status, task states and health. An
/// allocation that fails while it should run gets an `alloc-failure` evaluation, so the
/// scheduler reschedules it under its policy.
pub async fn alloc_update(ctx: Ctx, JsonBody(updates): JsonBody<Vec<AllocClientUpdate>>) -> ApiResult {
    let evals = failure_evals(&ctx.node.state().read(), &updates);
    let resp = ctx
        .node
        .write(Command::AllocClientUpdate { updates, evals })
        .await?;
    Ok(indexed_json(resp.index, &resp.index))
}

/// One `alloc-failure` evaluation per job with an allocation newly reported failed.
fn failure_evals(state: &State, updates: &[AllocClientUpdate]) -> Vec<Evaluation> {
    let mut jobs: Vec<(String, String)> = updates
        .iter()
        .filter(|u| u.client_status == ClientStatus::Failed)
        .filter_map(|u| state.allocs.get(&u.id))
        .filter(|a| a.desired_status == DesiredStatus::Run && !a.client_status.is_terminal())
        .map(|a| (a.namespace.clone(), a.job_id.clone()))
        .collect();
    jobs.sort();
    jobs.dedup();
    jobs.into_iter()
        .filter_map(|(namespace, job_id)| {
            let ns = namespace_or_default(&namespace);
            let job = state.job(ns, &job_id)?.current();
            Some(new_eval(job, triggered_by::ALLOC_FAILURE, 0))
        })
        .collect()
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
