//! `/v1/deployments` and `/v1/deployment/...`: list, read, allocations, and the operator's
//! actions (fail, pause or resume, promote canaries). Actions go through Raft as one
//! [`DeploymentAction`]; those that need the scheduler carry an evaluation of the job.

use axum::extract::{Path, Query};
use serde::Deserialize;
use serde_json::json;

use super::Ctx;
use super::allocations::stub;
use super::body::{JsonBody, JsonOrEmpty};
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json};
use super::read::{blocking, in_namespace};
use crate::api::{Deployment, DeploymentStatus, triggered_by};
use crate::cluster::fsm::{Command, DeploymentAction, Outcome};
use crate::cluster::server::evals::new_eval;

/// `GET /v1/deployments?prefix=&namespace=`.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    let prefix = q.prefix().to_owned();
    blocking(&ctx, &q, "deployments", "", |s| {
        let mut out: Vec<&Deployment> = s
            .deployments
            .values()
            .filter(|d| d.id.starts_with(&prefix) && in_namespace(&q, &d.namespace))
            .collect();
        out.sort_by_key(|d| std::cmp::Reverse(d.create_index));
        Some(out.into_iter().cloned().collect::<Vec<_>>())
    })
    .await
}

/// `GET /v1/deployment/:id`.
pub async fn read(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    blocking(&ctx, &q, "deployments", "deployment not found", |s| {
        s.deployments.get(&id).cloned()
    })
    .await
}

/// `GET /v1/deployment/allocations/:id`.
pub async fn allocations(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    blocking(&ctx, &q, "allocs", "deployment not found", |s| {
        s.deployments.get(&id)?;
        Some(
            s.allocs
                .values()
                .filter(|a| a.deployment_id == id)
                .map(|a| stub(s, a))
                .collect::<Vec<_>>(),
        )
    })
    .await
}

/// Body of `POST /v1/deployment/pause/:id`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PauseRequest {
    /// Pause (true) or resume (false).
    #[serde(default)]
    pub pause: bool,
}

/// Body of `POST /v1/deployment/promote/:id`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PromoteRequest {
    /// Promote every group.
    #[serde(default)]
    pub all: bool,
    /// Groups to promote.
    #[serde(default)]
    pub groups: Option<Vec<String>>,
}

/// `POST /v1/deployment/fail/:id`.
pub async fn fail(ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    act(
        &ctx,
        &id,
        DeploymentStatus::Failed,
        "Deployment marked as failed",
        Vec::new(),
        true,
    )
    .await
}

/// `POST /v1/deployment/pause/:id`.
pub async fn pause(ctx: Ctx, Path(id): Path<String>, JsonBody(req): JsonBody<PauseRequest>) -> ApiResult {
    if req.pause {
        act(
            &ctx,
            &id,
            DeploymentStatus::Paused,
            "Deployment is paused",
            Vec::new(),
            false,
        )
        .await
    } else {
        act(
            &ctx,
            &id,
            DeploymentStatus::Running,
            "Deployment is running",
            Vec::new(),
            true,
        )
        .await
    }
}

/// `POST /v1/deployment/promote/:id`: promote the canaries of all or some groups.
pub async fn promote(
    ctx: Ctx,
    Path(id): Path<String>,
    JsonOrEmpty(req): JsonOrEmpty<PromoteRequest>,
) -> ApiResult {
    ctx.node.read_barrier().await?;
    let groups: Vec<String> = {
        let state = ctx.node.state().read();
        let d = state
            .deployments
            .get(&id)
            .ok_or_else(|| ApiError::not_found(format!("deployment not found: {id}")))?;
        let with_canaries: Vec<String> = d
            .task_groups
            .iter()
            .filter(|(_, g)| g.desired_canaries > 0)
            .map(|(name, _)| name.clone())
            .collect();
        if req.all {
            with_canaries
        } else {
            let wanted = req.groups.unwrap_or_default();
            if let Some(unknown) = wanted.iter().find(|g| !d.task_groups.contains_key(*g)) {
                return Err(ApiError::bad_request(format!(
                    "deployment does not include task group {unknown:?}"
                )));
            }
            wanted
        }
    };
    if groups.is_empty() {
        return Err(ApiError::bad_request("no canaries to promote"));
    }
    act(
        &ctx,
        &id,
        DeploymentStatus::Running,
        "Deployment is running",
        groups,
        true,
    )
    .await
}

/// `POST /v1/deployment/unblock/:id`: only multiregion deployments block; none do here.
pub async fn unblock(ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    ctx.node.read_barrier().await?;
    let state = ctx.node.state().read();
    let d = state
        .deployments
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("deployment not found: {id}")))?;
    Err(ApiError::bad_request(format!(
        "deployment is not blocked (status {})",
        d.status.as_str()
    )))
}

async fn act(
    ctx: &Ctx,
    id: &str,
    status: DeploymentStatus,
    description: &str,
    promote: Vec<String>,
    with_eval: bool,
) -> ApiResult {
    ctx.node.read_barrier().await?;
    let eval = {
        let state = ctx.node.state().read();
        let d = state
            .deployments
            .get(id)
            .ok_or_else(|| ApiError::not_found(format!("deployment not found: {id}")))?;
        let job = state.job(&d.namespace, &d.job_id).map(|r| r.current());
        match job {
            Some(job) if with_eval => {
                let mut e = new_eval(job, triggered_by::DEPLOYMENT_WATCHER, 0);
                e.deployment_id = id.to_owned();
                Some(e)
            }
            _ => None,
        }
    };
    let cmd = Command::DeploymentAction(Box::new(DeploymentAction {
        deployment_id: id.to_owned(),
        status,
        description: description.to_owned(),
        promote,
        eval,
    }));
    let resp = ctx.node.write(cmd).await?;
    match resp.outcome {
        Outcome::JobWritten {
            eval_id,
            eval_create_index,
            ..
        } => Ok(indexed_json(
            resp.index,
            &json!({
                "EvalID": eval_id,
                "EvalCreateIndex": eval_create_index,
                "DeploymentModifyIndex": resp.index,
                "RevertedJobVersion": null,
                "Index": resp.index,
            }),
        )),
        Outcome::Refused { message } => Err(ApiError::bad_request(message)),
        Outcome::NotFound { message } => Err(ApiError::not_found(message)),
        other => Err(ApiError::internal(format!("unexpected outcome {other:?}"))),
    }
}
